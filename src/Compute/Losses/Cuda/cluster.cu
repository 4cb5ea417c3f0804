// L_cluster's segment statistics (FusedClusterStats.cs): for P taking pixels with segment seg[p] in 0..K-1 and
// features x (float32, pre-sigmoid, row pix[p] of x, or row p when pix is null), D channels per row:
//   centroids[s] = mean over s of sigmoid(x_p)             (cluster_sums, then a division by the counts on the host side)
//   spread[s]    = sum over s of |sigmoid(x_p) - c_s|^2      (cluster_spread)
// and the gradient by x from the gradients by centroids (gC [K,D]) and spread (gS [K]); either may be null (zero):
//   dx_p = sigmoid'(x_p) (2 gS_s (sigmoid(x_p) - c_s) + gC_s / n_s)   (cluster_backward; the spread's dependence on c_s
//   sums to zero over a segment whose centroid is its mean).
// One thread per taking pixel; a warp whose 32 pixels share a segment (most warps: masks are made of large regions)
// adds its sum with one atomic per value instead of 32.

#define FULL_MASK 0xffffffffu

__device__ __forceinline__ float sigmoidf(float v) { return 1.f / (1.f + expf(-v)); }

__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// Adds v to *at for every lane that has a target; lanes sharing one target across the warp add once.
__device__ __forceinline__ void add_segment(float* at, float v, bool has, bool uniform)
{
    if (uniform)
    {
        v = warp_sum(v);
        if ((threadIdx.x & 31) == 0 && has) atomicAdd(at, v);
    }
    else if (has) atomicAdd(at, v);
}

// Every lane reaches the votes (no early return), so the warp can agree on whether it shares one segment.
__device__ __forceinline__ bool warp_uniform(int s)
{
    const int s0 = __shfl_sync(FULL_MASK, s, 0);
    return __all_sync(FULL_MASK, s == s0) != 0;
}

// sums [K,D], zeroed before.
extern "C" __global__ void __launch_bounds__(256) cluster_sums(const int p, const int d, const float* __restrict__ x,
    const long long* __restrict__ pix, const long long* __restrict__ seg, float* __restrict__ sums)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const bool has = i < p;
    const int s = has ? (int)seg[i] : -1;
    const bool uniform = warp_uniform(s);
    const long long row = has ? (pix ? pix[i] : (long long)i) : 0;
    for (int c = 0; c < d; c++)
    {
        const float v = has ? sigmoidf(x[row * d + c]) : 0.f;
        add_segment(sums + (long long)(s < 0 ? 0 : s) * d + c, v, has, uniform);
    }
}

// spread [K], zeroed before; centroids [K,D].
extern "C" __global__ void __launch_bounds__(256) cluster_spread(const int p, const int d, const float* __restrict__ x,
    const long long* __restrict__ pix, const long long* __restrict__ seg, const float* __restrict__ centroids,
    float* __restrict__ spread)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const bool has = i < p;
    const int s = has ? (int)seg[i] : -1;
    const bool uniform = warp_uniform(s);
    float q = 0.f;
    if (has)
    {
        const long long row = pix ? pix[i] : (long long)i;
        for (int c = 0; c < d; c++)
        {
            const float e = sigmoidf(x[row * d + c]) - centroids[(long long)s * d + c];
            q += e * e;
        }
    }
    add_segment(spread + (s < 0 ? 0 : s), q, has, uniform);
}

// dx [rows, D]: every taking pixel's row written (rows that take no part are zeroed before by the host).
extern "C" __global__ void __launch_bounds__(256) cluster_backward(const int p, const int d, const float* __restrict__ x,
    const long long* __restrict__ pix, const long long* __restrict__ seg, const float* __restrict__ centroids,
    const float* __restrict__ counts, const float* __restrict__ gC, const float* __restrict__ gS, float* __restrict__ dx)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= p) return;
    const int s = (int)seg[i];
    const long long row = pix ? pix[i] : (long long)i;
    const float gs = gS ? 2.f * gS[s] : 0.f;
    const float inv = 1.f / counts[s];
    for (int c = 0; c < d; c++)
    {
        const float sg = sigmoidf(x[row * d + c]);
        const float g = gs * (sg - centroids[(long long)s * d + c]) + (gC ? gC[(long long)s * d + c] * inv : 0.f);
        dx[row * d + c] = sg * (1.f - sg) * g;
    }
}
