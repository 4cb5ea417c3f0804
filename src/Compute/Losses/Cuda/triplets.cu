// Boundary triplets drawn on the device (TripletSampler.cs): one thread per triplet, with the counter-based draws of
// the host sampler (TripletSampler.SampleHost), so the device and the host give the same triplets for one seed.
// Integer arithmetic only; keep every line here and in TripletSampler.cs in step.
//
// Triplet t: anchor = the boundary pixel at position perm(t), perm a keyed bijection of [0, b) (a 4-round Feistel
// network on the next even power of two, cycle-walked), so anchors are distinct; the pixel across its boundary is one
// of its listed neighbours; the positive is a pixel of the anchor's segment in the disc of radius r (8 attempts), else
// any other pixel of the segment (none in a one-pixel segment: the triplet is invalid); the negative is a pixel of the
// segment across in the disc (8 attempts), else the pixel across itself.

#define GOLDEN 0x9E3779B97F4A7C15ULL

__device__ __forceinline__ unsigned long long mix(unsigned long long z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Uniform in [0, n) from draw k of triplet t.
__device__ __forceinline__ int draw(unsigned long long seed, int t, int k, int n)
{
    const unsigned long long r = mix(seed + ((unsigned long long)t * 64ULL + (unsigned long long)k) * GOLDEN);
    return (int)(((r >> 32) * (unsigned long long)n) >> 32);
}

__device__ int permute(unsigned long long seed, int t, int b, int half)
{
    const unsigned long long mask = (1ULL << half) - 1ULL;
    const unsigned long long key = mix(seed ^ 0xD1B54A32D192ED03ULL);
    unsigned long long x = (unsigned long long)t;
    do
    {
        unsigned long long l = x >> half, r = x & mask;
        for (int round = 0; round < 4; round++)
        {
            const unsigned long long f = mix(key + ((unsigned long long)round << 40) + r) & mask;
            const unsigned long long nl = r;
            r = l ^ f;
            l = nl;
        }
        x = (l << half) | r;
    } while (x >= (unsigned long long)b);
    return (int)x;
}

// A pixel of segment slot `target` in the disc of radius r around the anchor (draws k0 .. k0 + 15), or -1.
__device__ int near_pixel(unsigned long long seed, int t, int k0, int anchor, int target, int exclude, int w, int h,
    int radius, const int* __restrict__ slot)
{
    if (radius == 0) return -1;
    const int cx = anchor % w, cy = anchor / w, r2 = radius * radius, span = 2 * radius + 1;
    for (int k = 0; k < 8; k++)
    {
        const int ox = draw(seed, t, k0 + 2 * k, span) - radius, oy = draw(seed, t, k0 + 2 * k + 1, span) - radius;
        if (ox * ox + oy * oy > r2) continue;
        const int x = cx + ox, y = cy + oy;
        if (x < 0 || y < 0 || x >= w || y >= h) continue;
        const int q = y * w + x;
        if (q != exclude && slot[q] == target) return q;
    }
    return -1;
}

// idx: [3 * take] int64, anchors then positives then negatives; valid: [take], 1 or 0.
extern "C" __global__ void __launch_bounds__(256) sample_triplets(const int take, const int b, const int w, const int h,
    const int radius, const int half, const unsigned long long seed, const int* __restrict__ boundary,
    const int* __restrict__ nOff, const int* __restrict__ nPix, const int* __restrict__ slot,
    const int* __restrict__ segOff, const int* __restrict__ segPix, long long* __restrict__ idx, float* __restrict__ valid)
{
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= take) return;
    const int bi = permute(seed, t, b, half);
    const int a = boundary[bi], sa = slot[a];
    const int n0 = nOff[bi], n1 = nOff[bi + 1];
    const int across = nPix[n0 + draw(seed, t, 0, n1 - n0)];
    const int sb = slot[across];
    int ok = 1;
    int p = near_pixel(seed, t, 1, a, sa, a, w, h, radius, slot);
    if (p < 0)
    {
        const int s0 = segOff[sa], count = segOff[sa + 1] - s0;
        if (count < 2) { ok = 0; p = a; }
        else
        {
            p = segPix[s0 + draw(seed, t, 17, count - 1)];
            if (p == a) p = segPix[s0 + count - 1]; // uniform over the segment's other pixels
        }
    }
    int n = near_pixel(seed, t, 18, a, sb, -1, w, h, radius, slot);
    if (n < 0) n = across;
    idx[t] = a;
    idx[take + t] = p;
    idx[2 * take + t] = n;
    valid[t] = ok ? 1.f : 0.f;
}
