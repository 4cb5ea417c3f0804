#!/usr/bin/python3
"""`uniclift eval` (PQ^scene) checked against Panoptic Lifting's own evaluation code, run.

    /usr/bin/python3 bench/external/pq_reference.py --reference /path/to/panoptic-lifting [--cases N] [--seed S]
        [--keep DIR] [--uniclift CMD] [--threshold-case]

Needs Debian's python3-numpy, python3-pil and python3-torch (CPU is enough) and a checkout of
nihalsid/panoptic-lifting (checked with commit bacd6b8b0184fd2f8a2d07cdb51991a3c149a2d7). Its code is NOT part of this
repository and is not copied here: it is imported from --reference at run time. Only two files of it are loaded,
unchanged: util/panoptic_quality.py, and dataset/preprocessing/preprocess_scannet.py for its read_and_resize_labels and
calculate_panoptic_quality_folders. The imports of preprocess_scannet.py that the metric never uses are replaced by empty stub
modules in sys.modules before it is loaded: scipy, matplotlib, transforms3d, cv2 where they are not installed, and its
own util.transforms / util.metrics / util.misc / util.distinct_colors / SensorData always; tqdm by a pass-through; Tensor.cuda() by the identity when no
GPU is present; and the module's get_thing_semantics() (which reads resources/scannet_reduced_things.csv from the
current directory) by the case's own thing/stuff list.

Each case is a random scene written as real files in the Panoptic Lifting layout that `uniclift eval` reads (color/,
pose/, intrinsic/intrinsic_color.txt, rs_instance/ 16-bit PNG, rs_semantics/ 8-bit PNG, splits.json with integer frame
names, train frames that must be ignored) plus a prediction (instance PNGs, 8- or 16-bit, and semantic PNGs) for every
frame. Cases vary: frame sizes other than 512 (up- and down-scaling, non-square), void ground truth (semantic 0),
stuff and thing classes, thing pixels with instance 0, the multi-class protocol (`--pred-semantic`) and the two-class one,
robust or `--no-robust`, classes tuned to within a pixel or two of the 0.5 % robust threshold on either side, predicted
ids that change across frames, objects shifted to IoU near 0.5, predicted segments about half on void, classes
predicted only on a few pixels (void in the prediction once dropped), empty frames and empty predictions, and
salt-and-pepper noise.

The reference is run the way its own evaluation runs it:
  multi-class, robust: calculate_panoptic_quality_folders itself (PIL NEAREST resize to 512x512, faulty_gt=[0],
    concatenation of all test frames, panoptic_quality with allow_unknown_preds_category=True);
  multi-class, --no-robust: the same loop written out here with its functions, robust=0;
  two-class: the loop of Contrastive Lift's calculate_panoptic_quality_folders_MOS (no void mask, things={1},
    stuff={0}) with class = instance != 0 on both sides, since that is how uniclift's two-class protocol defines it.
The module's panoptic_quality is replaced by a wrapper that runs its panoptic_quality_match and then its
_panoptic_quality_compute on the same tensors (exactly panoptic_quality's body, which returns only the "all" figures),
so PQ/SQ/RQ over things and stuff and per-class TP/FP/FN come out as well; on the first 10 cases the original
panoptic_quality is run too and must return the same figures.

Generator choices that respect documented differences (ScenePanopticQuality.cs header): prediction and ground truth
of a frame have the same size; every thing class that appears (in prediction or ground truth) has an instance id > 0
somewhere in the evaluated ground truth, because uniclift infers thing classes from the ground truth while Panoptic
Lifting reads them from a list (a case breaking this is drawn again). Also every test frame has a prediction:
`uniclift eval` scores a missing one as all background (EvalCommand.cs says so), Panoptic Lifting skips it.

Figures are compared on Panoptic Lifting's 0..1 scale (uniclift's JSON / 100); agreement: |diff| < 1e-4 (the reference
computes each IoU in float32). Per-class TP/FP/FN must match exactly. One line per case, then a summary; exit code 1
on any disagreement. --threshold-case adds one scene of 64 frames at 512x512 (slow: ~2 min) with a class one pixel
under 0.5 % of 2^24 - 15 evaluated pixels, where the reference's float32 share rounds up to its float32 threshold.

Result (2026-12-07, 2-core CPU, Debian torch 1.13.1 on the CPU, Pillow 9.4, numpy 1.24; --cases 200 --seed 1, 302 s): all 200 cases
agree (125 multi-class, 75 two-class, 24 --no-robust, 177 resized, 78 tuned to the threshold, 69 with a class dropped):
max |diff| PQ 2.5e-8, SQ 2.5e-8, RQ 1e-16, PQ_th 2.2e-8, SQ_th 2.8e-8, RQ_th 1e-16, PQ_st 3.0e-8; per-class TP/FP/FN
identical. The --threshold-case scene disagrees (reference PQ 0.4975, uniclift 1.0): Panoptic Lifting's
get_non_robust_classes_for_image divides the pixel counts as torch float32 (83886 / 16777201 rounds to float32(0.005),
so the class is kept), uniclift divides in double (0.005 - 3e-10 < 0.005, dropped). This needs over ~1.45e7 evaluated
pixels (about 55 test frames at 512x512) and a share within ~3e-10 of 0.5 %.
"""
import argparse
import importlib.util
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import types

