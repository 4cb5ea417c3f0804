// CUDA kernels of the Gaussian rasteriser: the same contract and arithmetic as the C# CPU path (FastProjection,
// TileBinning, TileRasterizer), compiled at run time by NVRTC (CudaRasterizer.cs) for the device's architecture.
// Compile-time constants: CHANNELS (feature channels D, 0 allowed) and FEAT_GEO (1: the feature image's loss also
// reaches mean2d, conic and opacity). Every array is a contiguous float32 / int32 / int64 tensor; shapes in comments.
//
// Pipeline per view: project_forward (EWA projection, SH colour, 3-sigma radius, tile rectangle intersected with the
// alpha >= 1/255 support box, pair count) -> stable sort of the depths and inclusive scan of the pair counts in that
// order (torch) -> emit_pairs (key = tile) -> stable sort of the tile keys (torch) -> tile_ranges -> blend_forward; backward:
// blend_backward (per pixel back to front, warp-reduced atomics per Gaussian, 32 values an instruction) ->
// project_backward.

#ifndef CHANNELS
#define CHANNELS 12
#endif
#ifndef FEAT_GEO
#define FEAT_GEO 0
#endif

#define TILE 16
#define BLOCK (TILE * TILE)
#define MAX_ALPHA 0.99f
#define MIN_ALPHA (1.0f / 255.0f)
#define MIN_T 1e-4f
#define LOW_PASS 0.3
#define CULL_SLACK 0.02f
#define CULL_SLACK_PX 0.02f
// Per-Gaussian image-gradient layout (TileRasterizer.GeoStride): d mean2d (2), d conic (3), d opacity, d colour (3), d depth.
#define GEO 10
// Per-Gaussian feature-gradient layout: d feature (D), then with FEAT_GEO d mean2d (2), d conic (3), d opacity.
#define FS (CHANNELS + (FEAT_GEO ? 6 : 0))
#define CH1 (CHANNELS > 0 ? CHANNELS : 1)
#define FULL_MASK 0xffffffffu

// The camera and render constants, passed by value (layout mirrored by CudaRasterizer.CamParams).
struct Cam
{
    double w[9];   // world-to-camera rotation, row-major
    double t[3];   // translation
    double eye[3]; // camera centre
    double fx, fy, cx, cy, limx, limy, near_plane;
    int degree, K, width, height, tilesX, tilesY, binBySupport, pad;
};

#define SH_C0 0.28209479177387814
#define SH_C1 0.4886025119029199
#define C20 1.0925484305920792
#define C21 -1.0925484305920792
#define C22 0.31539156525252005
#define C23 -1.0925484305920792
#define C24 0.5462742152960396
#define C30 -0.5900435899266435
#define C31 2.890611442640554
#define C32 -0.4570457994644658
#define C33 0.3731763325901154
#define C34 -0.4570457994644658
#define C35 1.445305721320277
#define C36 -0.5900435899266435

// ---------------------------------------------------------------------------------------------------------------
// Discrete decisions (radius, tile rectangles, support box) use explicitly rounded float operations so the compiler
// cannot fuse them into FMAs: they must round exactly as the C# code does, or a Gaussian could change tiles.

__device__ __forceinline__ int radius_of(float a, float b, float c)
{
    float det = __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, b));
    if (det == 0.f || !isfinite(det)) return 0;
    float mid = __fmul_rn(0.5f, __fadd_rn(a, c));
    float disc = sqrtf(fmaxf(0.1f, __fsub_rn(__fmul_rn(mid, mid), det)));
    float l1 = __fadd_rn(mid, disc), l2 = __fsub_rn(mid, disc);
    return (int)ceilf(__fmul_rn(3.f, sqrtf(fmaxf(l1, l2))));
}

__device__ __forceinline__ int clamp_tile(float v, int max)
{
    if (!(v > 0.f)) return 0; // also NaN
    return v >= (float)max ? max : (int)v;
}

// graphdeco's getRect on its integer-centred pixel coordinates (ours minus 0.5): tiles [x0, x1) x [y0, y1).
__device__ __forceinline__ int4 tile_rect(float u, float v, int r, int tilesX, int tilesY)
{
    float px = __fsub_rn(u, 0.5f), py = __fsub_rn(v, 0.5f), rf = (float)r;
    return make_int4(clamp_tile(__fdiv_rn(__fsub_rn(px, rf), (float)TILE), tilesX),
                     clamp_tile(__fdiv_rn(__fsub_rn(py, rf), (float)TILE), tilesY),
                     clamp_tile(__fdiv_rn(__fadd_rn(__fadd_rn(px, rf), (float)(TILE - 1)), (float)TILE), tilesX),
                     clamp_tile(__fdiv_rn(__fadd_rn(__fadd_rn(py, rf), (float)(TILE - 1)), (float)TILE), tilesY));
}

// Tiles with a pixel centre in the box |x - u| <= hx, |y - v| <= hy (TileBinning.SupportRect).
__device__ __forceinline__ int4 support_rect(float u, float v, float hx, float hy, int tilesX, int tilesY)
{
    if (!(hx >= 0.f) || !(hy >= 0.f)) return make_int4(0, 0, 0, 0);
    float i0 = ceilf(__fsub_rn(__fsub_rn(u, hx), 0.5f)), i1 = floorf(__fsub_rn(__fadd_rn(u, hx), 0.5f));
    float j0 = ceilf(__fsub_rn(__fsub_rn(v, hy), 0.5f)), j1 = floorf(__fsub_rn(__fadd_rn(v, hy), 0.5f));
    if (!(i0 <= i1) || !(j0 <= j1)) return make_int4(0, 0, 0, 0);
    return make_int4(clamp_tile(floorf(__fdiv_rn(i0, (float)TILE)), tilesX), clamp_tile(floorf(__fdiv_rn(j0, (float)TILE)), tilesY),
                     clamp_tile(__fadd_rn(floorf(__fdiv_rn(i1, (float)TILE)), 1.f), tilesX),
                     clamp_tile(__fadd_rn(floorf(__fdiv_rn(j1, (float)TILE)), 1.f), tilesY));
}

