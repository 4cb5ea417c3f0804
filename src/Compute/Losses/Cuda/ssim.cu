// Fused SSIM (FusedSsim.cs): graphdeco's ssim on [H,W,C] float images in two launches instead of the ~40 TorchSharp
// operations (and as many autograd nodes) of the conv2d chain in RenderLoss.Ssim. The same definition: an 11x11 Gaussian
// window (sigma 1.5, its 1-D taps in GAUSS from the host), zero padding, C1 = 0.01^2, C2 = 0.03^2, SSIM averaged over
// every pixel and channel. One thread per (pixel, channel); a block of 256 threads is a 16x16 tile of one channel
// (grid: tiles across, tiles down x channels) and stages the tile plus the window's 5-pixel halo in shared memory.
//
// With mu1, mu2 the windowed means of x and y, s1 = E[x^2] - mu1^2, s2 = E[y^2] - mu2^2, s12 = E[xy] - mu1 mu2,
// N1 = 2 mu1 mu2 + C1, N2 = 2 s12 + C2, D1 = mu1^2 + mu2^2 + C1, D2 = s1 + s2 + C2, S = N1 N2 / (D1 D2), the forward
// also keeps S's derivatives by the three windowed quantities that depend on x:
//   dS/dmu1 (through s1 and s12 too) = 2 mu2 N2 / (D1 D2) - 2 mu1 S / D1 + 2 mu1 S / D2 - 2 mu2 N1 / (D1 D2)
//   dS/dE[x^2] = -S / D2,   dS/dE[xy] = 2 N1 / (D1 D2)
// and the backward is their windowed sum: dL/dx(q) = g / (H W C) * sum_p w(p - q) (dmu(p) + 2 x(q) dxx(p) + y(q) dxy(p)).

#ifndef GAUSS
#error GAUSS (the 11 window taps) must be defined by the host
#endif
#define HALF 5
#define TILE 16
#define SPAN (TILE + 2 * HALF)

__constant__ float kGauss[11] = { GAUSS };
#define C1 (0.01f * 0.01f)
#define C2 (0.03f * 0.03f)

// v[(y * w + x) * c + ch], or 0 outside the image.
__device__ __forceinline__ float at(const float* __restrict__ v, int x, int y, int w, int h, int c, int ch)
{
    return x >= 0 && y >= 0 && x < w && y < h ? v[((long long)y * w + x) * c + ch] : 0.f;
}

// Stages the block's tile of channel ch of v, with the window's halo (zero outside the image), into s.
__device__ __forceinline__ void stage(float (*s)[SPAN], const float* __restrict__ v, int x0, int y0, int w, int h, int c, int ch)
{
    for (int i = threadIdx.x; i < SPAN * SPAN; i += TILE * TILE)
        s[i / SPAN][i % SPAN] = at(v, x0 + i % SPAN, y0 + i / SPAN, w, h, c, ch);
}

extern "C" __global__ void __launch_bounds__(TILE * TILE) ssim_forward(const int w, const int h, const int c, const int tilesY,
    const float* __restrict__ x, const float* __restrict__ y, float* __restrict__ map, float* __restrict__ dMu,
    float* __restrict__ dXx, float* __restrict__ dXy)
{
    __shared__ float sx[SPAN][SPAN];
    __shared__ float sy[SPAN][SPAN];
    const int ch = blockIdx.y / tilesY, by = blockIdx.y % tilesY;
    const int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    const int x0 = blockIdx.x * TILE - HALF, y0 = by * TILE - HALF;
    stage(sx, x, x0, y0, w, h, c, ch);
    stage(sy, y, x0, y0, w, h, c, ch);
    __syncthreads();
    const int px = blockIdx.x * TILE + tx, py = by * TILE + ty;
    if (px >= w || py >= h) return;
    float mu1 = 0.f, mu2 = 0.f, exx = 0.f, eyy = 0.f, exy = 0.f;
    for (int dy = 0; dy < 11; dy++)
    {
        float r1 = 0.f, r2 = 0.f, rxx = 0.f, ryy = 0.f, rxy = 0.f;
        #pragma unroll
        for (int dx = 0; dx < 11; dx++)
        {
            const float g = kGauss[dx];
            const float a = sx[ty + dy][tx + dx], b = sy[ty + dy][tx + dx];
            r1 += g * a; r2 += g * b; rxx += g * a * a; ryy += g * b * b; rxy += g * a * b;
        }
        const float g = kGauss[dy];
        mu1 += g * r1; mu2 += g * r2; exx += g * rxx; eyy += g * ryy; exy += g * rxy;
    }
    const float s1 = exx - mu1 * mu1, s2 = eyy - mu2 * mu2, s12 = exy - mu1 * mu2;
    const float n1 = 2.f * mu1 * mu2 + C1, n2 = 2.f * s12 + C2;
    const float d1 = mu1 * mu1 + mu2 * mu2 + C1, d2 = s1 + s2 + C2;
    const float inv = 1.f / (d1 * d2);
    const float s = n1 * n2 * inv;
    const long long o = ((long long)py * w + px) * c + ch;
    map[o] = s;
    dMu[o] = 2.f * mu2 * n2 * inv - 2.f * mu1 * s / d1 + 2.f * mu1 * s / d2 - 2.f * mu2 * n1 * inv;
    dXx[o] = -s / d2;
    dXy[o] = 2.f * n1 * inv;
}

// dx = grad / (H W C) * (window * dMu + 2 x window * dXx + y window * dXy); grad is the loss's gradient by the mean SSIM,
// read on the device (no host synchronisation).
extern "C" __global__ void __launch_bounds__(TILE * TILE) ssim_backward(const int w, const int h, const int c, const int tilesY,
    const float* __restrict__ x, const float* __restrict__ y, const float* __restrict__ dMu, const float* __restrict__ dXx,
    const float* __restrict__ dXy, const float* __restrict__ grad, float* __restrict__ dx)
{
    __shared__ float sm[SPAN][SPAN];
    __shared__ float sxx[SPAN][SPAN];
    __shared__ float sxy[SPAN][SPAN];
    const int ch = blockIdx.y / tilesY, by = blockIdx.y % tilesY;
    const int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    const int x0 = blockIdx.x * TILE - HALF, y0 = by * TILE - HALF;
    stage(sm, dMu, x0, y0, w, h, c, ch);
    stage(sxx, dXx, x0, y0, w, h, c, ch);
    stage(sxy, dXy, x0, y0, w, h, c, ch);
    __syncthreads();
    const int px = blockIdx.x * TILE + tx, py = by * TILE + ty;
    if (px >= w || py >= h) return;
    // The window is symmetric: w(p - q) = w(q - p), so the sum over the p whose windows cover q is the same stencil.
    float am = 0.f, axx = 0.f, axy = 0.f;
    for (int dy = 0; dy < 11; dy++)
    {
        float rm = 0.f, rxx = 0.f, rxy = 0.f;
        #pragma unroll
        for (int dxi = 0; dxi < 11; dxi++)
        {
            const float g = kGauss[dxi];
            rm += g * sm[ty + dy][tx + dxi];
            rxx += g * sxx[ty + dy][tx + dxi];
            rxy += g * sxy[ty + dy][tx + dxi];
        }
        const float g = kGauss[dy];
        am += g * rm; axx += g * rxx; axy += g * rxy;
    }
    const long long o = ((long long)py * w + px) * c + ch;
    const float scale = grad[0] / ((float)w * (float)h * (float)c);
    dx[o] = scale * (am + 2.f * x[o] * axx + y[o] * axy);
}