import numpy as np
import torch
from PIL import Image

SIZE = (512, 512)
TOL = 1e-4


# ----------------------------------------------------------------------------------------------- the reference

class _Stub(types.ModuleType):
    """A module whose every attribute is a placeholder: for imports the metric never uses."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Placeholder(f"{self.__name__}.{name}")


class _Placeholder:
    def __init__(self, name):
        self._name = name

    def __call__(self, *a, **k):
        raise RuntimeError(f"{self._name} is a stub (pq_reference.py)")

    def __getattr__(self, name):
        return _Placeholder(f"{self._name}.{name}")


def load_reference(root):
    """Imports Panoptic Lifting's util/panoptic_quality.py and dataset/preprocessing/preprocess_scannet.py from root."""
    stubbed = []
    for name in ["scipy", "scipy.stats", "matplotlib", "matplotlib.cm", "transforms3d", "transforms3d.axangles", "cv2"]:
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = _Stub(name)
            stubbed.append(name)
    tq = types.ModuleType("tqdm")
    tq.tqdm = lambda it, *a, **k: it
    sys.modules["tqdm"] = tq
    for name in ["util", "util.transforms", "util.distinct_colors", "util.metrics", "util.misc", "dataset",
                 "dataset.preprocessing", "dataset.preprocessing.sens_reader", "dataset.preprocessing.sens_reader.SensorData"]:
        sys.modules[name] = _Stub(name)
        stubbed.append(name)

    def load(name, rel):
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            sys.exit(f"pq_reference.py: {path} not found: --reference must be a checkout of nihalsid/panoptic-lifting")
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod

    pq_mod = load("util.panoptic_quality", "util/panoptic_quality.py")
    setattr(sys.modules["util"], "panoptic_quality", pq_mod)
    pre = load("pl_preprocess_scannet", "dataset/preprocessing/preprocess_scannet.py")
    if not torch.cuda.is_available():
        torch.Tensor.cuda = lambda self, *a, **k: self  # their code moves the scene to the GPU; CPU gives the same counts
    return pq_mod, pre, stubbed


