#!/usr/bin/env python3
"""Writes a nerfstudio scene (transforms.json, OpenGL camera axes) as a COLMAP text model, apart from uniclift's
readers: the same views seen through the COLMAP layout must give the same cameras and so the same training.

    python3 to_colmap.py SCENE_DIR OUT_DIR

OUT_DIR/sparse/0/{cameras,images,points3D}.txt (PINHOLE, one camera; world-to-camera quaternions QW QX QY QZ and
translations in OpenCV axes, as COLMAP stores them), copies of the scene's images/, masks/ and gt_instance/ (copies:
a silo refuses a link that leads out of its scene roots), and splits.json from transforms.json's train_filenames /
test_filenames. Only numpy.
"""
import json
import os
import shutil
import sys

import numpy as np


def rotation_to_quaternion(r):
    """(w, x, y, z) of a rotation matrix, w >= 0 (Shepperd's method: the largest of the four first)."""
    t = np.trace(r)
    if t > 0:
        s = np.sqrt(t + 1.0) * 2
        q = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
        q = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
    elif r[1, 1] > r[2, 2]:
        s = np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
        q = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
        q = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    return q if q[0] >= 0 else -q


def read_ascii_ply(path):
    with open(path) as f:
        props, count = [], 0
        for line in f:
            words = line.split()
            if words[:2] == ["element", "vertex"]:
                count = int(words[2])
            elif words[:1] == ["property"]:
                props.append(words[-1])
            elif words[:1] == ["end_header"]:
                break
        rows = [next(f).split() for _ in range(count)]
    data = np.array(rows, dtype=float)
    return data[:, [props.index(k) for k in ("x", "y", "z")]], data[:, [props.index(k) for k in ("red", "green", "blue")]].astype(int)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    scene, out = (os.path.abspath(a) for a in sys.argv[1:3])
    with open(os.path.join(scene, "transforms.json")) as f:
        meta = json.load(f)
    model = os.path.join(out, "sparse", "0")
    os.makedirs(model, exist_ok=True)
    w, h = int(meta["w"]), int(meta["h"])
    with open(os.path.join(model, "cameras.txt"), "w") as f:
        f.write("# CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]\n")
        f.write(f"1 PINHOLE {w} {h} {meta['fl_x']!r} {meta.get('fl_y', meta['fl_x'])!r} {meta['cx']!r} {meta['cy']!r}\n")
    gl_to_cv = np.diag([1.0, -1.0, -1.0, 1.0])  # camera axes: OpenGL (y up, looking along -z) to OpenCV
    with open(os.path.join(model, "images.txt"), "w") as f:
        f.write("# IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME\n# POINTS2D[] as (X, Y, POINT3D_ID)\n")
        for i, frame in enumerate(meta["frames"], start=1):
            c2w = np.array(frame["transform_matrix"], dtype=float) @ gl_to_cv
            w2c = np.linalg.inv(c2w)
            q, t = rotation_to_quaternion(w2c[:3, :3]), w2c[:3, 3]
            name = os.path.basename(frame["file_path"])
            f.write(f"{i} {' '.join(repr(float(v)) for v in q)} {' '.join(repr(float(v)) for v in t)} 1 {name}\n\n")
    xyz, rgb = read_ascii_ply(os.path.join(scene, meta.get("ply_file_path", "points3D.ply")))
    with open(os.path.join(model, "points3D.txt"), "w") as f:
        f.write("# POINT3D_ID X Y Z R G B ERROR TRACK[]\n")
        for i, (p, c) in enumerate(zip(xyz, rgb), start=1):
            f.write(f"{i} {p[0]!r} {p[1]!r} {p[2]!r} {c[0]} {c[1]} {c[2]} 0\n")
    for folder in ("images", "masks", "gt_instance"):
        if os.path.isdir(os.path.join(scene, folder)):
            shutil.copytree(os.path.join(scene, folder), os.path.join(out, folder), dirs_exist_ok=True)
    stem = lambda p: os.path.splitext(os.path.basename(p))[0]
    with open(os.path.join(out, "splits.json"), "w") as f:
        json.dump({"train": [stem(p) for p in meta["train_filenames"]], "test": [stem(p) for p in meta["test_filenames"]]}, f)
    print(f"wrote {out}: COLMAP text model of {len(meta['frames'])} views {w}x{h}, {len(xyz)} points")


if __name__ == "__main__":
    main()
