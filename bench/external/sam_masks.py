#!/usr/bin/python3
"""Per-view masks shaped like Segment Anything's automatic mask generator output, written as its scripts/amg.py
writes them, from a scene's exact ground truth.

    /usr/bin/python3 bench/external/sam_masks.py SCENE [--seed S] [--gt gt_instance] [--out masks]
        [--format folder|rle] [--background pieces|surfaces|none]

Reads SCENE/gt_instance/*.npy (0: background, 1..N: objects) and writes SCENE/<out>/ as amg.py does: a folder per
image, <stem>/0.png, 1.png, ... (8-bit, 255 inside) with metadata.csv (--format folder, amg.py's default), or
<stem>.json, a list of annotations whose segmentation is a COCO RLE with pycocotools' compressed counts (--format
rle, amg.py's --convert-to-rle). Written apart from UniCLift (numpy only; the RLE string encoder follows
pycocotools' common/maskApi.c rleToString). What SAM does that a panoptic segmenter does not, and what is drawn here
per object and view (independently in every view, so the views disagree):
  - masks at several levels that overlap: an object's whole mask (85%), and in 30% of views its two parts as well
    (the object cut by a random line through its middle), which, being smaller, cover the whole one where both are;
    in 10% of views only the parts; in 5% nothing (small objects, under 0.1% of the image, half the time);
  - a mask over two touching objects together (15% of touching pairs), larger than either;
  - edges a pixel off (grown or shrunk in 30% of masks each);
  - the background (floor, walls, ceiling) in 3-6 pieces of its own cut anyhow in each view (--background pieces, the
    default: SAM has no classes, so nothing says they are stuff); or along its surfaces, as SAM cuts a room by its
    planes and materials (--background surfaces, from SCENE/gt_surface/*.npy, which blender_room.py writes: each
    surface a mask of its own, in 20% of views in two halves, in 10% missed); or left uncovered (--background none: as
    if the large masks had been dropped);
  - the masks in no particular order (amg.py's order is its point grid's, not by size or level).
SCENE/<out>.json says what was drawn for each view.
"""
import argparse
import json
import os
import sys

import numpy as np

from corrupt_masks import shift_or, write_png_grey


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def rle_counts(mask):
    """COCO run lengths: column-major (Fortran) order, starting with a run of zeros."""
    flat = mask.T.reshape(-1).astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    edges = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(edges).tolist()
    if flat.size and flat[0] == 1:
        runs = [0] + runs
    return runs


def rle_string(counts):
    """pycocotools' rleToString: 5 bits a character from '0', 0x20 to go on, deltas from the count two before."""
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5  # Python's >> floors, as C's arithmetic shift of a long does
            more = (x != -1) if (ch & 0x10) else (x != 0)
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
    return "".join(out)


def jitter(mask, rng):
    u = rng.random()
    if u < 0.3:
        return shift_or(mask, 1)
    if u < 0.6:
        shrunk = ~shift_or(~mask, 1)
        return shrunk if shrunk.any() else mask
    return mask


def halves(mask, rng):
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean(), xs.mean()
    a = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:mask.shape[0], 0:mask.shape[1]]
    side = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a) > 0
    one, two = mask & side, mask & ~side
    return [m for m in (one, two) if m.any()]