class Reference:
    def __init__(self, root):
        self.pq_mod, self.pre, self.stubbed = load_reference(root)
        self.original_pq = self.pre.panoptic_quality
        self.calls = []
        self.check_original = 10
        self.pre.panoptic_quality = self._recording_pq

    def _recording_pq(self, preds, target, things, stuff, allow_unknown_preds_category=False, robust=0.005):
        m = self.pq_mod
        th, st, iou_sum, tp, fp, fn = m.panoptic_quality_match(
            preds.clone(), target.clone(), set(things), set(stuff), allow_unknown_preds_category, robust)
        full = m._panoptic_quality_compute(th, st, iou_sum, tp, fp, fn)
        ids = m._get_category_id_to_continous_id(th, st)
        per_class = {c: (int(tp[i]), int(fp[i]), int(fn[i]), float(iou_sum[i])) for c, i in ids.items()}
        out = tuple(full["all"][q] for q in ("pq", "sq", "rq"))
        # panoptic_quality's body is panoptic_quality_match's followed by _panoptic_quality_compute; the original is
        # also run on the first cases to show that (it costs as much again: torch.unique over rows is slow on a CPU)
        if self.check_original > 0:
            self.check_original -= 1
            orig = self.original_pq(preds, target, things, stuff, allow_unknown_preds_category, robust)
            assert all(same(float(a), float(b)) for a, b in zip(orig, out)), (orig, out)
        self.calls.append((full, per_class, out))
        return out

    def evaluate(self, scene, pred_inst, pred_sem, protocol, robust, is_thing):
        """Runs the reference on the files of one case; returns {quantity: value}, per-class counts."""
        pre = self.pre
        self.calls = []
        p_ = pathlib.Path
        if protocol == "multi-class" and robust:
            pre.get_thing_semantics = lambda sc_classes="reduced": list(is_thing)
            pq, sq, rq = pre.calculate_panoptic_quality_folders(
                p_(pred_sem), p_(pred_inst), p_(scene) / "rs_semantics", p_(scene) / "rs_instance", SIZE)
        else:
            test = json.loads(p_(scene, "splits.json").read_text())["test"]
            frames = sorted(test, key=int)
            pred, target = [], []
            for f in frames:
                name = f + ".png"
                gi = pre.read_and_resize_labels(p_(scene) / "rs_instance" / name, SIZE)
                pi = pre.read_and_resize_labels(p_(pred_inst) / name, SIZE)
                if protocol == "multi-class":  # calculate_panoptic_quality_folders' loop
                    gs = pre.read_and_resize_labels(p_(scene) / "rs_semantics" / name, SIZE)
                    ps = pre.read_and_resize_labels(p_(pred_sem) / name, SIZE)
                    valid = ~np.isin(gs, [0])
                else:  # calculate_panoptic_quality_folders_MOS' loop, class = instance != 0
                    gs = (gi != 0).astype(np.uint8)
                    ps = (pi != 0).astype(np.uint8)
                    valid = np.ones_like(gs, dtype=bool)
                pred.append(torch.cat([torch.from_numpy(ps[valid]).unsqueeze(-1),
                                       torch.from_numpy(pi[valid]).unsqueeze(-1)], dim=1).reshape(-1, 2))
                target.append(torch.cat([torch.from_numpy(gs[valid]).unsqueeze(-1),
                                         torch.from_numpy(gi[valid]).unsqueeze(-1)], dim=1).reshape(-1, 2))
            if protocol == "multi-class":
                things = {i for i in range(len(is_thing)) if is_thing[i]}
                stuff = {i for i in range(len(is_thing)) if not is_thing[i]}
            else:
                things, stuff = {1}, {0}
            pq, sq, rq = self._recording_pq(torch.cat(pred, 0), torch.cat(target, 0), things, stuff, True,
                                            0.005 if robust else 0.0)
            pq, sq, rq = pq.item(), sq.item(), rq.item()
        assert len(self.calls) == 1
        full, per_class, _ = self.calls[0]
        r = {k: float(full[g][q]) for k, g, q in [
            ("pq", "all", "pq"), ("sq", "all", "sq"), ("rq", "all", "rq"), ("pq_things", "things", "pq"),
            ("sq_things", "things", "sq"), ("rq_things", "things", "rq"), ("pq_stuff", "stuff", "pq")]}
        for k, v in (("pq", pq), ("sq", sq), ("rq", rq)):  # the wrapper saw what the reference returned
            assert same(r[k], v), (k, r[k], v)
        return r, per_class


# ----------------------------------------------------------------------------------------------- uniclift