// Half-widths of the box outside which o exp(power) < 1/255 (TileRasterizer.CullEllipse's xMax, yMax); -1 = nowhere.
__device__ __forceinline__ float2 support_box(float a, float b, float c, float o)
{
    float t = __fmul_rn(2.f, logf(__fmul_rn(255.f, o)));
    t = __fadd_rn(t, __fadd_rn(CULL_SLACK, __fmul_rn(1e-3f, fabsf(t))));
    if (!(t >= 0.f)) return make_float2(-1.f, -1.f);
    float det = __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, b));
    if (!(a > 0.f) || !(det > 0.f) || !isfinite(det)) return make_float2(__int_as_float(0x7f800000), __int_as_float(0x7f800000));
    float yMax = __fadd_rn(sqrtf(__fdiv_rn(__fmul_rn(t, a), det)), CULL_SLACK_PX);
    float xMax = __fadd_rn(sqrtf(__fdiv_rn(__fmul_rn(t, c), det)), CULL_SLACK_PX);
    return make_float2(xMax, yMax);
}

// ---------------------------------------------------------------------------------------------------------------
// Projection.

struct Cov
{
    double qn, qw, qx, qy, qz;
    double r[9];
    double s0, s1, s2;
    double txz, tyz;
    double t00, t01, t02, t10, t11, t12; // J W
    double v00, v01, v02, v10, v11, v12; // J W R
    double A, B, C;                      // low-passed 2D covariance
};

__device__ __forceinline__ void covariance(const Cam& k, double x, double y, double z, const float* q, const float* ls, Cov& v)
{
    double qw = q[0], qx = q[1], qy = q[2], qz = q[3];
    v.qn = sqrt(qw * qw + qx * qx + qy * qy + qz * qz);
    double inv = 1.0 / v.qn;
    double w = v.qw = qw * inv, xq = v.qx = qx * inv, yq = v.qy = qy * inv, zq = v.qz = qz * inv;
    v.r[0] = 1 - 2 * (yq * yq + zq * zq); v.r[1] = 2 * (xq * yq - w * zq); v.r[2] = 2 * (xq * zq + w * yq);
    v.r[3] = 2 * (xq * yq + w * zq); v.r[4] = 1 - 2 * (xq * xq + zq * zq); v.r[5] = 2 * (yq * zq - w * xq);
    v.r[6] = 2 * (xq * zq - w * yq); v.r[7] = 2 * (yq * zq + w * xq); v.r[8] = 1 - 2 * (xq * xq + yq * yq);
    v.s0 = exp((double)ls[0]); v.s1 = exp((double)ls[1]); v.s2 = exp((double)ls[2]);
    double iz = 1.0 / z;
    v.txz = fmin(fmax(x * iz, -k.limx), k.limx); v.tyz = fmin(fmax(y * iz, -k.limy), k.limy);
    double j00 = k.fx * iz, j02 = -k.fx * v.txz * iz, j11 = k.fy * iz, j12 = -k.fy * v.tyz * iz;
    v.t00 = j00 * k.w[0] + j02 * k.w[6]; v.t01 = j00 * k.w[1] + j02 * k.w[7]; v.t02 = j00 * k.w[2] + j02 * k.w[8];
    v.t10 = j11 * k.w[3] + j12 * k.w[6]; v.t11 = j11 * k.w[4] + j12 * k.w[7]; v.t12 = j11 * k.w[5] + j12 * k.w[8];
    v.v00 = v.t00 * v.r[0] + v.t01 * v.r[3] + v.t02 * v.r[6]; v.v01 = v.t00 * v.r[1] + v.t01 * v.r[4] + v.t02 * v.r[7];
    v.v02 = v.t00 * v.r[2] + v.t01 * v.r[5] + v.t02 * v.r[8];
    v.v10 = v.t10 * v.r[0] + v.t11 * v.r[3] + v.t12 * v.r[6]; v.v11 = v.t10 * v.r[1] + v.t11 * v.r[4] + v.t12 * v.r[7];
    v.v12 = v.t10 * v.r[2] + v.t11 * v.r[5] + v.t12 * v.r[8];
    double u00 = v.v00 * v.s0, u01 = v.v01 * v.s1, u02 = v.v02 * v.s2, u10 = v.v10 * v.s0, u11 = v.v11 * v.s1, u12 = v.v12 * v.s2;
    v.A = u00 * u00 + u01 * u01 + u02 * u02 + LOW_PASS;
    v.B = u00 * u10 + u01 * u11 + u02 * u12;
    v.C = u10 * u10 + u11 * u11 + u12 * u12 + LOW_PASS;
}

__device__ __forceinline__ int sh_basis(int degree, double x, double y, double z, double* b)
{
    b[0] = SH_C0;
    if (degree < 1) return 1;
    b[1] = -SH_C1 * y; b[2] = SH_C1 * z; b[3] = -SH_C1 * x;
    if (degree < 2) return 4;
    double xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
    b[4] = C20 * xy; b[5] = C21 * yz; b[6] = C22 * (2 * zz - xx - yy); b[7] = C23 * xz; b[8] = C24 * (xx - yy);
    if (degree < 3) return 9;
    b[9] = C30 * y * (3 * xx - yy); b[10] = C31 * xy * z; b[11] = C32 * y * (4 * zz - xx - yy);
    b[12] = C33 * z * (2 * zz - 3 * xx - 3 * yy); b[13] = C34 * x * (4 * zz - xx - yy); b[14] = C35 * z * (xx - yy);
    b[15] = C36 * x * (xx - 3 * yy);
    return 16;
}

