namespace UniCLift.Compute.Losses;

using TorchSharp;
using UniCLift.Compute.Cuda;
using static TorchSharp.torch;

/// <summary>
/// Draws a step's boundary triplets (<see cref="BoundaryMiner"/>'s rules) from counter-based random numbers: every
/// draw is a hash of (seed, triplet, draw number), so a triplet does not depend on the others and the host
/// (<see cref="SampleHost"/>, C#) and a CUDA device (Losses/Cuda/triplets.cu, one thread per triplet) give the same
/// triplets for one seed. On CUDA an instance holds a view's boundary structure on the device (uploaded once) and
/// samples there, so a step neither runs the sampler on the host nor uploads its indices; the kernel is used once its
/// self-check has matched the host sampler exactly on the device (<see cref="FusedKernels"/>), and otherwise the host
/// sampler runs and its indices go up (the same triplets either way).
/// </summary>
public sealed class TripletSampler : IDisposable
{
    public const string Source = "triplets.cu";
    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    /// <summary>Rejection-sampling attempts within the radius before falling back.</summary>
    public const int Attempts = 8;

    private readonly BoundaryIndex _index;
    private readonly Device _device;
    private Tensor? _boundary, _nOff, _nPix, _slot, _segOff, _segPix;

    public TripletSampler(BoundaryIndex index, Device device)
    {
        _index = index;
        _device = device;
    }

    public BoundaryIndex Index => _index;

    /// <summary>Triplets of one step on the sampler's device: <c>Indices</c> [3T] int64 (anchors, positives, negatives),
    /// <c>Valid</c> [T] float (1 or 0; null when all are valid), T the count.</summary>
    public (Tensor Indices, Tensor? Valid, int Count) Sample(int max, ulong seed, int radius = BoundaryMiner.DefaultRadius)
    {
        Check(max, radius);
        int take = Math.Min(max, _index.BoundaryPixels.Length);
        if (take > 0 && KernelHost.Runs(_device) && FusedKernels.Use(FusedKernels.Triplets, _device, SelfCheck))
            return SampleOnDevice(take, seed, radius);
        var (a, p, n, valid) = SampleHost(_index, max, seed, radius);
        var idx = TripletLoss.UploadIndices(a, p, n, _device);
        var v = valid.All(x => x) ? null : DeviceUpload.Of(valid.Select(x => x ? 1f : 0f).ToArray(), _device);
        return (idx, v, take);
    }

    private (Tensor, Tensor?, int) SampleOnDevice(int take, ulong seed, int radius)
    {
        var module = KernelHost.Module(_device, Source, KernelSources.NoDefines);
        Upload();
        var idx = torch.empty(3L * take, dtype: int64, device: _device);
        var valid = torch.empty(take, dtype: float32, device: _device);
        var args = KernelArgs.ForThread().Add(take).Add(_index.BoundaryPixels.Length).Add(_index.Width).Add(_index.Height)
            .Add(radius).Add(Half(_index.BoundaryPixels.Length)).Add(seed).Ptr(_boundary).Ptr(_nOff).Ptr(_nPix).Ptr(_slot)
            .Ptr(_segOff).Ptr(_segPix).Ptr(idx).Ptr(valid);
        module.Launch("sample_triplets", ((uint)((take + 255) / 256), 1u), 256, 0, args);
        return (idx, valid, take);
    }


    /// <summary>The view's boundary structure on the device, once (int32: about 8 bytes a pixel).</summary>
    private void Upload()
    {
        if (_boundary is not null) return;
        using var scope = NewDisposeScope();
        Tensor Up(int[] a) => DeviceUpload.Of(a.Length == 0 ? [0] : a, _device).DetachFromDisposeScope(); // int32
        _boundary = Up(_index.BoundaryPixels); _nOff = Up(_index.NeighbourOffsets); _nPix = Up(_index.NeighbourPixels);
        _slot = Up(_index.Slots); _segOff = Up(_index.SegmentOffsets); _segPix = Up(_index.SegmentPixels);
    }

    public void Dispose()
    {
        foreach (var t in new[] { _boundary, _nOff, _nPix, _slot, _segOff, _segPix }) t?.Dispose();
        _boundary = _nOff = _nPix = _slot = _segOff = _segPix = null;
    }

    private static void Check(int max, int radius)
    {
        if (max < 0) throw new ArgumentException($"SampleTriplets: max must be >= 0, got {max}.", nameof(max));
        if (radius < 0) throw new ArgumentException($"SampleTriplets: radius must be >= 0, got {radius}.", nameof(radius));
    }