def run_uniclift(cmd, scene, pred_inst, pred_sem, protocol, robust):
    args = cmd + ["eval", "--scene", scene, "--pred", pred_inst, "--protocol", protocol, "--json"]
    if protocol == "multi-class":
        args += ["--pred-semantic", pred_sem]
    if not robust:
        args.append("--no-robust")
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"uniclift eval failed ({p.returncode}): {p.stderr.strip() or p.stdout.strip()}")
    j = json.loads(p.stdout)
    field = {"pq": "pq_scene"}
    r = {k: float("nan") if j[field.get(k, k)] is None else j[field.get(k, k)] / 100.0
         for k in ["pq", "sq", "rq", "pq_things", "sq_things", "rq_things", "pq_stuff"]}
    per_class = {c["class"]: (c["tp"], c["fp"], c["fn"], c["iou_sum"]) for c in j["classes"]}
    return r, per_class, j


def same(a, b, tol=0.0):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol


# ----------------------------------------------------------------------------------------------- the generator

def pil_resize(a):
    """What read_and_resize_labels does to an array saved as this script saves it (PIL NEAREST to 512x512)."""
    h, w = a.shape
    return a.reshape(-1)[source_index(w, h)]


_SOURCE_INDEX = {}


def source_index(w, h):
    """For each pixel of the 512x512 resize, the flat index of the source pixel PIL NEAREST takes."""
    if (w, h) not in _SOURCE_INDEX:
        idx = np.arange(w * h, dtype=np.int32).reshape(h, w)
        _SOURCE_INDEX[(w, h)] = np.array(Image.fromarray(idx, mode="I").resize(SIZE, Image.NEAREST))
    return _SOURCE_INDEX[(w, h)]


def pick_size(rng):
    r = rng.random()
    if r < 0.12:
        return 512, 512
    if r < 0.22:
        return [(640, 480), (1024, 768), (513, 511), (511, 513), (256, 1024), (1296, 968)][rng.integers(6)]
    if r < 0.32:
        return int(rng.integers(8, 64)), int(rng.integers(8, 64))  # heavy upscaling
    return int(rng.integers(64, 900)), int(rng.integers(64, 900))


_GRID = {}


def shape_mask(h, w, cx, cy, rx, ry, kind):
    if (h, w) not in _GRID:
        _GRID.clear()
        _GRID[(h, w)] = (np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :])
    yy, xx = _GRID[(h, w)]
    if kind == 0:
        return ((xx - cx) / max(rx, 0.5)) ** 2 + ((yy - cy) / max(ry, 0.5)) ** 2 <= 1
    return (np.abs(xx - cx) <= rx) & (np.abs(yy - cy) <= ry)


class Case:
    pass