// sum_b basis[b] coef[b] over the first kk SH coefficients, per colour channel (float, as the CPU's ShDot). Fully
// unrolled with a break, so basis[] is indexed by constants and stays in registers.
__device__ __forceinline__ float3 sh_dot(const float* coef, const double* basis, int kk)
{
    float s0 = 0.f, s1 = 0.f, s2 = 0.f;
#pragma unroll
    for (int b = 0; b < 16; b++)
    {
        if (b >= kk) break;
        float bb = (float)basis[b];
        s0 = fmaf(bb, coef[3 * b], s0); s1 = fmaf(bb, coef[3 * b + 1], s1); s2 = fmaf(bb, coef[3 * b + 2], s2);
    }
    return make_float3(s0, s1, s2);
}

// One thread per Gaussian. Inputs: means [N,3], logScales [N,3], quats [N,4], opac [N] (logits), sh [N,K,3].
// Outputs: mean2d [N,2], conic [N,3], opacity [N], colour [N,3], depth [N], radii [N] (0 = culled or in no tile),
// rect [N,4] (tiles x0, y0, x1, y1 the Gaussian is binned into), pairs [N] ((x1-x0)(y1-y0)).
extern "C" __global__ void __launch_bounds__(256) project_forward(const Cam k, const int n,
    const float* __restrict__ means, const float* __restrict__ logScales, const float* __restrict__ quats,
    const float* __restrict__ opac, const float* __restrict__ sh,
    float* __restrict__ mean2d, float* __restrict__ conic, float* __restrict__ opacity, float* __restrict__ colour,
    float* __restrict__ depth, int* __restrict__ radii, int4* __restrict__ rect, int* __restrict__ pairs)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    double mx = means[3 * i], my = means[3 * i + 1], mz = means[3 * i + 2];
    double x = k.w[0] * mx + k.w[1] * my + k.w[2] * mz + k.t[0];
    double y = k.w[3] * mx + k.w[4] * my + k.w[5] * mz + k.t[1];
    double zr = k.w[6] * mx + k.w[7] * my + k.w[8] * mz + k.t[2];
    bool valid = zr > k.near_plane;
    double z = valid ? zr : 1.0;
    double iz = 1.0 / z;
    float u = (float)(k.fx * x * iz + k.cx), v = (float)(k.fy * y * iz + k.cy);
    mean2d[2 * i] = u; mean2d[2 * i + 1] = v;
    depth[i] = (float)z;
    float op = (float)(1.0 / (1.0 + exp(-(double)opac[i])));
    opacity[i] = op;
    if (!valid)
    {
        conic[3 * i] = conic[3 * i + 1] = conic[3 * i + 2] = 0.f;
        colour[3 * i] = colour[3 * i + 1] = colour[3 * i + 2] = 0.f;
        radii[i] = 0; rect[i] = make_int4(0, 0, 0, 0); pairs[i] = 0;
        return;
    }
    Cov c;
    covariance(k, x, y, z, quats + 4 * i, logScales + 3 * i, c);
    double idet = 1.0 / (c.A * c.C - c.B * c.B);
    float ca = (float)(c.C * idet), cb = (float)(-c.B * idet), cc = (float)(c.A * idet);
    conic[3 * i] = ca; conic[3 * i + 1] = cb; conic[3 * i + 2] = cc;
    int r = radius_of((float)c.A, (float)c.B, (float)c.C);

    double dx = mx - k.eye[0], dy = my - k.eye[1], dz = mz - k.eye[2];
    double idn = 1.0 / sqrt(dx * dx + dy * dy + dz * dz);
    double basis[16];
    int kk = sh_basis(k.degree, dx * idn, dy * idn, dz * idn, basis);
    float3 sc = sh_dot(sh + (long long)i * k.K * 3, basis, kk);
    colour[3 * i] = fmaxf(sc.x + 0.5f, 0.f); colour[3 * i + 1] = fmaxf(sc.y + 0.5f, 0.f); colour[3 * i + 2] = fmaxf(sc.z + 0.5f, 0.f);

    int4 rc = make_int4(0, 0, 0, 0);
    if (r > 0)
    {
        rc = tile_rect(u, v, r, k.tilesX, k.tilesY);
        if (rc.z <= rc.x || rc.w <= rc.y) { rc = make_int4(0, 0, 0, 0); r = 0; }
        else if (k.binBySupport)
        {
            float2 box = support_box(ca, cb, cc, op);
            int4 s = support_rect(u, v, box.x, box.y, k.tilesX, k.tilesY);
            rc.x = max(rc.x, s.x); rc.y = max(rc.y, s.y); rc.z = min(rc.z, s.z); rc.w = min(rc.w, s.w);
            if (rc.z <= rc.x || rc.w <= rc.y) rc = make_int4(0, 0, 0, 0); // visible, but blends in no tile
        }
    }
    radii[i] = r;
    rect[i] = rc;
    pairs[i] = (rc.z - rc.x) * (rc.w - rc.y);
}

// One thread per rank r of the depth order (order [N] int64: Gaussian indices sorted by depth, stable): Gaussian
// g = order[r] writes its pairs, row-major over its rectangle, at [incl[r] - pairs, incl[r]) (incl: inclusive scan of
// the pair counts in depth order, int64; the host has checked the total fits an int). key = tile index; value = g. A
// stable sort by tile then leaves each tile's list in (depth, index) order, graphdeco's 64-bit (tile, depth) key order,
// with two 32-bit sorts instead of one 64-bit one.
extern "C" __global__ void __launch_bounds__(256) emit_pairs(const int n, const int tilesX, const long long* __restrict__ order,
    const int4* __restrict__ rect, const long long* __restrict__ incl, int* __restrict__ keys, int* __restrict__ vals)
{
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n) return;
    const int g = (int)order[r];
    int4 rc = rect[g];
    int count = (rc.z - rc.x) * (rc.w - rc.y);
    if (count == 0) return;
    int at = (int)(incl[r] - count);
    for (int ty = rc.y; ty < rc.w; ty++)
        for (int tx = rc.x; tx < rc.z; tx++)
        {
            keys[at] = ty * tilesX + tx;
            vals[at] = g;
            at++;
        }
}

