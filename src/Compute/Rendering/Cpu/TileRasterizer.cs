namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

/// <summary>The tile rasteriser's CPU kernels. One instance owns the per-view state a backward pass needs
/// (packed Gaussians, binning, per-pixel final transmittance and contributor count); arrays grow on demand and are
/// reused by later views. Forward (this file) and backward (RasterizeBackward.cs) follow graphdeco's renderCUDA.</summary>
internal sealed partial class TileRasterizer
{
    public const float MaxAlpha = 0.99f;
    public const float MinAlpha = 1f / 255f;
    public const float MinTransmittance = 1e-4f;
    /// <summary>Floats per packed Gaussian (one cache line): mx, my, conic a, b, c, opacity, r, g, b, z, then the
    /// ellipse support from <see cref="CullEllipse"/>: slope, q, 1/a, t, yMax, can-blend flag.</summary>
    public const int Stride = 16;

    public int N, D, Width, Height;
    public readonly TileBinning Binning = new();
    /// <summary>[N, Stride] packed per-Gaussian inputs.</summary>
    public float[] Packed = [];
    /// <summary>[N, D] the input features, valid during <see cref="Forward"/> only (the backward reads the gathered
    /// <see cref="TileF"/>).</summary>
    private unsafe float* _feat;
    /// <summary>Bin by the alpha &gt;= 1/255 box (see <see cref="TileBinning.Build"/>); off bins by the 3-sigma rectangle.</summary>
    public bool BinBySupport = true;
    /// <summary>[N, 2] half-width and half-height of each Gaussian's alpha &gt;= 1/255 box, for binning.</summary>
    private float[] _support = [];
    /// <summary>[H * W] transmittance after the last blended Gaussian.</summary>
    public float[] FinalT = [];
    /// <summary>[H * W] 1 + position (in the tile list) of the last blended Gaussian, 0 if none.</summary>
    public int[] NContrib = [];
    public float[] Background = [0f, 0f, 0f];
    /// <summary>Set before Forward when a backward will follow: keep the gathered tile lists for it.</summary>
    public bool KeepGathered;
    /// <summary>[pairs, Stride] / [pairs, D] Gaussians and features in tile-list order (pinned), when kept.</summary>
    public float[] TileG = [], TileF = [];
    private bool _gathered;
    /// <summary>Timings and counts of the last forward / backward (for `bench raster`).</summary>
    public readonly RasterStats Stats = new();
    private long[] _tileEvals = [], _tileVecEvals = [], _tileCandidates = [], _tileContrib = [];

    [ThreadStatic] private static Scratch? _scratch;

    private sealed class Scratch
    {
        public float[] G = [];
        public float[] F = [];
        public float[] GradG = [];
        public float[] GradF = [];
        public float[] Pix = [];
        public float[] V = [];
        public int[] I = [];
        public Scratch Ensure(int n, int d, int kg, int kf, int v = 0, int iv = 0)
        {
            TileBinning.Grow(ref V, v);
            TileBinning.Grow(ref I, iv);
            GrowPinned(ref G, n * Stride);
            GrowPinned(ref F, n * d);
            TileBinning.Grow(ref GradG, n * kg);
            TileBinning.Grow(ref GradF, n * kf);
            TileBinning.Grow(ref Pix, 4 * d + 16);
            return this;
        }
    }

    private static Scratch GetScratch(int n, int d, int kg, int kf, int v = 0, int iv = 0) => (_scratch ??= new Scratch()).Ensure(n, d, kg, kf, v, iv);