def generate(rng):
    c = Case()
    c.protocol = "multi-class" if rng.random() < 0.7 else "two-class"
    c.robust = rng.random() > 0.12
    c.w, c.h = pick_size(rng)
    n_test, n_train = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    names = [str(x) for x in sorted(rng.choice(300, n_test + n_train, replace=False))]
    order = rng.permutation(len(names))
    c.test = [names[i] for i in order[:n_test]]
    c.train = [names[i] for i in order[n_test:]]
    c.frames = names
    k = int(rng.integers(2, 11))
    c.k = k
    is_thing = [False] + [bool(rng.random() < 0.5) for _ in range(k)]
    if not any(is_thing):
        is_thing[1] = True
    c.is_thing = is_thing
    things = [i for i in range(1, k + 1) if is_thing[i]]
    stuff = [i for i in range(1, k + 1) if not is_thing[i]]
    w, h = c.w, c.h
    style = rng.choice(["good", "good", "bad", "noisy", "empty", "voidy", "idchange"])
    c.style = str(style)

    # the world: objects with ids consistent in the ground truth
    objs = []
    for _ in range(int(rng.integers(0, 10))):
        objs.append(dict(cls=int(rng.choice(things)), id=int(rng.integers(1, 60000)),
                         cx=rng.random() * w, cy=rng.random() * h,
                         rx=(0.03 + 0.25 * rng.random() ** 2) * w, ry=(0.03 + 0.25 * rng.random() ** 2) * h,
                         kind=int(rng.integers(2))))
    # classes a prediction may use: stuff, 0, the rare class k+1, and thing classes the ground truth has objects of
    # (a thing class only in the prediction would be stuff to uniclift: a documented difference, see above)
    allowed = sorted(set(stuff) | {0, k + 1} | {o["cls"] for o in objs})
    # prediction's view of each object
    for o in objs:
        o["drop"] = rng.random() < (0.5 if style == "bad" else 0.1)
        o["half"] = rng.random() < 0.25  # shifted by about a third of its width: IoU near 0.5
        o["swap"] = rng.random() < (0.3 if style == "bad" else 0.05)
        o["pcls"] = int(rng.choice(allowed[1:-1] or [o["cls"]])) if o["swap"] else o["cls"]
        o["rare"] = rng.random() < 0.08  # predicted with a class of a few pixels only (dropped: void prediction)
        o["pid"] = int(rng.integers(1, 60000))

    c.gt_inst, c.gt_sem, c.pr_inst, c.pr_sem = {}, {}, {}, {}
    for f in names:
        gs = np.zeros((h, w), np.uint8)
        gi = np.zeros((h, w), np.uint16)
        # stuff background: half-planes
        bg = stuff if stuff else [0]
        gs[:] = bg[int(rng.integers(len(bg)))]
        for _ in range(int(rng.integers(0, 4))):
            a = rng.random() * math.pi * 2
            yy, xx = np.arange(h)[:, None], np.arange(w)[None, :]
            side = (xx - rng.random() * w) * math.cos(a) + (yy - rng.random() * h) * math.sin(a) > 0
            gs[side] = bg[int(rng.integers(len(bg)))]
        ps, pi = gs.copy(), gi.copy()
        if rng.random() < 0.2 and stuff:  # the prediction swaps a stuff region
            ps[ps == ps[int(rng.integers(h)), int(rng.integers(w))]] = int(rng.choice(stuff))
        frame_shift = (rng.random() - 0.5) * 0.1 * w, (rng.random() - 0.5) * 0.1 * h
        id_offset = int(rng.integers(1, 500)) if (style == "idchange" or rng.random() < 0.2) else 0
        for o in objs:
            if rng.random() < 0.2:
                continue  # not in this frame
            cx, cy = o["cx"] + frame_shift[0], o["cy"] + frame_shift[1]
            m = shape_mask(h, w, cx, cy, o["rx"], o["ry"], o["kind"])
            gs[m] = o["cls"]
            gi[m] = o["id"]
            if rng.random() < 0.05:  # thing pixels with instance 0
                gi[m & (np.arange(w)[None, :] < cx)] = 0
            if o["drop"]:
                continue
            dx = 2 * o["rx"] / 3 * (1 + 0.1 * (rng.random() - 0.5)) if o["half"] else (rng.random() - 0.5) * 0.1 * o["rx"]
            pm = shape_mask(h, w, cx + dx, cy, o["rx"], o["ry"], o["kind"])
            ps[pm] = o["pcls"]
            pid = o["pid"] + (id_offset if rng.random() < 0.7 else 0)
            if rng.random() < 0.1:  # split in two
                pi[pm] = pid
                pi[pm & (np.arange(h)[:, None] < cy)] = pid + 1
            else:
                pi[pm] = pid
            if o["rare"]:
                ps[pm & (rng.random((h, w)) < 0.01)] = k + 1
        # void in the ground truth (semantic 0; its instance ids are garbage)
        n_void = int(rng.integers(0, 4)) + (3 if style == "voidy" else 0)
        for _ in range(n_void):
            m = shape_mask(h, w, rng.random() * w, rng.random() * h, (0.05 + 0.3 * rng.random()) * w,
                           (0.05 + 0.3 * rng.random()) * h, int(rng.integers(2)))
            gs[m] = 0
            gi[m] = 0 if rng.random() < 0.5 else int(rng.integers(1, 65536))
            if rng.random() < 0.6:  # a predicted segment about half on this void
                cls = int(rng.choice(allowed))
                pm = shape_mask(h, w, rng.random() * w, rng.random() * h, (0.05 + 0.2 * rng.random()) * w,
                                (0.05 + 0.2 * rng.random()) * h, 1)
                pm &= rng.random((h, w)) < 0.5 + 0.3 * (rng.random() - 0.5) + 0.5 * m
                ps[pm] = cls
                pi[pm] = int(rng.integers(1, 60000)) if cls <= k and is_thing[cls] else 0
        if rng.random() < 0.05:
            gs[:] = 0  # a frame that is all void
        if style == "noisy" or rng.random() < 0.1:
            q = [0.001, 0.01, 0.1, 0.5][int(rng.integers(4))]
            nm = rng.random((h, w)) < q
            ps[nm] = rng.choice(allowed, size=int(nm.sum()))
            pi[nm] = rng.integers(0, 40, size=int(nm.sum()))
        if style == "empty" or rng.random() < 0.05:
            ps[:] = 0
            pi[:] = 0
        c.gt_inst[f], c.gt_sem[f], c.pr_inst[f], c.pr_sem[f] = gi, gs, pi, ps

    if rng.random() < 0.4:
        tune_threshold(rng, c)
    if c.protocol == "multi-class":
        c.is_thing = c.is_thing + [False] * (max(int(a.max()) for a in list(c.pr_sem.values()) + list(c.gt_sem.values())) + 1 - len(c.is_thing))
        # a class seen anywhere must be a thing iff it carries an instance id in the evaluated ground truth
        present, gt_inst_classes, total = set(), set(), 0
        for f in c.test:
            gs, gi, ps = pil_resize(c.gt_sem[f]), pil_resize(c.gt_inst[f]), pil_resize(c.pr_sem[f])
            v = gs != 0
            total += int(v.sum())
            present |= set(np.unique(gs[v]).tolist()) | set(np.unique(ps[v]).tolist())
            gt_inst_classes |= set(np.unique(gs[v & (gi != 0)]).tolist())
        if total == 0 or {x for x in present if c.is_thing[x]} != gt_inst_classes:
            return None
    # predicted ids fit 8 bits now and then
    for f in names:
        if int(c.pr_inst[f].max()) < 256 and rng.random() < 0.5:
            c.pr_inst[f] = c.pr_inst[f].astype(np.uint8)
    return c