// One thread per sorted pair: the Gaussian of each list entry, and each tile's [start, end) in the sorted list
// (ranges zeroed before: empty tiles stay [0, 0)).
extern "C" __global__ void __launch_bounds__(256) tile_ranges(const int p, const int* __restrict__ sortedTiles,
    const long long* __restrict__ perm, const int* __restrict__ vals, int2* __restrict__ ranges, int* __restrict__ ids)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= p) return;
    ids[i] = vals[perm[i]];
    int tile = sortedTiles[i];
    if (i == 0 || sortedTiles[i - 1] != tile) ranges[tile].x = i;
    if (i == p - 1 || sortedTiles[i + 1] != tile) ranges[tile].y = i + 1;
}

// ---------------------------------------------------------------------------------------------------------------
// Blending. One block per 16x16 tile, one thread per pixel; the tile's list is walked in batches of BLOCK Gaussians
// that the block stages in shared memory (all threads then read the same entry: a broadcast), features included, so
// the D channels blend from shared memory into registers.

struct Staged
{
    float2 xy[BLOCK];
    float4 coo[BLOCK]; // conic a, b, c, opacity
    float4 cd[BLOCK];  // colour r, g, b, depth
};

// Outputs: rgb [H,W,3], feat [H,W,D], depthImg [H,W], alpha [H,W], finalT [H,W], nContrib [H,W] (1 + list position of the
// last blended Gaussian, 0 if none).
extern "C" __global__ void __launch_bounds__(BLOCK) blend_forward(const int width, const int height, const int tilesX,
    const int2* __restrict__ ranges, const int* __restrict__ ids,
    const float* __restrict__ mean2d, const float* __restrict__ conic, const float* __restrict__ opacity,
    const float* __restrict__ colour, const float* __restrict__ depth, const float* __restrict__ feat,
    const float bg0, const float bg1, const float bg2,
    float* __restrict__ outRgb, float* __restrict__ outFeat, float* __restrict__ outDepth, float* __restrict__ outAlpha,
    float* __restrict__ finalT, int* __restrict__ nContrib)
{
    __shared__ Staged s;
    extern __shared__ float sFeat[]; // [BLOCK, D]
    const int tid = threadIdx.x;
    const int px = blockIdx.x * TILE + (tid % TILE), py = blockIdx.y * TILE + (tid / TILE);
    const bool inside = px < width && py < height;
    const int pix = py * width + px;
    const float fx = px + 0.5f, fy = py + 0.5f;
    const int2 range = ranges[blockIdx.y * tilesX + blockIdx.x];
    const int total = range.y - range.x;
    bool done = !inside;
    float T = 1.f, r = 0.f, gr = 0.f, b = 0.f, z = 0.f;
    float acc[CH1];
#pragma unroll
    for (int c = 0; c < CH1; c++) acc[c] = 0.f;
    int last = 0;
    for (int start = 0; start < total; start += BLOCK)
    {
        if (__syncthreads_count(done) == BLOCK) break;
        int at = start + tid;
        if (at < total)
        {
            int g = ids[range.x + at];
            s.xy[tid] = make_float2(mean2d[2 * g], mean2d[2 * g + 1]);
            s.coo[tid] = make_float4(conic[3 * g], conic[3 * g + 1], conic[3 * g + 2], opacity[g]);
            s.cd[tid] = make_float4(colour[3 * g], colour[3 * g + 1], colour[3 * g + 2], depth[g]);
#if CHANNELS > 0
#pragma unroll
            for (int c = 0; c < CHANNELS; c++) sFeat[tid * CHANNELS + c] = feat[(long long)g * CHANNELS + c];
#endif
        }
        __syncthreads();
        const int m = min(BLOCK, total - start);
        for (int j = 0; j < m && !done; j++)
        {
            float2 xy = s.xy[j];
            float4 co = s.coo[j];
            float dx = xy.x - fx, dy = xy.y - fy;
            float power = -0.5f * (co.x * dx * dx + co.z * dy * dy) - co.y * dx * dy;
            if (power > 0.f) continue;
            float alpha = fminf(MAX_ALPHA, co.w * expf(power));
            if (alpha < MIN_ALPHA) continue;
            float testT = T * (1.f - alpha);
            if (testT < MIN_T) { done = true; break; }
            float w = alpha * T;
            float4 cd = s.cd[j];
            r += w * cd.x; gr += w * cd.y; b += w * cd.z; z += w * cd.w;
#if CHANNELS > 0
#pragma unroll
            for (int c = 0; c < CHANNELS; c++) acc[c] += w * sFeat[j * CHANNELS + c];
#endif
            T = testT;
            last = start + j + 1;
        }
    }
    if (!inside) return;
    finalT[pix] = T;
    nContrib[pix] = last;
    outRgb[3 * pix] = r + T * bg0; outRgb[3 * pix + 1] = gr + T * bg1; outRgb[3 * pix + 2] = b + T * bg2;
    outDepth[pix] = z;
    outAlpha[pix] = 1.f - T;
#if CHANNELS > 0
#pragma unroll
    for (int c = 0; c < CHANNELS; c++) outFeat[(long long)pix * CHANNELS + c] = acc[c];
#endif
}

