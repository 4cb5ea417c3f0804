#!/usr/bin/python3
"""A scene's images as a hand-held camera on automatic exposure and white balance takes them.

    /usr/bin/python3 bench/external/exposure.py SCENE OUT [--seed S] [--stops 0.5] [--wb 0.08]

Copies SCENE (any layout whose images are 8-bit PNG or JPEG files under images/) to OUT and rewrites OUT/images: each
view gets its own exposure, 2^e with e ~ N(0, stops) clipped to +-2 stops, and its own white balance, per-channel
gains exp(N(0, wb)) scaled to a geometric mean of 1, applied in linear light (sRGB decoded, scaled, encoded, clipped
at white, so a brighter view also loses its highlights). Written apart from UniCLift, with numpy and Pillow. Every
other file (masks, ground truth, cameras, point cloud) is copied unchanged; OUT/exposure.json records each view's
exposure (stops) and gains.
"""
import argparse
import json
import os
import shutil

import numpy as np
from PIL import Image


def to_linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def to_srgb(c):
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(np.maximum(c, 0.0031308), 1 / 2.4) - 0.055)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scene")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stops", type=float, default=0.5)
    ap.add_argument("--wb", type=float, default=0.08)
    a = ap.parse_args()
    src_images = os.path.join(a.scene, "images")
    if not os.path.isdir(src_images):
        raise SystemExit(f"{src_images}: no images/ folder")
    tmp = a.out.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(a.scene, tmp, ignore=lambda d, names: ["images"] if os.path.samefile(d, a.scene) else [])
    os.makedirs(os.path.join(tmp, "images"))
    rng = np.random.default_rng(a.seed)
    record = {}
    for name in sorted(os.listdir(src_images)):
        path = os.path.join(src_images, name)
        ext = os.path.splitext(name)[1].lower()
        if ext not in (".png", ".jpg", ".jpeg"):
            shutil.copy2(path, os.path.join(tmp, "images", name))
            continue
        stops = float(np.clip(rng.normal(0, a.stops), -2 * a.stops, 2 * a.stops))
        gains = np.exp(rng.normal(0, a.wb, 3))
        gains /= np.exp(np.log(gains).mean())
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255
        lin = to_linear(rgb) * (2 ** stops) * gains
        out = np.clip(np.round(to_srgb(np.clip(lin, 0, 1)) * 255), 0, 255).astype(np.uint8)
        img = Image.fromarray(out, "RGB")
        if ext == ".png":
            img.save(os.path.join(tmp, "images", name))
        else:
            img.save(os.path.join(tmp, "images", name), quality=95)
        record[os.path.splitext(name)[0]] = {"stops": round(stops, 4), "gains": [round(float(g), 4) for g in gains]}
    with open(os.path.join(tmp, "exposure.json"), "w") as f:
        json.dump({"seed": a.seed, "stops_sd": a.stops, "wb_sd": a.wb, "views": record}, f, indent=1)
    shutil.rmtree(a.out, ignore_errors=True)
    os.replace(tmp, a.out)
    s = np.array([v["stops"] for v in record.values()])
    print(f"{a.out}: {len(record)} views, exposure {s.min():+.2f}..{s.max():+.2f} stops (sd {s.std():.2f}), white balance sd {a.wb}")


if __name__ == "__main__":
    main()