def tune_threshold(rng, c):
    """Paints a new class on (as near as the resize allows) floor(0.5 % of the evaluated pixels) + d of them."""
    multi = c.protocol == "multi-class"
    idx = source_index(c.w, c.h)
    counts, valid_src, total = {}, {}, 0
    for f in c.test:
        v = pil_resize(c.gt_sem[f]) != 0 if multi else np.ones(SIZE[::-1], bool)
        total += int(v.sum())
        counts[f] = np.bincount(idx[v], minlength=c.w * c.h)
    if total == 0:
        return
    d = int(rng.integers(-2, 3))
    target = int(total * 0.005) + d
    side = rng.choice(["gt", "pred", "both"])
    new_cls = c.k + 2  # above the noise classes (0..k+1)
    thing = bool(rng.random() < 0.5)
    if multi:
        c.is_thing = c.is_thing + [False] * (new_cls - len(c.is_thing)) + [thing]
    sides = ["gt", "pred"] if side == "both" else [str(side)]
    if not multi:  # two-class: the foreground of that side is made rare
        for f in c.test:
            for which in sides:
                (c.gt_inst if which == "gt" else c.pr_inst)[f][:] = 0
    got = 0
    for f in rng.permutation(c.test):
        cnt = counts[f]
        start = int(rng.integers(c.w * c.h))
        order = np.concatenate([np.arange(start, c.w * c.h), np.arange(0, start)])
        order = order[cnt[order] > 0]
        csum = np.cumsum(cnt[order])
        take = order[csum <= target - got]
        got += int(cnt[take].sum())
        ys, xs = np.unravel_index(take, (c.h, c.w))
        for which in sides:
            inst = c.gt_inst[f] if which == "gt" else c.pr_inst[f]
            if multi:
                (c.gt_sem[f] if which == "gt" else c.pr_sem[f])[ys, xs] = new_cls
                inst[ys, xs] = 7 if thing else 0
            else:
                inst[ys, xs] = 7
        if got >= target:
            break
    c.tuned = (str(side), target - int(total * 0.005), got, total)


def write_png(path, a):
    if a.dtype == np.uint16:
        Image.fromarray(a).save(path)  # mode I;16: a 16-bit PNG
    else:
        Image.fromarray(a, mode="L").save(path)