// The warp's sums of 32 values at once, sum q left on lane q: a butterfly reduce-scatter. At each of the 5 levels a lane
// keeps the half of its values its lane bit selects and adds its partner's copies of them, so 16 + 8 + 4 + 2 + 1 = 31
// shuffles sum 32 values, where a butterfly sum per value takes 5 each (110 for the 22 values of D 12), and then up to 32
// lanes add their sums to 32 addresses in one atomic instruction instead of lane 0 issuing one per value.
template <int OFF>
__device__ __forceinline__ void reduce_scatter_level(float (&v)[32], const int lane)
{
    const bool upper = (lane & OFF) != 0;
#pragma unroll
    for (int i = 0; i < OFF; i++)
    {
        const float send = upper ? v[i] : v[i + OFF];
        const float keep = upper ? v[i + OFF] : v[i];
        v[i] = keep + __shfl_xor_sync(FULL_MASK, send, OFF);
    }
}

__device__ __forceinline__ float warp_reduce_scatter(float (&v)[32], const int lane)
{
    // The levels as constants, so every index is known at compile time and v stays in registers.
    reduce_scatter_level<16>(v, lane);
    reduce_scatter_level<8>(v, lane);
    reduce_scatter_level<4>(v, lane);
    reduce_scatter_level<2>(v, lane);
    reduce_scatter_level<1>(v, lane);
    return v[0];
}

// Backward of blend_forward (graphdeco's renderCUDA backward): per pixel, walk the blended Gaussians back to front,
// recovering T by division; each Gaussian's per-pixel gradients (GEO image values, then FS feature values) are summed
// over the warp, 32 at a time by warp_reduce_scatter, and added to its rows with one atomic instruction per 32 values. dRgb [H,W,3], dFeat [H,W,D], dDepth [H,W], dAlpha [H,W] (any may be null: no loss there).
// gradGeo [N,10] and gradFeat [N,FS] are zeroed before.
extern "C" __global__ void __launch_bounds__(BLOCK) blend_backward(const int width, const int height, const int tilesX,
    const int2* __restrict__ ranges, const int* __restrict__ ids,
    const float* __restrict__ mean2d, const float* __restrict__ conic, const float* __restrict__ opacity,
    const float* __restrict__ colour, const float* __restrict__ depth, const float* __restrict__ feat,
    const float bg0, const float bg1, const float bg2,
    const float* __restrict__ finalT, const int* __restrict__ nContrib,
    const float* __restrict__ dRgb, const float* __restrict__ dFeat, const float* __restrict__ dDepth, const float* __restrict__ dAlpha,
    float* __restrict__ gradGeo, float* __restrict__ gradFeat)
{
    __shared__ Staged s;
    __shared__ int sIds[BLOCK];
    __shared__ int sMaxLast;
    extern __shared__ float sFeat[]; // [BLOCK, D] (staged only with FEAT_GEO: the plain feature gradient needs no features)
    const int tid = threadIdx.x, lane = tid & 31;
    const int px = blockIdx.x * TILE + (tid % TILE), py = blockIdx.y * TILE + (tid / TILE);
    const bool inside = px < width && py < height;
    const int pix = inside ? py * width + px : 0;
    const float fx = px + 0.5f, fy = py + 0.5f;
    const int2 range = ranges[blockIdx.y * tilesX + blockIdx.x];
    const int last = inside ? nContrib[pix] : 0;
    if (tid == 0) sMaxLast = 0;
    __syncthreads();
    if (last > 0) atomicMax(&sMaxLast, last);
    __syncthreads();
    const int todo = sMaxLast; // entries past every pixel's last contributor blended nowhere
    if (todo == 0) return;
    // This warp's own last contributor (gsplat's warp_bin_final): the entries behind it blend none of its pixels, so the
    // warp skips them, together (the test is the same on every lane), instead of evaluating each up to the block's.
    int warpLast = last;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) warpLast = max(warpLast, __shfl_xor_sync(FULL_MASK, warpLast, o));

    const float fT = inside ? finalT[pix] : 1.f;
    float T = fT;
    float g0 = 0.f, g1 = 0.f, g2 = 0.f, g3 = 0.f, g4 = 0.f, bgDot = 0.f;
    if (inside)
    {
        if (dRgb) { g0 = dRgb[3 * pix]; g1 = dRgb[3 * pix + 1]; g2 = dRgb[3 * pix + 2]; bgDot = bg0 * g0 + bg1 * g1 + bg2 * g2; }
        if (dDepth) g3 = dDepth[pix];
        if (dAlpha) g4 = dAlpha[pix];
    }
    const bool geo = dRgb != nullptr || dDepth != nullptr || dAlpha != nullptr;
    const bool feats = CHANNELS > 0 && dFeat != nullptr;
    float dv[CH1];
#pragma unroll
    for (int c = 0; c < CH1; c++) dv[c] = (feats && inside) ? dFeat[(long long)pix * CHANNELS + c] : 0.f;
#if FEAT_GEO
    float accF[CH1], lastF[CH1];
#pragma unroll
    for (int c = 0; c < CH1; c++) { accF[c] = 0.f; lastF[c] = 0.f; }