    /// <summary>
    /// The host sampler: min(max, boundary pixels) triplets as flat pixel indices, uncompacted: triplet t is invalid
    /// (Valid false) when its anchor's segment has one pixel. triplets.cu computes exactly this.
    /// </summary>
    public static (int[] Anchor, int[] Positive, int[] Negative, bool[] Valid) SampleHost(BoundaryIndex index, int max, ulong seed,
        int radius = BoundaryMiner.DefaultRadius)
    {
        Check(max, radius);
        int b = index.BoundaryPixels.Length, take = Math.Min(max, b), half = Half(b);
        var slot = index.Slots;
        var anchors = new int[take]; var positives = new int[take]; var negatives = new int[take]; var valid = new bool[take];
        for (int t = 0; t < take; t++)
        {
            int bi = Permute(seed, t, b, half);
            int a = index.BoundaryPixels[bi], sa = slot[a];
            int n0 = index.NeighbourOffsets[bi], n1 = index.NeighbourOffsets[bi + 1];
            int across = index.NeighbourPixels[n0 + Draw(seed, t, 0, n1 - n0)];
            int sb = slot[across];
            bool ok = true;
            int p = NearPixel(seed, t, 1, a, sa, a, index.Width, index.Height, radius, slot);
            if (p < 0)
            {
                int s0 = index.SegmentOffsets[sa], count = index.SegmentOffsets[sa + 1] - s0;
                if (count < 2) { ok = false; p = a; }
                else
                {
                    p = index.SegmentPixels[s0 + Draw(seed, t, 17, count - 1)];
                    if (p == a) p = index.SegmentPixels[s0 + count - 1]; // uniform over the segment's other pixels
                }
            }
            int n = NearPixel(seed, t, 18, a, sb, -1, index.Width, index.Height, radius, slot);
            if (n < 0) n = across;
            anchors[t] = a; positives[t] = p; negatives[t] = n; valid[t] = ok;
        }
        return (anchors, positives, negatives, valid);
    }

    /// <summary>Half the bits of the Feistel domain: the smallest even bit count (at least 2) whose range holds b.</summary>
    internal static int Half(int b)
    {
        int bits = 2;
        while (bits < 32 && (1L << bits) < b) bits++;
        if (bits % 2 == 1) bits++;
        return bits / 2;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, n) from draw k of triplet t.</summary>
    internal static int Draw(ulong seed, int t, int k, int n)
    {
        ulong r = Mix(seed + ((ulong)t * 64UL + (ulong)k) * Golden);
        return (int)(((r >> 32) * (ulong)n) >> 32);
    }

    /// <summary>The keyed bijection of [0, b): a 4-round Feistel network on 2 x <paramref name="half"/> bits, cycle-walked.</summary>
    internal static int Permute(ulong seed, int t, int b, int half)
    {
        ulong mask = (1UL << half) - 1UL;
        ulong key = Mix(seed ^ 0xD1B54A32D192ED03UL);
        ulong x = (ulong)t;
        do
        {
            ulong l = x >> half, r = x & mask;
            for (int round = 0; round < 4; round++)
            {
                ulong f = Mix(key + ((ulong)round << 40) + r) & mask;
                ulong nl = r;
                r = l ^ f;
                l = nl;
            }
            x = (l << half) | r;
        } while (x >= (ulong)b);
        return (int)x;
    }

    private static int NearPixel(ulong seed, int t, int k0, int anchor, int target, int exclude, int w, int h, int radius, int[] slot)
    {
        if (radius == 0) return -1;
        int cx = anchor % w, cy = anchor / w, r2 = radius * radius, span = 2 * radius + 1;
        for (int k = 0; k < Attempts; k++)
        {
            int ox = Draw(seed, t, k0 + 2 * k, span) - radius, oy = Draw(seed, t, k0 + 2 * k + 1, span) - radius;
            if (ox * ox + oy * oy > r2) continue;
            int x = cx + ox, y = cy + oy;
            if (x < 0 || y < 0 || x >= w || y >= h) continue;
            int q = y * w + x;
            if (q != exclude && slot[q] == target) return q;
        }
        return -1;
    }

    /// <summary>The kernel against <see cref="SampleHost"/> on this device: a generated 160x120 mask of 12 discs (and a
    /// one-pixel segment), 3 seeds, 3000 and 40 triplets, radius 10 and 0; every index and flag must be equal. Null when
    /// they are, else the first difference.</summary>
    public static string? SelfCheck(Device dev)
    {
        using var scope = NewDisposeScope();
        var index = BoundaryMiner.Build(CheckMask());
        using var sampler = new TripletSampler(index, dev);
        foreach (ulong seed in new ulong[] { 1, 0xDEADBEEFUL, ulong.MaxValue - 5 })
            foreach (var (max, radius) in new[] { (3000, 10), (40, 0) })
            {
                var (a, p, n, v) = SampleHost(index, max, seed, radius);
                var (idx, valid, count) = sampler.SampleOnDevice(Math.Min(max, index.BoundaryPixels.Length), seed, radius);
                var got = idx.cpu().data<long>().ToArray();
                var ok = valid!.cpu().data<float>().ToArray();
                for (int t = 0; t < count; t++)
                    if (got[t] != a[t] || got[count + t] != p[t] || got[2 * count + t] != n[t] || ok[t] != (v[t] ? 1f : 0f))
                        return $"seed {seed}, max {max}, radius {radius}, triplet {t}: device ({got[t]}, {got[count + t]}, {got[2 * count + t]}, {ok[t]}) vs host ({a[t]}, {p[t]}, {n[t]}, {v[t]})";
            }
        return null;
    }

    internal static Scenes.LabelMap CheckMask()
    {
        int w = 160, h = 120;
        var labels = new int[w * h];
        var rng = new Random(5);
        for (int k = 1; k <= 12; k++)
        {
            int cx = rng.Next(w), cy = rng.Next(h), r = 6 + rng.Next(30);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) labels[y * w + x] = k;
        }
        labels[w * (h / 2) + w / 2] = 99; // a one-pixel segment: its boundary pixel's triplets are invalid
        return new Scenes.LabelMap(w, h, labels);
    }
}