    /// <summary>Copies inputs, bins, and renders. Pointers are to contiguous float32 buffers.</summary>
    /// <param name="mean2d">[N, 2]</param><param name="conic">[N, 3]</param><param name="opacity">[N]</param>
    /// <param name="colour">[N, 3]</param><param name="depth">[N]</param><param name="features">[N, D] or null (D = 0)</param>
    /// <param name="radii">[N], updated in place (0 where no tile is touched)</param>
    /// <param name="outRgb">[H, W, 3]</param><param name="outFeat">[H, W, D] or null</param>
    /// <param name="outDepth">[H, W]</param><param name="outAlpha">[H, W]</param>
    public unsafe void Forward(int n, int d, int width, int height, float[] background,
        float* mean2d, float* conic, float* opacity, float* colour, float* depth, float* features, int[] radii,
        float* outRgb, float* outFeat, float* outDepth, float* outAlpha)
    {
        N = n; D = d; Width = width; Height = height; Background = background;
        TileBinning.Grow(ref Packed, n * Stride);
        TileBinning.Grow(ref _support, 2 * n);
        TileBinning.Grow(ref FinalT, width * height);
        TileBinning.Grow(ref NContrib, width * height);
        nint pm = (nint)mean2d, pc = (nint)conic, po = (nint)opacity, pcol = (nint)colour, pd = (nint)depth;
        Parallel.For(0, (n + 2047) / 2048, chunk =>
        {
            float* m2 = (float*)pm, co = (float*)pc, op = (float*)po, col = (float*)pcol, dep = (float*)pd;
            var packed = Packed; var support = _support;
            int g1 = Math.Min(n, (chunk + 1) * 2048);
            for (int g = chunk * 2048; g < g1; g++)
            {
                if (radii[g] == 0) continue; // culled: in no tile list, never gathered
                int o = g * Stride;
                packed[o] = m2[2 * g]; packed[o + 1] = m2[2 * g + 1];
                packed[o + 2] = co[3 * g]; packed[o + 3] = co[3 * g + 1]; packed[o + 4] = co[3 * g + 2];
                packed[o + 5] = op[g];
                packed[o + 6] = col[3 * g]; packed[o + 7] = col[3 * g + 1]; packed[o + 8] = col[3 * g + 2];
                packed[o + 9] = dep[g];
                // Tile-independent ellipse support (SIMD kernels): slope, q, 1/a, t, yMax, and whether it can blend at all.
                bool any = CullEllipse(co[3 * g], co[3 * g + 1], co[3 * g + 2], op[g],
                    out packed[o + 10], out packed[o + 11], out packed[o + 12], out packed[o + 13], out packed[o + 14], out support[2 * g]);
                packed[o + 15] = any ? 1f : 0f;
                support[2 * g + 1] = packed[o + 14];
            }
        });
        _feat = features;
        double c0 = RasterStats.CpuNow();
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        fixed (float* sup = _support) Binning.Build(mean2d, depth, radii, n, width, height, BinBySupport ? sup : null);
        long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
        double c1 = RasterStats.CpuNow();

        _gathered = false;
        if (KeepGathered) { GrowPinned(ref TileG, Binning.Pairs * Stride); GrowPinned(ref TileF, Binning.Pairs * d); }
        int tiles = Binning.TilesX * Binning.TilesY;
        TileBinning.Grow(ref _tileEvals, tiles);
        TileBinning.Grow(ref _tileVecEvals, tiles);
        TileBinning.Grow(ref _tileCandidates, tiles);
        Array.Clear(_tileVecEvals, 0, tiles);
        Array.Clear(_tileCandidates, 0, tiles);
        TileBinning.Grow(ref _tileContrib, tiles);
        Array.Clear(_tileContrib, 0, tiles);
        nint pRgb = (nint)outRgb, pFeat = (nint)outFeat, pDepth = (nint)outDepth, pAlpha = (nint)outAlpha;
        switch (Kernel)
        {
            case BlendKernel.Avx512: Parallel.For(0, tiles, t => ForwardTile512(t, (float*)pRgb, (float*)pFeat, (float*)pDepth, (float*)pAlpha)); break;
            case BlendKernel.Avx2: Parallel.For(0, tiles, t => ForwardTileSimd(t, (float*)pRgb, (float*)pFeat, (float*)pDepth, (float*)pAlpha)); break;
            default: Parallel.For(0, tiles, t => ForwardTile(t, (float*)pRgb, (float*)pFeat, (float*)pDepth, (float*)pAlpha)); break;
        }
        _gathered = KeepGathered;
        _feat = null;
        long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
        double c2 = RasterStats.CpuNow();
        Stats.BinningCpuMs = c1 - c0; Stats.BlendForwardCpuMs = c2 - c1;
        long evals = 0, vec = 0, cand = 0, contrib = 0;
        for (int t = 0; t < tiles; t++) { evals += _tileEvals[t]; vec += _tileVecEvals[t]; cand += _tileCandidates[t]; contrib += _tileContrib[t]; }
        Stats.Contributions = contrib;
        Stats.VectorEvals = vec;
        Stats.ChunkCandidates = cand;
        Stats.BinningMs = System.Diagnostics.Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds;
        Stats.BlendForwardMs = System.Diagnostics.Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds;
        Stats.Pairs = Binning.Pairs;
        Stats.Blends = evals;
    }

