namespace UniCLift.Compute.Rendering;

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
