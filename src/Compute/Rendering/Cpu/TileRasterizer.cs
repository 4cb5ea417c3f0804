namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

/// <summary>The tile rasteriser's CPU kernels. One instance owns the per-view state a backward pass needs
/// (packed Gaussians, binning, per-pixel final transmittance and contributor count); arrays grow on demand and are
/// reused by later views. Forward and backward follow graphdeco's renderCUDA. This file: the state and
/// <see cref="Forward"/>, which runs the stages; TileRasterizer.Packing.cs (inputs to one cache line per Gaussian),
/// TileBinning.cs (tile lists), TileRasterizer.BlendForward.cs / .BlendBackward.cs (the scalar blend kernels and the
/// backward's driver), TileRasterizer.Avx2.cs / .Avx512.cs (the blend kernels by instruction set).</summary>
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

    /// <summary>Which blend kernels this view runs (set by the owning <see cref="GaussianRasterizer"/> before Forward; the
    /// backward uses the same).</summary>
    internal BlendKernel Kernel = BestKernel;

    internal static BlendKernel BestKernel =>
        IsAvailable(BlendKernel.Avx512) ? BlendKernel.Avx512 : Vector256.IsHardwareAccelerated ? BlendKernel.Avx2 : BlendKernel.Scalar;

    /// <summary>Whether this machine can run the kernel (vector width hardware-accelerated).</summary>
    internal static bool IsAvailable(BlendKernel k) => k switch
    {
        BlendKernel.Avx512 => Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported, // + vrcp14ps
        BlendKernel.Avx2 => Vector256.IsHardwareAccelerated,
        _ => true,
    };

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
        Pack(n, mean2d, conic, opacity, colour, depth, radii);
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

    /// <summary>Address of a pinned array's first element (arrays from <see cref="GrowPinned{T}"/>).</summary>
    private static unsafe float* PtrOf(float[] a) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));

    /// <summary><see cref="TileBinning.Grow{T}"/> for arrays handed out as raw pointers: pinned, so the GC never moves them.</summary>
    internal static void GrowPinned<T>(ref T[] a, int n)
    {
        if (a.Length < n) a = GC.AllocateUninitializedArray<T>(Math.Max(n, a.Length + a.Length / 2), pinned: true);
    }

    public const int TileSize = TileBinning.TileSize;

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