    /// <summary>The tile's Gaussians (front to back) as contiguous rows: [count, Stride] at the returned pointer and
    /// [count, D] features at f. When the forward was told a backward follows (<see cref="KeepGathered"/>) it gathers into
    /// the per-view <see cref="TileG"/> / <see cref="TileF"/> and the backward reads them back, so the random-access gather
    /// (a cache miss per pair once the scene outgrows L2) runs once per view, not twice; otherwise thread-local scratch.</summary>
    private unsafe float* TileGaussians(int tile, Scratch s, bool withFeatures, out float* f)
    {
        int start = Binning.TileStart[tile];
        if (_gathered)
        {
            f = PtrOf(TileF) + (long)start * D;
            return PtrOf(TileG) + (long)start * Stride;
        }
        float* g;
        if (KeepGathered) { g = PtrOf(TileG) + (long)start * Stride; f = PtrOf(TileF) + (long)start * D; }
        else { g = PtrOf(s.G); f = PtrOf(s.F); }
        Gather(tile, g, f, withFeatures);
        return g;
    }

    /// <summary>Address of a pinned array's first element (arrays from <see cref="GrowPinned{T}"/>).</summary>
    private static unsafe float* PtrOf(float[] a) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));

    /// <summary><see cref="TileBinning.Grow{T}"/> for arrays handed out as raw pointers: pinned, so the GC never moves them.</summary>
    internal static void GrowPinned<T>(ref T[] a, int n)
    {
        if (a.Length < n) a = GC.AllocateUninitializedArray<T>(Math.Max(n, a.Length + a.Length / 2), pinned: true);
    }

    private const int PrefetchAhead = 8;

    /// <summary>Copies the tile's Gaussians (front to back) to dst [count, Stride] and, if asked, features to fdst [count, D].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe int Gather(int tile, float* dst, float* fdst, bool withFeatures)
    {
        int start = Binning.TileStart[tile], count = Binning.TileStart[tile + 1] - start;
        var sorted = Binning.Sorted;
        int d = D;
        // Pointer copies: Array.Copy's per-call overhead dominated for 12-float rows.
        float* fsrc = _feat;
        if (withFeatures && d > 0 && fsrc == null) throw new InvalidOperationException("Tile features gathered outside Forward without kept tile lists.");
        fixed (float* src = Packed)
        {
            for (int j = 0; j < count; j++)
            {
                int g = sorted[start + j];
                // The rows are random accesses (a cache miss each once the scene outgrows L2): ask for a later one now.
                if (Sse.IsSupported && j + PrefetchAhead < count)
                {
                    int ga = sorted[start + j + PrefetchAhead];
                    Sse.Prefetch0(src + (long)ga * Stride);
                    if (withFeatures) Sse.Prefetch0(fsrc + (long)ga * d);
                }
                float* a = src + (long)g * Stride, b = dst + (long)j * Stride;
                Vector256.Store(Vector256.Load(a), b);
                Vector256.Store(Vector256.Load(a + 8), b + 8);
                if (withFeatures)
                {
                    float* fa = fsrc + (long)g * d, fb = fdst + (long)j * d;
                    int c = 0;
                    for (; c + 8 <= d; c += 8) Vector256.Store(Vector256.Load(fa + c), fb + c);
                    for (; c < d; c++) fb[c] = fa[c];
                }
            }
        }
        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ForwardTile(int tile, float* outRgb, float* outFeat, float* outDepth, float* outAlpha)
    {
        int count = Binning.TileStart[tile + 1] - Binning.TileStart[tile];
        var s = GetScratch(count, D, 0, 0);
        float* gl = TileGaussians(tile, s, D > 0, out float* fl);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        int d = D;
        float bg0 = Background[0], bg1 = Background[1], bg2 = Background[2];
        long evals = 0;
        {
            for (int py = ys; py < ye; py++)
            {
                for (int px = xs; px < xe; px++)
                {
                    int pix = py * Width + px;
                    float fx = px + 0.5f, fy = py + 0.5f;
                    float T = 1f, r = 0f, gr = 0f, b = 0f, z = 0f;
                    float* of = outFeat + (long)pix * d;
                    for (int c = 0; c < d; c++) of[c] = 0f;
                    int last = 0;
                    for (int j = 0; j < count; j++)
                    {
                        float* p = gl + j * Stride;
                        float dx = p[0] - fx, dy = p[1] - fy;
                        float power = -0.5f * (p[2] * dx * dx + p[4] * dy * dy) - p[3] * dx * dy;
                        if (power > 0f) continue;
                        float alpha = MathF.Min(MaxAlpha, p[5] * MathF.Exp(power));
                        if (alpha < MinAlpha) continue;
                        float testT = T * (1f - alpha);
                        if (testT < MinTransmittance) break;
                        float w = alpha * T;
                        r += w * p[6]; gr += w * p[7]; b += w * p[8]; z += w * p[9];
                        if (d > 0) Axpy(of, fl + j * d, w, d);
                        T = testT;
                        last = j + 1;
                    }
                    evals += last;
                    FinalT[pix] = T;
                    NContrib[pix] = last;
                    outRgb[3 * pix] = r + T * bg0; outRgb[3 * pix + 1] = gr + T * bg1; outRgb[3 * pix + 2] = b + T * bg2;
                    outDepth[pix] = z;
                    outAlpha[pix] = 1f - T;
                }
            }
        }
        _tileEvals[tile] = evals;
    }

    public const int TileSize = TileBinning.TileSize;
}