def view_masks(gt, rng, background, surfaces=None):
    h, w = gt.shape
    masks, log = [], {"objects": {}, "groups": 0, "background_pieces": 0}
    ids = [int(i) for i in np.unique(gt) if i != 0]
    for i in ids:
        m = gt == i
        small = m.sum() < 0.001 * h * w
        u = rng.random()
        if u < 0.05 or (small and rng.random() < 0.5):
            log["objects"][i] = "missed"
            continue
        if u < 0.15:
            parts = halves(m, rng)
            masks += [jitter(p, rng) for p in parts]
            log["objects"][i] = "parts only"
            continue
        masks.append(jitter(m, rng))
        if rng.random() < 0.3:
            masks += [jitter(p, rng) for p in halves(m, rng)]
            log["objects"][i] = "whole and parts"
        else:
            log["objects"][i] = "whole"
    grown = {i: shift_or(gt == i, 1) for i in ids}
    for a in ids:
        for b in ids:
            if a < b and (grown[a] & (gt == b)).any() and rng.random() < 0.15:
                masks.append((gt == a) | (gt == b))
                log["groups"] += 1
    if background == "pieces":
        bg = gt == 0
        if bg.any():
            k = int(rng.integers(3, 7))
            seeds = np.stack([rng.uniform(0, h, k), rng.uniform(0, w, k)], 1)
            yy, xx = np.mgrid[0:h, 0:w]
            nearest = np.argmin((yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2, axis=-1)
            for j in range(k):
                piece = bg & (nearest == j)
                if piece.sum() > 0.002 * h * w:
                    masks.append(piece)
                    log["background_pieces"] += 1
    if background == "surfaces":
        for k in [int(k) for k in np.unique(surfaces) if k != 0]:
            m = (surfaces == k) & (gt == 0)
            if m.sum() <= 0.002 * h * w:
                continue
            u = rng.random()
            if u < 0.1:
                continue
            masks += [jitter(p, rng) for p in (halves(m, rng) if u < 0.3 else [m])]
            log["background_pieces"] += 1 if u >= 0.3 else 2
    order = rng.permutation(len(masks))
    return [masks[j] for j in order], log


def bbox(mask):
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scene")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gt", default="gt_instance")
    ap.add_argument("--out", default="masks")
    ap.add_argument("--format", choices=["folder", "rle"], default="folder")
    ap.add_argument("--background", choices=["pieces", "surfaces", "none"], default="pieces")
    args = ap.parse_args()
    gt_dir = os.path.join(args.scene, args.gt)
    if not os.path.isdir(gt_dir):
        sys.exit(f"{gt_dir}: no ground-truth folder")
    surface_dir = os.path.join(args.scene, "gt_surface")
    if args.background == "surfaces" and not os.path.isdir(surface_dir):
        sys.exit(f"{surface_dir}: no surface ids (--background surfaces needs a room that blender_room.py wrote)")
    out = os.path.join(args.scene, args.out)
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    logs, total = {}, 0
    for name in sorted(os.listdir(gt_dir)):
        if not name.endswith(".npy"):
            continue
        stem = name[:-4]
        gt = np.load(os.path.join(gt_dir, name))
        surfaces = np.load(os.path.join(surface_dir, name)) if args.background == "surfaces" else None
        if surfaces is not None and surfaces.shape != gt.shape:
            sys.exit(f"{os.path.join(surface_dir, name)}: {surfaces.shape}, but the ground truth is {gt.shape}")
        masks, log = view_masks(gt, rng, args.background, surfaces)
        masks = [m for m in masks if m.any()]
        total += len(masks)
        logs[stem] = log
        anns = []
        for m in masks:
            box = bbox(m)
            ys, xs = np.nonzero(m)
            k = int(rng.integers(len(ys)))
            anns.append({"area": int(m.sum()), "bbox": box, "point_coords": [[float(xs[k]), float(ys[k])]],
                         "predicted_iou": round(float(rng.uniform(0.86, 1.0)), 4),
                         "stability_score": round(float(rng.uniform(0.92, 1.0)), 4),
                         "crop_box": [0, 0, gt.shape[1], gt.shape[0]]})
        if args.format == "folder":
            d = os.path.join(out, stem)
            os.makedirs(d, exist_ok=True)
            rows = ["id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,stability_score,"
                    "crop_box_x0,crop_box_y0,crop_box_w,crop_box_h"]
            for i, (m, a) in enumerate(zip(masks, anns)):
                write_png_grey(os.path.join(d, f"{i}.png"), m.astype(np.uint8) * 255, 8)
                rows.append(",".join(str(v) for v in [i, a["area"], *a["bbox"], *a["point_coords"][0], a["predicted_iou"],
                                                       a["stability_score"], *a["crop_box"]]))
            write_text(os.path.join(d, "metadata.csv"), "\n".join(rows))
        else:
            for m, a in zip(masks, anns):
                a["segmentation"] = {"size": [int(gt.shape[0]), int(gt.shape[1])], "counts": rle_string(rle_counts(m))}
            write_text(os.path.join(out, stem + ".json"), json.dumps(anns))
    write_text(os.path.join(args.scene, args.out + ".json"), json.dumps(logs, indent=1))
    print(f"{out}: {len(logs)} views, {total} SAM-style masks ({args.format}, background {args.background})")


if __name__ == "__main__":
    main()