def write_case(root, c):
    scene = os.path.join(root, "scene")
    for d in ["color", "pose", "intrinsic", "rs_instance", "rs_semantics"]:
        os.makedirs(os.path.join(scene, d), exist_ok=True)
    pred_inst, pred_sem = os.path.join(root, "pred_instance"), os.path.join(root, "pred_semantics")
    os.makedirs(pred_inst, exist_ok=True)
    os.makedirs(pred_sem, exist_ok=True)
    black = Image.new("RGB", (c.w, c.h))
    pose = "1 0 0 0\n0 1 0 0\n0 0 1 0\n0 0 0 1\n"
    with open(os.path.join(scene, "intrinsic", "intrinsic_color.txt"), "w") as fh:
        fh.write(f"{c.w} 0 {c.w / 2} 0\n0 {c.w} {c.h / 2} 0\n0 0 1 0\n0 0 0 1\n")
    for f in c.frames:
        black.save(os.path.join(scene, "color", f + ".png"), compress_level=1)
        with open(os.path.join(scene, "pose", f + ".txt"), "w") as fh:
            fh.write(pose)
        write_png(os.path.join(scene, "rs_instance", f + ".png"), c.gt_inst[f])
        write_png(os.path.join(scene, "rs_semantics", f + ".png"), c.gt_sem[f])
        write_png(os.path.join(pred_inst, f + ".png"), c.pr_inst[f])
        write_png(os.path.join(pred_sem, f + ".png"), c.pr_sem[f])
    with open(os.path.join(scene, "splits.json"), "w") as fh:
        json.dump({"train": c.train, "test": c.test}, fh)
    return scene, pred_inst, pred_sem


def threshold_case():
    """64 frames of 512x512, 15 of their pixels void: 2^24 - 15 evaluated pixels. Class 2 covers one pixel less than
    0.5 % of them in the ground truth (83886 / 16777201 = 0.005 - 3e-10) and is predicted as class 1 everywhere."""
    c = Case()
    c.protocol, c.robust, c.w, c.h, c.style = "multi-class", True, 512, 512, "threshold"
    c.frames = [str(i) for i in range(64)]
    c.test, c.train = list(c.frames), []
    c.is_thing = [False, False, False]
    total = 64 * 512 * 512 - 15
    n2 = (total - 1) // 200
    assert n2 * 200 == total - 1 and n2 / total < 0.005 and np.float32(n2) / np.float32(total) >= np.float32(0.005)
    c.gt_inst, c.gt_sem, c.pr_inst, c.pr_sem = {}, {}, {}, {}
    flat = np.ones(64 * 512 * 512, np.uint8)
    flat[:n2] = 2
    flat[-15:] = 0
    for i, f in enumerate(c.frames):
        c.gt_sem[f] = flat[i * 512 * 512:(i + 1) * 512 * 512].reshape(512, 512).copy()
        c.pr_sem[f] = np.ones((512, 512), np.uint8)
        c.gt_inst[f] = np.zeros((512, 512), np.uint16)
        c.pr_inst[f] = np.zeros((512, 512), np.uint8)
    c.tuned = ("gt", -1, n2, total)
    return c