#endif
    float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f, a4 = 0.f, l0 = 0.f, l1 = 0.f, l2 = 0.f, l3 = 0.f, lastAlpha = 0.f;

    for (int done = 0; done < todo; done += BLOCK)
    {
        __syncthreads(); // the previous batch is consumed
        // Batch entries in descending list position: slot j holds position todo - 1 - (done + j).
        int at = todo - 1 - (done + tid);
        if (at >= 0)
        {
            int g = ids[range.x + at];
            sIds[tid] = g;
            s.xy[tid] = make_float2(mean2d[2 * g], mean2d[2 * g + 1]);
            s.coo[tid] = make_float4(conic[3 * g], conic[3 * g + 1], conic[3 * g + 2], opacity[g]);
            s.cd[tid] = make_float4(colour[3 * g], colour[3 * g + 1], colour[3 * g + 2], depth[g]);
#if FEAT_GEO && CHANNELS > 0
#pragma unroll
            for (int c = 0; c < CHANNELS; c++) sFeat[tid * CHANNELS + c] = feat[(long long)g * CHANNELS + c];
#endif
        }
        __syncthreads();
        const int m = min(BLOCK, todo - done);
        for (int j = 0; j < m; j++)
        {
            const int pos = todo - 1 - (done + j);
            if (pos >= warpLast) continue; // warp-uniform: no lane of this warp blends this entry
            bool valid = pos < last;
            float2 xy = s.xy[j];
            float4 co = s.coo[j];
            float dx = xy.x - fx, dy = xy.y - fy;
            float power = -0.5f * (co.x * dx * dx + co.z * dy * dy) - co.y * dx * dy;
            valid = valid && power <= 0.f;
            float G = expf(power);
            float raw = co.w * G;
            float alpha = fminf(MAX_ALPHA, raw);
            valid = valid && alpha >= MIN_ALPHA;
            // Per-lane gradient contributions (zero when this pixel does not blend entry j).
            float gv[GEO];
#pragma unroll
            for (int q = 0; q < GEO; q++) gv[q] = 0.f;
            float fv[FS > 0 ? FS : 1];
#pragma unroll
            for (int q = 0; q < (FS > 0 ? FS : 1); q++) fv[q] = 0.f;
            if (valid)
            {
                float oneMinus = 1.f - alpha;
                T = T / oneMinus;
                float w = alpha * T;
                bool clamped = raw > MAX_ALPHA;
                float4 cd = s.cd[j];
                if (geo)
                {
                    gv[6] = w * g0; gv[7] = w * g1; gv[8] = w * g2; gv[9] = w * g3;
                    float keep = 1.f - lastAlpha;
                    a0 = lastAlpha * l0 + keep * a0; a1 = lastAlpha * l1 + keep * a1; a2 = lastAlpha * l2 + keep * a2;
                    a3 = lastAlpha * l3 + keep * a3; a4 = lastAlpha + keep * a4;
                    l0 = cd.x; l1 = cd.y; l2 = cd.z; l3 = cd.w;
                    float dAl = ((cd.x - a0) * g0 + (cd.y - a1) * g1 + (cd.z - a2) * g2 + (cd.w - a3) * g3 + (1.f - a4) * g4) * T;
                    dAl += -fT / oneMinus * bgDot;
                    if (!clamped)
                    {
                        float dPower = dAl * co.w * G;
                        gv[0] = -dPower * (co.x * dx + co.y * dy);
                        gv[1] = -dPower * (co.z * dy + co.y * dx);
                        gv[2] = -0.5f * dPower * dx * dx;
                        gv[3] = -dPower * dx * dy;
                        gv[4] = -0.5f * dPower * dy * dy;
                        gv[5] = dAl * G;
                    }
                }
#if CHANNELS > 0
                if (feats)
                {
#pragma unroll
                    for (int c = 0; c < CHANNELS; c++) fv[c] = w * dv[c];
#if FEAT_GEO
                    float keep = 1.f - lastAlpha, dAlF = 0.f;
#pragma unroll
                    for (int c = 0; c < CHANNELS; c++)
                    {
                        float fj = sFeat[j * CHANNELS + c];
                        accF[c] = lastAlpha * lastF[c] + keep * accF[c];
                        lastF[c] = fj;
                        dAlF += (fj - accF[c]) * dv[c];
                    }
                    if (!clamped)
                    {
                        float dAl = dAlF * T;
                        float dPower = dAl * co.w * G;
                        fv[CHANNELS] = -dPower * (co.x * dx + co.y * dy);
                        fv[CHANNELS + 1] = -dPower * (co.z * dy + co.y * dx);
                        fv[CHANNELS + 2] = -0.5f * dPower * dx * dx;
                        fv[CHANNELS + 3] = -dPower * dx * dy;
                        fv[CHANNELS + 4] = -0.5f * dPower * dy * dy;
                        fv[CHANNELS + 5] = dAl * G;
                    }
#endif
                }
#endif
                lastAlpha = alpha;
            }
            // Every lane reaches here for every j (uniform loop), so the warp can vote and reduce.
            if (__any_sync(FULL_MASK, valid))
            {
                const int g = sIds[j];
                // Value k of the GEO + FS: gv[k] for k < GEO, else fv[k - GEO]; 32 at a time (one chunk up to D 22).
#pragma unroll
                for (int base = 0; base < GEO + FS; base += 32)
                {
                    float r[32];
#pragma unroll
                    for (int i = 0; i < 32; i++)
                    {
                        const int k = base + i;
                        r[i] = k < GEO ? gv[k < GEO ? k : 0] : k < GEO + FS ? fv[k >= GEO && k < GEO + FS ? k - GEO : 0] : 0.f;
                    }
                    const float v = warp_reduce_scatter(r, lane);
                    const int k = base + lane;
                    if (v != 0.f)
                    {
                        if (k < GEO) { if (geo) atomicAdd(gradGeo + (long long)g * GEO + k, v); }
                        else if (k < GEO + FS && feats) atomicAdd(gradFeat + (long long)g * FS + (k - GEO), v);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Backward of project_forward (FastProjection.BackwardOne): one thread per Gaussian; writes every element of its rows.
// gradGeo [N,10] (image gradients of mean2d, conic, opacity, colour, depth); gradFeat [N,fs] or null, whose columns
// D..D+5 (with FEAT_GEO) add to mean2d, conic and opacity. Outputs dMeans [N,3], dScales [N,3], dQuats [N,4], dOpac [N],
// dSh [N,K,3].
extern "C" __global__ void __launch_bounds__(256) project_backward(const Cam k, const int n,
    const float* __restrict__ means, const float* __restrict__ logScales, const float* __restrict__ quats,
    const float* __restrict__ opac, const float* __restrict__ sh, const int* __restrict__ radii,
    const float* __restrict__ gradGeo, const float* __restrict__ gradFeat,
    float* __restrict__ dMeans, float* __restrict__ dScales, float* __restrict__ dQuats, float* __restrict__ dOpac,
    float* __restrict__ dSh)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float* dcoef = dSh + (long long)i * k.K * 3;
    if (radii[i] == 0)
    {
        dScales[3 * i] = dScales[3 * i + 1] = dScales[3 * i + 2] = 0.f;
        dQuats[4 * i] = dQuats[4 * i + 1] = dQuats[4 * i + 2] = dQuats[4 * i + 3] = 0.f;
        for (int b = 0; b < 3 * k.K; b++) dcoef[b] = 0.f;
        dMeans[3 * i] = dMeans[3 * i + 1] = dMeans[3 * i + 2] = 0.f;
        dOpac[i] = 0.f;
        return;
    }
    const float* gg = gradGeo + (long long)i * GEO;
    double gMu = gg[0], gMv = gg[1], gA = gg[2], gB = gg[3], gC = gg[4], gO = gg[5];
#if FEAT_GEO && CHANNELS > 0
    if (gradFeat)
    {
        const float* gf = gradFeat + (long long)i * FS + CHANNELS;
        gMu = (double)(gg[0] + gf[0]); gMv = (double)(gg[1] + gf[1]);
        gA = (double)(gg[2] + gf[2]); gB = (double)(gg[3] + gf[3]); gC = (double)(gg[4] + gf[4]); gO = (double)(gg[5] + gf[5]);
    }
#endif
    double sig = 1.0 / (1.0 + exp(-(double)opac[i]));
    dOpac[i] = (float)((float)gO * sig * (1 - sig));

    double mx = means[3 * i], my = means[3 * i + 1], mz = means[3 * i + 2];
    double x = k.w[0] * mx + k.w[1] * my + k.w[2] * mz + k.t[0];
    double y = k.w[3] * mx + k.w[4] * my + k.w[5] * mz + k.t[1];
    double z = k.w[6] * mx + k.w[7] * my + k.w[8] * mz + k.t[2];
    double iz = 1.0 / z, iz2 = iz * iz;
    double gx = gMu * k.fx * iz, gy = gMv * k.fy * iz, gz = -(gMu * k.fx * x + gMv * k.fy * y) * iz2 + (double)gg[9];
    double gmx = 0, gmy = 0, gmz = 0;
    {
        Cov v;
        covariance(k, x, y, z, quats + 4 * i, logScales + 3 * i, v);
        double rx = x * iz, ry = y * iz;
        bool inX = rx >= -k.limx && rx <= k.limx, inY = ry >= -k.limy && ry <= k.limy;
        double ca = v.A, cb = v.B, cc = v.C;
        double idet = 1.0 / (ca * cc - cb * cb), id2 = idet * idet;
        double dca = gA * (-cc * cc * id2) + gB * (cb * cc * id2) + gC * (idet - ca * cc * id2);
        double dcb = gA * (2 * cb * cc * id2) + gB * (-idet - 2 * cb * cb * id2) + gC * (2 * ca * cb * id2);
        double dcc = gA * (idet - cc * ca * id2) + gB * (cb * ca * id2) + gC * (-ca * ca * id2);
        double u00 = v.v00 * v.s0, u01 = v.v01 * v.s1, u02 = v.v02 * v.s2, u10 = v.v10 * v.s0, u11 = v.v11 * v.s1, u12 = v.v12 * v.s2;
        double du00 = 2 * dca * u00 + dcb * u10, du01 = 2 * dca * u01 + dcb * u11, du02 = 2 * dca * u02 + dcb * u12;
        double du10 = dcb * u00 + 2 * dcc * u10, du11 = dcb * u01 + 2 * dcc * u11, du12 = dcb * u02 + 2 * dcc * u12;
        double ds0 = du00 * v.v00 + du10 * v.v10, ds1 = du01 * v.v01 + du11 * v.v11, ds2 = du02 * v.v02 + du12 * v.v12;
        dScales[3 * i] = (float)(ds0 * v.s0); dScales[3 * i + 1] = (float)(ds1 * v.s1); dScales[3 * i + 2] = (float)(ds2 * v.s2);
        double dv00 = du00 * v.s0, dv01 = du01 * v.s1, dv02 = du02 * v.s2, dv10 = du10 * v.s0, dv11 = du11 * v.s1, dv12 = du12 * v.s2;
        const double* R = v.r;
        double dt00 = dv00 * R[0] + dv01 * R[1] + dv02 * R[2], dt01 = dv00 * R[3] + dv01 * R[4] + dv02 * R[5], dt02 = dv00 * R[6] + dv01 * R[7] + dv02 * R[8];
        double dt10 = dv10 * R[0] + dv11 * R[1] + dv12 * R[2], dt11 = dv10 * R[3] + dv11 * R[4] + dv12 * R[5], dt12 = dv10 * R[6] + dv11 * R[7] + dv12 * R[8];
        double dr0 = v.t00 * dv00 + v.t10 * dv10, dr1 = v.t00 * dv01 + v.t10 * dv11, dr2 = v.t00 * dv02 + v.t10 * dv12;
        double dr3 = v.t01 * dv00 + v.t11 * dv10, dr4 = v.t01 * dv01 + v.t11 * dv11, dr5 = v.t01 * dv02 + v.t11 * dv12;
        double dr6 = v.t02 * dv00 + v.t12 * dv10, dr7 = v.t02 * dv01 + v.t12 * dv11, dr8 = v.t02 * dv02 + v.t12 * dv12;
        double dj00 = dt00 * k.w[0] + dt01 * k.w[1] + dt02 * k.w[2], dj02 = dt00 * k.w[6] + dt01 * k.w[7] + dt02 * k.w[8];
        double dj11 = dt10 * k.w[3] + dt11 * k.w[4] + dt12 * k.w[5], dj12 = dt10 * k.w[6] + dt11 * k.w[7] + dt12 * k.w[8];
        gz += (-dj00 * k.fx + dj02 * k.fx * v.txz - dj11 * k.fy + dj12 * k.fy * v.tyz) * iz2;
        double dtx = -dj02 * k.fx * iz, dty = -dj12 * k.fy * iz;
        if (inX) { gx += dtx * iz; gz -= dtx * x * iz2; }
        if (inY) { gy += dty * iz; gz -= dty * y * iz2; }
        double w = v.qw, xq = v.qx, yq = v.qy, zq = v.qz;
        double dw = 2 * (-zq * dr1 + yq * dr2 + zq * dr3 - xq * dr5 - yq * dr6 + xq * dr7);
        double dxq = 2 * (yq * dr1 + zq * dr2 + yq * dr3 - 2 * xq * dr4 - w * dr5 + zq * dr6 + w * dr7 - 2 * xq * dr8);
        double dyq = 2 * (-2 * yq * dr0 + xq * dr1 + w * dr2 + xq * dr3 + zq * dr5 - w * dr6 + zq * dr7 - 2 * yq * dr8);
        double dzq = 2 * (-2 * zq * dr0 - w * dr1 + xq * dr2 + w * dr3 - 2 * zq * dr4 + yq * dr5 + xq * dr6 + yq * dr7);
        double dot = w * dw + xq * dxq + yq * dyq + zq * dzq, iqn = 1.0 / v.qn;
        dQuats[4 * i] = (float)((dw - w * dot) * iqn); dQuats[4 * i + 1] = (float)((dxq - xq * dot) * iqn);
        dQuats[4 * i + 2] = (float)((dyq - yq * dot) * iqn); dQuats[4 * i + 3] = (float)((dzq - zq * dot) * iqn);
    }
    {
        double ex = mx - k.eye[0], ey = my - k.eye[1], ez = mz - k.eye[2];
        double dn = sqrt(ex * ex + ey * ey + ez * ez), idn = 1.0 / dn;
        double x0 = ex * idn, y0 = ey * idn, z0 = ez * idn;
        double basis[16], gb[16];
        int kk = sh_basis(k.degree, x0, y0, z0, basis);
        const float* coef = sh + (long long)i * k.K * 3;
        float3 sc = sh_dot(coef, basis, kk);
        // The clamp at 0 passes gradient where it does not clamp.
        float gc0 = sc.x + 0.5f >= 0.f ? gg[6] : 0.f, gc1 = sc.y + 0.5f >= 0.f ? gg[7] : 0.f, gc2 = sc.z + 0.5f >= 0.f ? gg[8] : 0.f;
#pragma unroll
        for (int b = 0; b < 16; b++)
        {
            if (b >= kk) { gb[b] = 0.0; continue; }
            float bb = (float)basis[b];
            dcoef[3 * b] = gc0 * bb; dcoef[3 * b + 1] = gc1 * bb; dcoef[3 * b + 2] = gc2 * bb;
            gb[b] = gc0 * coef[3 * b] + gc1 * coef[3 * b + 1] + gc2 * coef[3 * b + 2];
        }
        for (int b = 3 * kk; b < 3 * k.K; b++) dcoef[b] = 0.f;
        if (kk > 1)
        {
            double ddx = -SH_C1 * gb[3], ddy = -SH_C1 * gb[1], ddz = SH_C1 * gb[2];
            if (kk > 4)
            {
                ddx += C20 * y0 * gb[4] - 2 * x0 * C22 * gb[6] + C23 * z0 * gb[7] + 2 * x0 * C24 * gb[8];
                ddy += C20 * x0 * gb[4] + C21 * z0 * gb[5] - 2 * y0 * C22 * gb[6] - 2 * y0 * C24 * gb[8];
                ddz += C21 * y0 * gb[5] + 4 * z0 * C22 * gb[6] + C23 * x0 * gb[7];
            }
            if (kk > 9)
            {
                double xx = x0 * x0, yy = y0 * y0, zz = z0 * z0;
                ddx += C30 * 6 * x0 * y0 * gb[9] + C31 * y0 * z0 * gb[10] - C32 * 2 * x0 * y0 * gb[11] - C33 * 6 * x0 * z0 * gb[12]
                     + C34 * (4 * zz - 3 * xx - yy) * gb[13] + C35 * 2 * x0 * z0 * gb[14] + C36 * (3 * xx - 3 * yy) * gb[15];
                ddy += C30 * (3 * xx - 3 * yy) * gb[9] + C31 * x0 * z0 * gb[10] + C32 * (4 * zz - xx - 3 * yy) * gb[11] - C33 * 6 * y0 * z0 * gb[12]
                     - C34 * 2 * x0 * y0 * gb[13] - C35 * 2 * y0 * z0 * gb[14] - C36 * 6 * x0 * y0 * gb[15];
                ddz += C31 * x0 * y0 * gb[10] + C32 * 8 * y0 * z0 * gb[11] + C33 * (6 * zz - 3 * xx - 3 * yy) * gb[12]
                     + C34 * 8 * x0 * z0 * gb[13] + C35 * (xx - yy) * gb[14];
            }
            double dd = x0 * ddx + y0 * ddy + z0 * ddz;
            gmx = (ddx - x0 * dd) * idn; gmy = (ddy - y0 * dd) * idn; gmz = (ddz - z0 * dd) * idn;
        }
    }
    dMeans[3 * i] = (float)(k.w[0] * gx + k.w[3] * gy + k.w[6] * gz + gmx);
    dMeans[3 * i + 1] = (float)(k.w[1] * gx + k.w[4] * gy + k.w[7] * gz + gmy);
    dMeans[3 * i + 2] = (float)(k.w[2] * gx + k.w[5] * gy + k.w[8] * gz + gmz);
}
