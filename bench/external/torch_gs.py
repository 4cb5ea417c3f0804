#!/usr/bin/env python3
"""A small, self-contained 3D Gaussian Splatting trainer in pure PyTorch (CPU), written from graphdeco's paper and
the conventions of its reference code (Kerbl et al. 2023), independent of this repository's C# rasteriser. It trains a
geometry on a nerfstudio scene's training views and writes graphdeco's output folder, so that `uniclift segment
--mode lift` can be measured on a geometry made by another trainer.

    python3 torch_gs.py SCENE_DIR OUT_DIR [--iterations 3000] [--seed 0] [--threads 2] [--no-densify]
    python3 torch_gs.py SCENE_DIR - --eval-ply PLY      (render any graphdeco PLY on the test views: PSNR)

SCENE_DIR: transforms.json (OpenGL camera-to-world, fl_x fl_y cx cy w h, train_filenames / test_filenames),
images/, points3D.ply (ASCII or binary with x y z red green blue), as bench/external/blender_room.py writes it.
OUT_DIR gets graphdeco's layout: point_cloud/iteration_N/point_cloud.ply (binary little-endian, x y z nx ny nz
f_dc_0..2 f_rest_0..44 opacity scale_0..2 rot_0..3), cameras.json, cfg_args (source_path = SCENE_DIR), and
splits.json (the scene's train/test split by image name, which graphdeco does not write) so that the test views stay
held out when the folder is read as a scene.

What it implements, as graphdeco does: EWA splatting (covariance from a w-x-y-z quaternion and log scales, the
pinhole Jacobian with graphdeco's 1.3x frustum clamp, +0.3 px low-pass on the 2D covariance), 3-sigma radii, near
culling at z < 0.2, SH colour up to degree 3 (graphdeco's constants and layout, clamp at 0 after +0.5, degree raised
every --sh-every iterations: 500 here, graphdeco 1000), depth sort within each tile (graphdeco's tile|depth key),
front-to-back alpha compositing per pixel with alpha = min(0.99, o * G), contributions with alpha < 1/255 skipped,
stop once transmittance < 1e-4, black background; loss
0.8 L1 + 0.2 (1 - SSIM) (11x11 Gaussian window, sigma 1.5); Adam (eps 1e-15) with graphdeco's learning rates:
position 1.6e-4 * extent decayed exponentially to 1.6e-6 * extent over the run, f_dc 2.5e-3, f_rest 2.5e-3 / 20,
opacity 0.05 (graphdeco's first release; later ones use 0.025), scale 5e-3, rotation 1e-3; initialisation from
points3D.ply (SH DC from the colours, opacity 0.1, isotropic log scale from the mean squared distance to the 3
nearest neighbours, identity rotation); densification from iteration 500 every 100 until half the run: clone
(max scale <= 0.01 extent) or split in 2 (scale / 1.6) where the mean view-space (NDC) gradient of the 2D mean
exceeds 2e-4, prune opacity < 0.005 and (after the first reset) world size > 0.1 extent, opacity reset to 0.01
every --reset-every iterations (graphdeco's 3000 for runs of 6000 or more, else once at a third of the run).
Backward is PyTorch's autograd over the whole renderer. Tiles are 4x4 pixels (--tile; graphdeco's CUDA uses 16x16:
small tiles waste less work when every pixel of a tile is evaluated densely, as here). Speed on 2 CPU cores,
200x150: about 0.8 s an iteration with one thread at 30k Gaussians.

What it does not: graphdeco's exact CUDA numerics and its hand-written backward, screen-size pruning (only the
world-size test), exposure compensation, anti-aliasing (Mip-Splatting style), the fused SSIM, a GPU, 30k iterations.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

C0 = 0.28209479177387814
C1 = 0.4886025119029199
C2 = [1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396]
C3 = [-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154, -0.4570457994644658,
      1.445305721320277, -0.5900435899266435]
TILE = 4


# ----------------------------------------------------------------------------------------------------------- input
def read_ply_header(f):
    """The header lines of an open PLY, up to and including end_header; f is left at the body."""
    header = []
    while True:
        line = f.readline().decode("ascii").strip()
        header.append(line)
        if line == "end_header":
            return header


def read_ply_points(path):
    with open(path, "rb") as f:
        header = read_ply_header(f)
        fmt = next(l.split()[1] for l in header if l.startswith("format"))
        n = next(int(l.split()[2]) for l in header if l.startswith("element vertex"))
        props = [(l.split()[1], l.split()[2]) for l in header if l.startswith("property")]
        names = [p[1] for p in props]
        if fmt == "ascii":
            data = np.loadtxt(f, max_rows=n).reshape(n, len(names))
        else:
            code = {"float": "f4", "float32": "f4", "double": "f8", "uchar": "u1", "uint8": "u1", "int": "i4"}
            dt = np.dtype([(nm, ("<" if fmt == "binary_little_endian" else ">") + code[t]) for t, nm in props])
            rec = np.frombuffer(f.read(n * dt.itemsize), dtype=dt)
            data = np.stack([rec[nm].astype(np.float64) for nm in names], axis=1)
    xyz = data[:, [names.index(c) for c in "xyz"]]
    if "red" in names:
        rgb = data[:, [names.index(c) for c in ("red", "green", "blue")]] / 255.0
    else:
        rgb = np.full((n, 3), 0.5)
    return xyz.astype(np.float32), rgb.astype(np.float32)


def load_scene(scene):
    doc = json.load(open(os.path.join(scene, "transforms.json")))
    test_names = set(doc.get("test_filenames", []))
    views = []
    for fr in doc["frames"]:
        c2w = np.array(fr["transform_matrix"], dtype=np.float64)[:4, :4]
        c2w[:3, 1:3] *= -1  # OpenGL -> OpenCV camera axes
        img = np.asarray(Image.open(os.path.join(scene, fr["file_path"])).convert("RGB"), dtype=np.float32) / 255.0
        h, w = img.shape[:2]
        fx = fr.get("fl_x", doc["fl_x"]); fy = fr.get("fl_y", doc.get("fl_y", fx))
        cx = fr.get("cx", doc.get("cx", w / 2)); cy = fr.get("cy", doc.get("cy", h / 2))
        views.append(dict(name=os.path.splitext(os.path.basename(fr["file_path"]))[0], c2w=c2w, w2c=np.linalg.inv(c2w),
                          fx=fx, fy=fy, cx=cx, cy=cy, w=w, h=h, image=torch.from_numpy(img),
                          test=fr["file_path"] in test_names))
    ply = doc.get("ply_file_path", "points3D.ply")
    xyz, rgb = read_ply_points(os.path.join(scene, ply))
    return views, xyz, rgb


# ---------------------------------------------------------------------------------------------------------- model
def knn_mean_sq_dist(xyz, k=3, chunk=2048):
    p = torch.from_numpy(xyz)
    out = torch.empty(len(p))
    for s in range(0, len(p), chunk):
        d = torch.cdist(p[s:s + chunk], p)
        d2 = d.topk(k + 1, largest=False).values[:, 1:] ** 2
        out[s:s + chunk] = d2.mean(1)
    return out.clamp_min(1e-7)


class Gaussians:
    def __init__(self, xyz, rgb, sh_degree=3):
        n = len(xyz)
        self.max_sh = sh_degree
        self.xyz = torch.tensor(xyz, dtype=torch.float32)
        self.f_dc = ((torch.tensor(rgb) - 0.5) / C0).reshape(n, 1, 3).float()
        self.f_rest = torch.zeros(n, (sh_degree + 1) ** 2 - 1, 3)
        self.opacity = torch.logit(torch.full((n, 1), 0.1))
        self.scale = torch.log(torch.sqrt(knn_mean_sq_dist(xyz)))[:, None].repeat(1, 3)
        self.rot = torch.zeros(n, 4); self.rot[:, 0] = 1
        for t in self.params():
            t.requires_grad_(True)

    names = ["xyz", "f_dc", "f_rest", "opacity", "scale", "rot"]

    def params(self):
        return [getattr(self, k) for k in self.names]


def quat_to_rot(q):
    q = q / q.norm(dim=1, keepdim=True)
    w, x, y, z = q.unbind(1)
    return torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
                        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], 1).reshape(-1, 3, 3)


def eval_sh(deg, sh, d):
    """sh: [N, (deg+1)^2, 3] (graphdeco's order), d: [N, 3] unit directions -> [N, 3]."""
    res = C0 * sh[:, 0]
    if deg > 0:
        x, y, z = d[:, 0:1], d[:, 1:2], d[:, 2:3]
        res = res - C1 * y * sh[:, 1] + C1 * z * sh[:, 2] - C1 * x * sh[:, 3]
        if deg > 1:
            xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
            res = (res + C2[0] * xy * sh[:, 4] + C2[1] * yz * sh[:, 5] + C2[2] * (2 * zz - xx - yy) * sh[:, 6]
                   + C2[3] * xz * sh[:, 7] + C2[4] * (xx - yy) * sh[:, 8])
            if deg > 2:
                res = (res + C3[0] * y * (3 * xx - yy) * sh[:, 9] + C3[1] * xy * z * sh[:, 10]
                       + C3[2] * y * (4 * zz - xx - yy) * sh[:, 11]
                       + C3[3] * z * (2 * zz - 3 * xx - 3 * yy) * sh[:, 12]
                       + C3[4] * x * (4 * zz - xx - yy) * sh[:, 13]
                       + C3[5] * z * (xx - yy) * sh[:, 14] + C3[6] * x * (xx - 3 * yy) * sh[:, 15])
    return res


# -------------------------------------------------------------------------------------------------------- renderer
def render(g, view, sh_deg, want_means2d=False):
    """Returns image [H, W, 3], the 2D means tensor (for the densification gradient) and the visibility mask."""
    W, H = view["w"], view["h"]
    fx, fy, cx, cy = view["fx"], view["fy"], view["cx"], view["cy"]
    w2c = torch.tensor(view["w2c"], dtype=torch.float32)
    R, t = w2c[:3, :3], w2c[:3, 3]
    p = g.xyz @ R.T + t
    z = p[:, 2]
    visible = z > 0.2
    idx = visible.nonzero().squeeze(1)
    pv = p[idx]
    zv = pv[:, 2]
    # EWA: J W Sigma W^T J^T, with graphdeco's clamp of x/z, y/z to 1.3 tan(fov/2)
    limx, limy = 1.3 * (W / (2 * fx)), 1.3 * (H / (2 * fy))
    tx = (pv[:, 0] / zv).clamp(-limx, limx) * zv
    ty = (pv[:, 1] / zv).clamp(-limy, limy) * zv
    zeros = torch.zeros_like(zv)
    J = torch.stack([fx / zv, zeros, -fx * tx / zv ** 2, zeros, fy / zv, -fy * ty / zv ** 2], 1).reshape(-1, 2, 3)
    Rg = quat_to_rot(g.rot[idx])
    S = torch.exp(g.scale[idx])
    M = Rg * S[:, None, :]  # R diag(s)
    cov3 = M @ M.transpose(1, 2)
    T = J @ R[None]
    cov2 = T @ cov3 @ T.transpose(1, 2)
    a = cov2[:, 0, 0] + 0.3
    b = cov2[:, 0, 1]
    c = cov2[:, 1, 1] + 0.3
    det = a * c - b * b
    ok = det > 0
    # 2D means in pixels (pixel centres at i + 0.5)
    means2d = torch.stack([fx * pv[:, 0] / zv + cx, fy * pv[:, 1] / zv + cy], 1)
    if want_means2d:
        means2d.retain_grad()
    conic = torch.stack([c / det, -b / det, a / det], 1)
    with torch.no_grad():
        mid = 0.5 * (a + c)
        lam = mid + torch.sqrt((mid * mid - det).clamp_min(0.1))
        radius = torch.ceil(3 * torch.sqrt(lam))
        m = means2d.detach()
        nx, ny = (W + TILE - 1) // TILE, (H + TILE - 1) // TILE
        x0 = ((m[:, 0] - radius) / TILE).floor().clamp(0, nx).long()
        x1 = ((m[:, 0] + radius) / TILE).floor().clamp(-1, nx - 1).long() + 1
        y0 = ((m[:, 1] - radius) / TILE).floor().clamp(0, ny).long()
        y1 = ((m[:, 1] + radius) / TILE).floor().clamp(-1, ny - 1).long() + 1
        cnt = ((x1 - x0).clamp_min(0) * (y1 - y0).clamp_min(0)) * ok
        order = torch.argsort(zv.detach())  # front to back
        order = order[cnt[order] > 0]
        cnt_o = cnt[order]
        total = int(cnt_o.sum())
        # expand every Gaussian to the tiles its 3-sigma box touches
        gi = torch.repeat_interleave(order, cnt_o)
        start = torch.cumsum(cnt_o, 0) - cnt_o
        local = torch.arange(total) - torch.repeat_interleave(start, cnt_o)
        bw = (x1 - x0)[gi]
        tile = (y0[gi] + local // bw) * nx + x0[gi] + local % bw
        srt = torch.sort(tile, stable=True)  # by tile, depth order kept inside a tile
        tile, gi = srt.values, gi[srt.indices]
        # pixel coordinates of each tile's 256 pixels
        py, px = torch.meshgrid(torch.arange(TILE), torch.arange(TILE), indexing="ij")
        px, py = px.reshape(-1).float() + 0.5, py.reshape(-1).float() + 0.5
        tx0 = (tile % nx).float() * TILE
        ty0 = (tile // nx).float() * TILE
        ntiles = nx * ny
        first = torch.ones(total, dtype=torch.bool)
        first[1:] = tile[1:] != tile[:-1]
    dx = (tx0[:, None] + px[None]) - means2d[gi, 0:1]
    dy = (ty0[:, None] + py[None]) - means2d[gi, 1:2]
    cg = conic[gi]
    power = -0.5 * (cg[:, 0:1] * dx * dx + cg[:, 2:3] * dy * dy) - cg[:, 1:2] * dx * dy
    opac = torch.sigmoid(g.opacity[idx][gi])
    alpha = (opac * torch.exp(power.clamp_max(0))).clamp_max(0.99)
    alpha = torch.where(alpha < 1.0 / 255.0, torch.zeros_like(alpha), alpha)
    # exclusive transmittance per tile: a segmented cumulative sum of log(1 - alpha) along the sorted list
    la = torch.log1p(-alpha).double()
    cs = torch.cumsum(la, 0)
    excl = cs - la
    with torch.no_grad():
        seg_start = torch.cumsum(first.long(), 0) - 1
        first_pos = first.nonzero().squeeze(1)
    base = excl[first_pos][seg_start]
    logT = (excl - base).float()
    Tr = torch.exp(logT)
    wgt = alpha * Tr * (logT > math.log(1e-4)).float()
    # colours (view dependent)
    dirs = g.xyz[idx] - torch.tensor(view["c2w"][:3, 3], dtype=torch.float32)
    dirs = dirs / dirs.norm(dim=1, keepdim=True)
    sh = torch.cat([g.f_dc[idx], g.f_rest[idx]], 1)
    rgb = (eval_sh(sh_deg, sh, dirs) + 0.5).clamp_min(0)
    col = wgt[:, :, None] * rgb[gi][:, None, :]  # [pairs, 256, 3]
    img_t = torch.zeros(ntiles, TILE * TILE, 3).index_add(0, tile, col)
    img = img_t.reshape(ny, nx, TILE, TILE, 3).permute(0, 2, 1, 3, 4).reshape(ny * TILE, nx * TILE, 3)[:H, :W]
    on = (cnt > 0).nonzero().squeeze(1)
    return img, means2d, (idx[on], on)


# ------------------------------------------------------------------------------------------------------------ loss
def ssim(x, y):
    """x, y: [H, W, 3] -> mean SSIM with an 11x11 Gaussian window (sigma 1.5), as graphdeco's loss_utils."""
    g1 = torch.exp(-((torch.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2)); g1 = g1 / g1.sum()
    win = (g1[:, None] @ g1[None]).expand(3, 1, 11, 11).contiguous()
    x = x.permute(2, 0, 1)[None]; y = y.permute(2, 0, 1)[None]
    f = lambda t: F.conv2d(t, win, padding=5, groups=3)
    mx, my = f(x), f(y)
    sx, sy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    C1s, C2s = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mx * my + C1s) * (2 * sxy + C2s)) / ((mx * mx + my * my + C1s) * (sx + sy + C2s))
    return m.mean()


def psnr(x, y):
    return float(-10 * torch.log10(((x - y) ** 2).mean()))


# ---------------------------------------------------------------------------------------------------- optimisation
class Trainer:
    def __init__(self, g, extent, iterations, args):
        self.g, self.extent, self.iters = g, extent, iterations
        self.lr = dict(xyz=1.6e-4 * extent, f_dc=2.5e-3, f_rest=2.5e-3 / 20, opacity=0.05, scale=5e-3, rot=1e-3)
        self.opt = torch.optim.Adam([{"params": [getattr(g, k)], "lr": self.lr[k], "name": k} for k in g.names], eps=1e-15)
        self.reset_stats()

    def reset_stats(self):
        n = len(self.g.xyz)
        self.grad_acc = torch.zeros(n)
        self.denom = torch.zeros(n)

    def set_xyz_lr(self, it):
        t = min(it / self.iters, 1.0)
        lr = math.exp((1 - t) * math.log(1.6e-4 * self.extent) + t * math.log(1.6e-6 * self.extent))
        for grp in self.opt.param_groups:
            if grp["name"] == "xyz":
                grp["lr"] = lr

    def _apply(self, keep_mask, extra):
        """Keep rows where keep_mask, then append `extra` (dict name -> tensor), with Adam moments zeroed for new rows."""
        for grp in self.opt.param_groups:
            k = grp["name"]
            old = grp["params"][0]
            st = self.opt.state.get(old, None)
            new = torch.cat([old.detach()[keep_mask], extra[k]], 0).requires_grad_(True)
            if st is not None:
                zs = torch.zeros_like(extra[k])
                st = {"step": st["step"], "exp_avg": torch.cat([st["exp_avg"][keep_mask], zs], 0),
                      "exp_avg_sq": torch.cat([st["exp_avg_sq"][keep_mask], zs], 0)}
                del self.opt.state[old]
                self.opt.state[new] = st
            grp["params"][0] = new
            setattr(self.g, k, new)

    def densify_and_prune(self, grad_thresh, min_opacity, big_world):
        g = self.g
        grads = self.grad_acc / self.denom.clamp_min(1)
        grads[self.denom == 0] = 0
        smax = torch.exp(g.scale.detach()).max(1).values
        dense = 0.01 * self.extent
        clone = (grads >= grad_thresh) & (smax <= dense)
        split = (grads >= grad_thresh) & (smax > dense)
        d = {k: getattr(g, k).detach() for k in g.names}
        extra = {k: d[k][clone] for k in g.names}
        # split: 2 samples from each Gaussian, scale / (0.8 * 2)
        ns = int(split.sum())
        if ns:
            s = torch.exp(d["scale"][split]).repeat(2, 1)
            samples = torch.randn_like(s) * s
            Rm = quat_to_rot(d["rot"][split]).repeat(2, 1, 1)
            sp = {"xyz": (Rm @ samples[:, :, None]).squeeze(2) + d["xyz"][split].repeat(2, 1),
                  "scale": torch.log(s / 1.6)}
            for k in g.names:
                v = sp.get(k, d[k][split].repeat(2, *([1] * (d[k].dim() - 1))))
                extra[k] = torch.cat([extra[k], v], 0)
        keep = torch.ones(len(d["xyz"]), dtype=torch.bool)
        keep[split] = False
        self._apply(keep, extra)
        # prune
        op = torch.sigmoid(g.opacity.detach()).squeeze(1)
        prune = op < min_opacity
        if big_world:
            prune |= torch.exp(g.scale.detach()).max(1).values > 0.1 * self.extent
        if prune.any():
            self._apply(~prune, {k: getattr(g, k).detach()[:0] for k in g.names})
        self.reset_stats()
        return int(clone.sum()), ns, int(prune.sum())

    def reset_opacity(self):
        g = self.g
        with torch.no_grad():
            g.opacity.copy_(torch.minimum(g.opacity, torch.logit(torch.tensor(0.01))))
        st = self.opt.state.get(g.opacity)
        if st is not None:
            st["exp_avg"].zero_(); st["exp_avg_sq"].zero_()


# ------------------------------------------------------------------------------------------------------------ output
def write_ply(path, g):
    n = len(g.xyz)
    f_dc = g.f_dc.detach().reshape(n, 3)
    f_rest = g.f_rest.detach().transpose(1, 2).reshape(n, -1)  # channel-major: 15 R, 15 G, 15 B
    cols = torch.cat([g.xyz.detach(), torch.zeros(n, 3), f_dc, f_rest, g.opacity.detach(), g.scale.detach(),
                      g.rot.detach()], 1).numpy().astype("<f4")
    names = ["x", "y", "z", "nx", "ny", "nz"] + [f"f_dc_{i}" for i in range(3)] + \
            [f"f_rest_{i}" for i in range(f_rest.shape[1])] + ["opacity"] + [f"scale_{i}" for i in range(3)] + \
            [f"rot_{i}" for i in range(4)]
    assert cols.shape[1] == len(names)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(("ply\nformat binary_little_endian 1.0\nelement vertex %d\n" % n).encode())
        for nm in names:
            f.write(("property float %s\n" % nm).encode())
        f.write(b"end_header\n")
        f.write(np.ascontiguousarray(cols).tobytes())


def read_gaussians(path):
    """A graphdeco point_cloud.ply (any extra properties ignored) -> Gaussians, for --eval-ply."""
    with open(path, "rb") as f:
        header = read_ply_header(f)
        assert any(l == "format binary_little_endian 1.0" for l in header), "binary little-endian PLY expected"
        n = next(int(l.split()[2]) for l in header if l.startswith("element vertex"))
        code = {"float": "<f4", "float32": "<f4", "double": "<f8", "uchar": "u1", "uint8": "u1", "int": "<i4",
                "int32": "<i4", "uint": "<u4", "uint32": "<u4", "short": "<i2", "ushort": "<u2"}
        dt = np.dtype([(l.split()[2], code[l.split()[1]]) for l in header if l.startswith("property")])
        rec = np.frombuffer(f.read(n * dt.itemsize), dtype=dt)
    col = lambda *names: torch.from_numpy(np.stack([rec[k].astype(np.float32) for k in names], 1))
    nrest = sum(1 for k in dt.names if k.startswith("f_rest_"))
    g = Gaussians.__new__(Gaussians)
    g.max_sh = {0: 0, 9: 1, 24: 2, 45: 3}[nrest]
    g.xyz = col("x", "y", "z")
    g.f_dc = col("f_dc_0", "f_dc_1", "f_dc_2").reshape(n, 1, 3)
    g.f_rest = (col(*[f"f_rest_{i}" for i in range(nrest)]).reshape(n, 3, nrest // 3).transpose(1, 2).contiguous()
                if nrest else torch.zeros(n, 0, 3))
    g.opacity = col("opacity")
    g.scale = col("scale_0", "scale_1", "scale_2")
    g.rot = col("rot_0", "rot_1", "rot_2", "rot_3")
    return g


def write_outputs(out, scene, views, g, iteration, sh_degree):
    write_ply(os.path.join(out, "point_cloud", f"iteration_{iteration}", "point_cloud.ply"), g)
    cams = []
    ordered = [v for v in views if not v["test"]] + [v for v in views if v["test"]]  # graphdeco: train then test
    for i, v in enumerate(ordered):
        cams.append({"id": i, "img_name": v["name"], "width": v["w"], "height": v["h"],
                     "position": v["c2w"][:3, 3].tolist(), "rotation": [r.tolist() for r in v["c2w"][:3, :3]],
                     "fy": v["fy"], "fx": v["fx"]})
    json.dump(cams, open(os.path.join(out, "cameras.json"), "w"))
    with open(os.path.join(out, "cfg_args"), "w") as f:
        f.write(f"Namespace(data_device='cpu', eval=True, images='images', model_path='{os.path.abspath(out)}', "
                f"resolution=-1, sh_degree={sh_degree}, source_path='{os.path.abspath(scene)}', white_background=False)")
    json.dump({"train": [v["name"] for v in views if not v["test"]], "test": [v["name"] for v in views if v["test"]]},
              open(os.path.join(out, "splits.json"), "w"))


def main():
    global TILE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scene"); ap.add_argument("out")
    ap.add_argument("--iterations", type=int, default=3000)
    ap.add_argument("--sh-degree", type=int, default=3)
    ap.add_argument("--sh-every", type=int, default=500, help="raise the SH degree every N iterations (graphdeco: 1000)")
    ap.add_argument("--densify-from", type=int, default=500)
    ap.add_argument("--densify-until", type=int, default=-1, help="default: half the iterations")
    ap.add_argument("--densify-every", type=int, default=100)
    ap.add_argument("--reset-every", type=int, default=-1, help="opacity reset period; default: 3000 (graphdeco) "
                    "or, for shorter runs, once at a third of the run")
    ap.add_argument("--grad-threshold", type=float, default=2e-4)
    ap.add_argument("--no-densify", action="store_true", help="a fixed set of Gaussians (the initial points)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tile", type=int, default=TILE, help="tile size in pixels (small tiles are faster on a CPU)")
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--save-every", type=int, default=0, help="also write point_cloud/iteration_N every N iterations")
    ap.add_argument("--eval-ply", help="train nothing: render this graphdeco PLY on the scene's test views, print PSNR")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    TILE = args.tile
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    views, xyz, rgb = load_scene(args.scene)
    train = [v for v in views if not v["test"]]
    test = [v for v in views if v["test"]] or views
    centres = np.stack([v["c2w"][:3, 3] for v in train])
    extent = float(np.linalg.norm(centres - centres.mean(0), axis=1).max() * 1.1)  # graphdeco's getNerfppNorm radius
    if args.eval_ply:
        g = read_gaussians(args.eval_ply)
        with torch.no_grad():
            for name, vs in (("test", test),):
                ps = [psnr(render(g, v, g.max_sh)[0].clamp(0, 1), v["image"]) for v in vs]
                print(f"{args.eval_ply}: {len(g.xyz)} Gaussians, SH degree {g.max_sh}, PSNR {name} {np.mean(ps):.2f} dB "
                      f"({len(ps)} views)", flush=True)
        return
    g = Gaussians(xyz, rgb, args.sh_degree)
    tr = Trainer(g, extent, args.iterations, args)
    until = args.densify_until if args.densify_until >= 0 else args.iterations // 2
    reset_every = args.reset_every if args.reset_every > 0 else (3000 if args.iterations >= 6000 else max(args.iterations // 3, 1))
    print(f"{len(train)} train / {len(test)} test views {views[0]['w']}x{views[0]['h']}, {len(xyz)} points, extent {extent:.3f}", flush=True)
    perm, ema, first_reset_done = [], None, False
    for it in range(1, args.iterations + 1):
        tr.set_xyz_lr(it)
        deg = min(args.sh_degree, (it - 1) // args.sh_every)
        if not perm:
            perm = list(rng.permutation(len(train)))
        v = train[perm.pop()]
        img, means2d, vis = render(g, v, deg, want_means2d=True)
        gt = v["image"]
        l1 = (img - gt).abs().mean()
        loss = 0.8 * l1 + 0.2 * (1 - ssim(img, gt))
        tr.opt.zero_grad(set_to_none=True)
        loss.backward()
        densify = not args.no_densify and it <= until
        if densify and means2d.grad is not None:
            with torch.no_grad():
                # pixel -> NDC gradient of the 2D means, as graphdeco's viewspace_points; counted where radius > 0
                gr = means2d.grad * torch.tensor([0.5 * v["w"], 0.5 * v["h"]])
                rows = vis[1]
                tr.grad_acc.index_add_(0, vis[0], gr[rows].norm(dim=1))
                tr.denom.index_add_(0, vis[0], torch.ones(len(rows)))
        tr.opt.step()
        ema = float(loss) if ema is None else 0.9 * ema + 0.1 * float(loss)
        if densify and it >= args.densify_from and it % args.densify_every == 0:
            c, s, p = tr.densify_and_prune(args.grad_threshold, 0.005, first_reset_done)
            print(f"  densify @{it}: clone {c} split {s} prune {p} -> {len(g.xyz)}", flush=True)
        if densify and it % reset_every == 0 and it < until:
            tr.reset_opacity(); first_reset_done = True
            print(f"  opacity reset @{it}", flush=True)
        if args.save_every and it % args.save_every == 0 and it < args.iterations:
            write_outputs(args.out, args.scene, views, g, it, args.sh_degree)
        if it % args.log_every == 0 or it == 1:
            print(f"it {it} loss {ema:.4f} psnr(train view) {psnr(img.detach().clamp(0, 1), gt):.2f} n {len(g.xyz)} "
                  f"deg {deg} {time.time() - t0:.0f}s", flush=True)
    train_s = time.time() - t0
    with torch.no_grad():
        deg = min(args.sh_degree, (args.iterations - 1) // args.sh_every)
        ps = [psnr(render(g, v, deg)[0].clamp(0, 1), v["image"]) for v in test]
        pt = [psnr(render(g, v, deg)[0].clamp(0, 1), v["image"]) for v in train[::4]]
    write_outputs(args.out, args.scene, views, g, args.iterations, args.sh_degree)
    print(f"done: {len(g.xyz)} Gaussians, {args.iterations} iterations in {train_s:.0f} s; "
          f"PSNR test {np.mean(ps):.2f} dB ({len(ps)} views), train {np.mean(pt):.2f} dB; wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