# ----------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, help="checkout of nihalsid/panoptic-lifting")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="write every case under this directory and keep it (default: a temporary one, removed)")
    ap.add_argument("--uniclift", help="command that runs uniclift (default: dotnet src/Client/bin/Release/net10.0/uniclift.dll)")
    ap.add_argument("--threshold-case", action="store_true", help="also run the 64-frame float32 threshold scene")
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    cmd = args.uniclift.split() if args.uniclift else ["dotnet", os.path.join(repo, "src/Client/bin/Release/net10.0/uniclift.dll")]
    ref = Reference(os.path.abspath(args.reference))
    print(f"reference: {args.reference} (stubbed: {', '.join(ref.stubbed)}; torch {torch.__version__}, "
          f"cuda {'yes' if torch.cuda.is_available() else 'no (Tensor.cuda = identity)'})")
    root = args.keep or tempfile.mkdtemp(prefix="pq_reference_")
    rng = np.random.default_rng(args.seed)
    keys = ["pq", "sq", "rq", "pq_things", "sq_things", "rq_things", "pq_stuff"]
    maxdiff = {k: 0.0 for k in keys}
    nan_mismatch = {k: 0 for k in keys}
    bad, redrawn, count_mismatch = [], 0, 0
    stats = {"multi-class": 0, "two-class": 0, "no-robust": 0, "resized": 0, "tuned": 0}
    t0 = time.time()
    timing = {"write": 0.0, "reference": 0.0, "uniclift": 0.0}
    try:
        i = 0
        while i < args.cases + (1 if args.threshold_case else 0):
            if i == args.cases:
                c = threshold_case()
            else:
                c = generate(rng)
                if c is None:
                    redrawn += 1
                    continue
            d = os.path.join(root, f"case{i:04d}")
            t1 = time.time()
            scene, pi, ps = write_case(d, c)
            t2 = time.time()
            r_ref, cls_ref = ref.evaluate(scene, pi, ps, c.protocol, c.robust, c.is_thing)
            t3 = time.time()
            r_uc, cls_uc, j = run_uniclift(cmd, scene, pi, ps, c.protocol, c.robust)
            timing["write"] += t2 - t1
            timing["reference"] += t3 - t2
            timing["uniclift"] += time.time() - t3
            stats[c.protocol] += 1
            stats["no-robust"] += not c.robust
            stats["resized"] += (c.w, c.h) != SIZE
            stats["tuned"] += hasattr(c, "tuned")
            diffs = {}
            ok = True
            for k in keys:
                a, b = r_ref[k], r_uc[k]
                if math.isnan(a) or math.isnan(b):
                    if not (math.isnan(a) and math.isnan(b)):
                        nan_mismatch[k] += 1
                        ok = False
                        diffs[k] = float("inf")
                    continue
                diffs[k] = abs(a - b)
                maxdiff[k] = max(maxdiff[k], diffs[k])
                ok &= diffs[k] < TOL
            counts_ok = {c_: v[:3] for c_, v in cls_ref.items()} == {c_: tuple(v[:3]) for c_, v in cls_uc.items()}
            count_mismatch += not counts_ok
            ok &= counts_ok
            tuned = f" tuned={c.tuned}" if hasattr(c, "tuned") else ""
            print(f"case {i:3d} {c.protocol:11s} {'robust' if c.robust else 'no-robust':9s} {c.w}x{c.h} test={len(c.test)} "
                  f"style={c.style:8s} PQ ref={r_ref['pq']:.6f} uniclift={r_uc['pq']:.6f} "
                  f"max|diff|={max(diffs.values(), default=0):.2e} classes={'same' if counts_ok else 'DIFFER'} "
                  f"dropped={j['dropped_classes']}{tuned}"
                  f"{'' if ok else '  <-- DISAGREE'}", flush=True)
            if not ok:
                bad.append(i)
                print(f"    reference: {r_ref}\n    uniclift:  {r_uc}\n    ref classes (tp,fp,fn,iou): {cls_ref}\n"
                      f"    uniclift classes:           {cls_uc}\n    files: {d}", flush=True)
            elif not args.keep:
                shutil.rmtree(d)
            i += 1
    finally:
        if not args.keep and not bad:
            shutil.rmtree(root, ignore_errors=True)
    n = args.cases + (1 if args.threshold_case else 0)
    print(f"\n{n} cases ({stats['multi-class']} multi-class, {stats['two-class']} two-class, {stats['no-robust']} --no-robust, "
          f"{stats['resized']} resized, {stats['tuned']} tuned to the 0.5 % threshold; {redrawn} drawn again), "
          f"{time.time() - t0:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in timing.items()) + ")")
    print("max |diff| (0..1 scale): " + ", ".join(f"{k}={maxdiff[k]:.2e}" for k in keys))
    if any(nan_mismatch.values()):
        print("one side NaN, the other not: " + ", ".join(f"{k}={v}" for k, v in nan_mismatch.items() if v))
    print(f"cases with different per-class TP/FP/FN: {count_mismatch}")
    print(f"disagreements (|diff| >= {TOL} or counts differ): {len(bad)}" + (f": cases {bad} (kept under {root})" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