/// <summary>Where the time of the last render went, in milliseconds. Blends = pixel x Gaussian pairs walked by the
/// forward pass (up to each pixel's last contributor).</summary>
public sealed class RasterStats
{
    /// <summary>Also record process CPU time per stage (a /proc read per stage; for benchmarks).</summary>
    public static bool MeasureCpu;
    public double ProjectionMs, BinningMs, BlendForwardMs, BlendBackwardMs, ReduceMs;
    /// <summary>Whole <see cref="GaussianRasterizer.Render"/> call (projection, binning, blending and their glue).</summary>
    public double RenderMs;
    /// <summary>The rasteriser autograd node's backward outside the blend kernels and reduction: gradient checks and
    /// handing the gradients to torch.</summary>
    public double BackwardGlueMs;
    /// <summary>The projection autograd node's backward (C# kernel and its glue).</summary>
    public double ProjectionBackwardMs;
    /// <summary>Process CPU time (all threads) per stage, when <see cref="MeasureCpu"/> is set.</summary>
    public double ProjectionCpuMs, BinningCpuMs, BlendForwardCpuMs, BlendBackwardCpuMs, ReduceCpuMs, ProjectionBackwardCpuMs;

    internal static double CpuNow() => MeasureCpu ? System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds : 0;
    public long Blends;
    /// <summary>SIMD kernels only (forward pass). AVX2: (pixel row, Gaussian) pairs whose support's y-range covers the row
    /// (each gets an x-interval test), and (8-pixel chunk, Gaussian) pairs left after ellipse culling, i.e. evaluated with
    /// vector exp. AVX-512: (tile row, Gaussian) pairs whose support meets the row (the row lists), and how many of those
    /// were evaluated (16 pixels each) before the row saturated.</summary>
    public long ChunkCandidates, VectorEvals;
    /// <summary>SIMD kernels only: (pixel, Gaussian) pairs actually blended (alpha &gt;= 1/255, before T &lt; 1e-4).</summary>
    public long Contributions;
    public int Pairs;
}

internal sealed partial class TileRasterizer
{

    /// <summary>y[i] += a * x[i], SIMD over channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Axpy(float* y, float* x, float a, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i <= n - 8; i += 8)
                (Vector256.Load(y + i) + va * Vector256.Load(x + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] += a * x[i];
    }
}
