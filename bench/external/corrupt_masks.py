#!/usr/bin/python3
"""Per-view instance masks made inconsistent the way a 2D segmenter's are, from a scene's exact ground truth.

    /usr/bin/python3 bench/external/corrupt_masks.py SCENE [--seed S] [--gt gt_instance] [--out masks]

Reads SCENE/gt_instance/*.npy (0: background, 1..N: objects) and writes SCENE/masks/<stem>.png (16-bit grey, 0:
background), written independently of UniCLift's own corruption (src/Compute/Synthetic): every view draws its own
ids (so ids never agree across views), and each object in a view may be missed (small ones more often), cut in two
along a random line, merged with an object it touches, or grown or shrunk by a pixel at its edge; a view may also get a
spurious segment on the background. SCENE/masks.json says what was done to each view.
"""
import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np


def write_png16(path, a):
    """A 16-bit greyscale PNG, written atomically."""
    write_png_grey(path, a, 16)


def write_png_grey(path, a, bits):
    """An 8- or 16-bit greyscale PNG, written atomically."""
    h, w = a.shape
    raw = b"".join(b"\x00" + a[y].astype(">u2" if bits == 16 else np.uint8).tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(png)
    os.replace(tmp, path)


def shift_or(mask, r):
    """Binary dilation by a (2r+1) square, with numpy shifts."""
    out = mask.copy()
    h, w = mask.shape
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            src = mask[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
            out[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)] |= src
    return out


def corrupt(gt, rng, p):
    h, w = gt.shape
    n = h * w
    out = np.zeros_like(gt, dtype=np.int64)
    log = {"missed": [], "split": [], "merged": [], "grown": [], "shrunk": [], "spurious": 0}
    objects = [int(i) for i in np.unique(gt) if i != 0]
    label = {}  # object -> output label (before the per-view ids are drawn)
    next_label = 1
    for o in objects:
        area = (gt == o).sum() / n
        if rng.random() < (p.miss_small if area < p.small else p.miss):
            log["missed"].append(o)
            continue
        label[o] = next_label
        next_label += 1
    # Merges: an object takes the label of one it touches (2 px apart or less).
    for o in list(label):
        if rng.random() >= p.merge:
            continue
        near = shift_or(gt == o, 2)
        touching = [t for t in label if t != o and (near & (gt == t)).any()]
        if touching:
            t = touching[rng.integers(len(touching))]
            label[o] = label[t]
            log["merged"].append([o, t])
    for o, l in label.items():
        m = gt == o
        r = rng.random()
        if r < p.grow:
            m = shift_or(m, 1) & (gt == 0) | m
            log["grown"].append(o)
        elif r < p.grow + p.shrink:
            inner = ~shift_or(~m, 1)
            if inner.sum() > 0.5 * m.sum():
                m = inner
                log["shrunk"].append(o)
        out[m & (out == 0)] = l
    # Splits: a segment cut in two along a line through its centre at a random angle.
    for l in sorted(set(label.values())):
        m = out == l
        if m.sum() < p.split_min * n or rng.random() >= p.split:
            continue
        ys, xs = np.nonzero(m)
        a = rng.uniform(0, np.pi)
        side = (xs - xs.mean()) * np.cos(a) + (ys - ys.mean()) * np.sin(a) > 0
        out[ys[side], xs[side]] = next_label
        log["split"].append(l)
        next_label += 1
    # A spurious segment: an ellipse on the background (a segmenter's false positive on a texture or a shadow).
    if rng.random() < p.spurious:
        cy, cx = rng.uniform(0.1, 0.9) * h, rng.uniform(0.1, 0.9) * w
        ry, rx = rng.uniform(0.03, 0.08) * h, rng.uniform(0.03, 0.1) * w
        yy, xx = np.mgrid[0:h, 0:w]
        blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        out[blob & (out == 0)] = next_label
        log["spurious"] = 1
        next_label += 1
    # Every view draws its own ids.
    ids = rng.choice(np.arange(1, 60000), size=next_label, replace=False)
    ids = np.concatenate([[0], ids])
    return ids[out].astype(np.uint16), log


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scene")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gt", default="gt_instance")
    ap.add_argument("--out", default="masks")
    ap.add_argument("--miss", type=float, default=0.06)
    ap.add_argument("--miss-small", type=float, default=0.5)
    ap.add_argument("--small", type=float, default=0.002, help="an object under this share of a view is small")
    ap.add_argument("--merge", type=float, default=0.08)
    ap.add_argument("--split", type=float, default=0.1)
    ap.add_argument("--split-min", type=float, default=0.01)
    ap.add_argument("--grow", type=float, default=0.25)
    ap.add_argument("--shrink", type=float, default=0.25)
    ap.add_argument("--spurious", type=float, default=0.15)
    p = ap.parse_args()
    gt_dir = os.path.join(p.scene, p.gt)
    if not os.path.isdir(gt_dir):
        sys.exit(f"{gt_dir}: no ground-truth folder")
    out_dir = os.path.join(p.scene, p.out)
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(p.seed)
    report = {}
    for name in sorted(os.listdir(gt_dir)):
        if not name.endswith(".npy"):
            continue
        gt = np.load(os.path.join(gt_dir, name))
        mask, log = corrupt(gt, rng, p)
        write_png16(os.path.join(out_dir, name[:-4] + ".png"), mask)
        report[name[:-4]] = log
    with open(os.path.join(p.scene, p.out + ".json"), "w") as f:
        json.dump(report, f, indent=1)
    total = {k: sum(len(v[k]) if isinstance(v[k], list) else v[k] for v in report.values()) for k in
             ("missed", "split", "merged", "grown", "shrunk", "spurious")}
    print(f"{out_dir}: {len(report)} views; " + ", ".join(f"{k} {v}" for k, v in total.items()))


if __name__ == "__main__":
    main()
