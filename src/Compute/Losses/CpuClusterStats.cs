namespace UniCLift.Compute.Losses;

using System.Numerics;
using TorchSharp;
using UniCLift.Compute.Rendering;
using static TorchSharp.torch;

/// <summary>
/// <see cref="ClusterLoss"/>'s segment statistics on the CPU in C#, the math of the CUDA kernels (Losses/Cuda/cluster.cu):
/// each segment's centroid (the mean of its pixels' sigmoid features) and spread (the sum of its pixels' squared
/// distances to the centroid), and in the backward dx_p = sigmoid'(x_p) (2 gS_s (sigmoid(x_p) - c_s) + gC_s / n_s).
/// Pixels go in fixed chunks on the thread pool, each summing into its own double-precision partials, which are added in
/// chunk order, so a result does not depend on the threads. The TorchSharp chain it replaces keeps about six [P,D]
/// tensors for autograd (sigmoid, gathered centroids, differences, squares: about 290 bytes a pixel at D 12); this keeps
/// none beyond its inputs and outputs. The K-sized rest of the loss stays in TorchSharp.
/// </summary>
public static class CpuClusterStats
{
    private const int Chunk = 16384, Block = 256;

    /// <summary>Whether <see cref="ClusterLoss"/> uses this for these features: float32 on the CPU, unless
    /// <c>UNICLIFT_FUSED_CLUSTER=0</c> or <c>UNICLIFT_FUSED=0</c>.</summary>
    internal static bool Applies(Tensor features) =>
        features.device_type == DeviceType.CPU && features.dtype == ScalarType.Float32
        && Cuda.FusedKernels.Setting(Cuda.FusedKernels.Cluster) != false;

    /// <summary>Centroids [K,D] and spreads [K] of <paramref name="flat"/> ([rows,D] float32 on the CPU, pre-sigmoid)
    /// over the targets' segments; differentiable in <paramref name="flat"/>.</summary>
    public static (Tensor Centroids, Tensor Spread) Compute(Tensor flat, ClusterTargets targets)
    {
        if (flat.dim() != 2 || flat.dtype != ScalarType.Float32 || flat.device_type != DeviceType.CPU)
            throw new ArgumentException($"CpuClusterStats needs float32 features [rows,D] on the CPU; got {RenderLoss.Shape(flat)} {flat.dtype} on {flat.device}.");
        if (targets.Device.type != DeviceType.CPU)
            throw new ArgumentException($"CpuClusterStats needs targets on the CPU; they are on {targets.Device}.");
        var outs = StatsFunction.apply(new Call { Targets = targets }, flat.contiguous());
        return (outs[0], outs[1]);
    }

    private sealed class Call
    {
        public required ClusterTargets Targets;
        public Tensor X = null!, Centroids = null!, Segments = null!;
        public Tensor? Pixels;
        public long[] Counts = null!;
    }

    /// <summary>The taking pixels as plain values for the parallel loops.</summary>
    private readonly unsafe struct Rows(Tensor x, Tensor segments, Tensor? pixels)
    {
        public readonly float* X = GaussianRasterizer.Ptr(x);
        public readonly long* Seg = (long*)GaussianRasterizer.Ptr(segments);
        public readonly long* Pix = pixels is null ? null : (long*)GaussianRasterizer.Ptr(pixels);
        public readonly int P = (int)segments.shape[0], D = (int)x.shape[1];
        public int Chunks => (P + Chunk - 1) / Chunk;
        public long Row(int i) => Pix is null ? i : Pix[i];
    }

    private sealed class StatsFunction : torch.autograd.MultiTensorFunction<StatsFunction>
    {
        public override string Name => "CpuClusterStats";

        public override unsafe List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var c = (Call)vars[0];
            var x = (Tensor)vars[1]; // [rows, D]
            var t = c.Targets;
            int k = t.SegmentCount, d = (int)x.shape[1];
            // Our own handles on the targets' tensors: a caller may dispose step-sampled targets before the backward.
            c.X = x; c.Pixels = t.Pixels?.detach(); c.Segments = t.Segments.detach(); c.Counts = t.Counts;
            var rows = new Rows(x, c.Segments, c.Pixels);

            var sums = Reduce(rows, k * d, (partial, first, end) => AddSigmoids(rows, first, end, partial));
            var centroids = new float[k * d];
            for (int s = 0; s < k; s++)
                for (int ch = 0; ch < d; ch++) centroids[s * d + ch] = (float)(sums[s * d + ch] / c.Counts[s]);
            var spread = Reduce(rows, k, (partial, first, end) => AddSpreads(rows, first, end, centroids, partial));

            c.Centroids = HostTensor.Copy(centroids, k, d);
            var spreadOut = HostTensor.Copy(spread.Select(v => (float)v).ToArray());
            ctx.save_data("call", c);
            return [c.Centroids, spreadOut];
        }

        public override unsafe List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> grads)
        {
            var c = (Call)ctx.get_data("call");
            static Tensor? Defined(Tensor? g) => g is null || g.IsInvalid ? null : g.contiguous();
            var gC = Defined(grads[0]); var gS = Defined(grads[1]);
            var rows = new Rows(c.X, c.Segments, c.Pixels);
            var dx = c.Pixels is null ? torch.empty_like(c.X) : torch.zeros_like(c.X); // rows that take no part get 0
            float* pdx = GaussianRasterizer.Ptr(dx), pc = GaussianRasterizer.Ptr(c.Centroids);
            float* pgC = gC is null ? null : GaussianRasterizer.Ptr(gC), pgS = gS is null ? null : GaussianRasterizer.Ptr(gS);
            var counts = c.Counts;
            Parallel.For(0, rows.Chunks, chunk =>
                Backward(rows, chunk * Chunk, Math.Min(rows.P, (chunk + 1) * Chunk), pc, pgC, pgS, counts, pdx));
            foreach (var g in grads) g?.Dispose();
            return [null!, dx]; // one entry per argument of apply, the Call included
        }
    }

    /// <summary>Sums over the taking pixels into <paramref name="length"/> doubles: each chunk into its own partials,
    /// added in chunk order.</summary>
    private static double[] Reduce(Rows rows, int length, Action<double[], int, int> add)
    {
        var partials = new double[rows.Chunks][];
        Parallel.For(0, rows.Chunks, chunk =>
        {
            var partial = new double[length];
            add(partial, chunk * Chunk, Math.Min(rows.P, (chunk + 1) * Chunk));
            partials[chunk] = partial;
        });
        var total = new double[length];
        foreach (var partial in partials)
            for (int i = 0; i < length; i++) total[i] += partial[i];
        return total;
    }

    /// <summary>sums[s, c] += sigmoid(x[row(i), c]) for the taking pixels first..end-1.</summary>
    private static unsafe void AddSigmoids(Rows r, int first, int end, double[] sums) =>
        SigmoidBlocks(r, first, end, (sig, b, n) =>
        {
            int d = r.D;
            for (int j = 0; j < n; j++)
            {
                long s = r.Seg[b + j] * d;
                for (int ch = 0; ch < d; ch++) sums[s + ch] += sig[j * d + ch];
            }
        });

    /// <summary>spread[s] += |sigmoid(x[row(i)]) - c_s|^2 for the taking pixels first..end-1.</summary>
    private static unsafe void AddSpreads(Rows r, int first, int end, float[] centroids, double[] spread) =>
        SigmoidBlocks(r, first, end, (sig, b, n) =>
        {
            int d = r.D;
            for (int j = 0; j < n; j++)
            {
                long s = r.Seg[b + j];
                float q = 0;
                for (int ch = 0; ch < d; ch++)
                {
                    float e = sig[j * d + ch] - centroids[s * d + ch];
                    q += e * e;
                }
                spread[s] += q;
            }
        });

    private unsafe delegate void BlockWork(float* sig, int first, int count);

    /// <summary>Calls <paramref name="work"/> for each block of up to <see cref="Block"/> taking pixels of first..end-1
    /// with their sigmoid features, row after row.</summary>
    private static unsafe void SigmoidBlocks(Rows r, int first, int end, BlockWork work)
    {
        var buffer = new float[Block * r.D];
        fixed (float* sig = buffer)
            for (int b = first; b < end; b += Block)
            {
                int n = Math.Min(Block, end - b);
                Sigmoids(r, b, n, sig);
                work(sig, b, n);
            }
    }

    /// <summary>dx[row(i)] = sigmoid'(x) (2 gS_s (sigmoid(x) - c_s) + gC_s / n_s) for the taking pixels first..end-1.</summary>
    private static unsafe void Backward(Rows r, int first, int end, float* centroids, float* gC, float* gS, long[] counts, float* dx)
    {
        int d = r.D, vc = Vector<float>.Count;
        var buffers = new float[3 * Block * d];
        fixed (float* sig = buffers)
        {
            float* cen = sig + Block * d, grad = sig + 2 * Block * d; // per element: c_s, and 2 gS_s then gC_s / n_s
            var slope = stackalloc float[Block];
            for (int b = first; b < end; b += Block)
            {
                int n = Math.Min(Block, end - b);
                Sigmoids(r, b, n, sig);
                for (int j = 0; j < n; j++)
                {
                    long s = r.Seg[b + j];
                    slope[j] = gS is null ? 0f : 2f * gS[s];
                    float inv = 1f / counts[s];
                    for (int ch = 0; ch < d; ch++)
                    {
                        cen[j * d + ch] = centroids[s * d + ch];
                        grad[j * d + ch] = gC is null ? 0f : gC[s * d + ch] * inv;
                    }
                }
                for (int j = 0; j < n; j++)
                {
                    float* o = dx + r.Row(b + j) * d;
                    float* sg = sig + j * d, ce = cen + j * d, gc = grad + j * d;
                    float gs = slope[j];
                    int ch = 0;
                    for (; ch + vc <= d; ch += vc)
                    {
                        var v = Vector.Load(sg + ch);
                        (v * (Vector<float>.One - v) * (new Vector<float>(gs) * (v - Vector.Load(ce + ch)) + Vector.Load(gc + ch))).Store(o + ch);
                    }
                    for (; ch < d; ch++) o[ch] = sg[ch] * (1f - sg[ch]) * (gs * (sg[ch] - ce[ch]) + gc[ch]);
                }
            }
        }
    }

    /// <summary>sigmoid of the features of the taking pixels b..b+n-1, row after row, into <paramref name="sig"/>.</summary>
    private static unsafe void Sigmoids(Rows r, int b, int n, float* sig)
    {
        int d = r.D, vc = Vector<float>.Count;
        if (r.Pix is null) Buffer.MemoryCopy(r.X + (long)b * d, sig, (long)n * d * 4, (long)n * d * 4);
        else
            for (int j = 0; j < n; j++) Buffer.MemoryCopy(r.X + r.Pix[b + j] * d, sig + j * d, d * 4, d * 4);
        int len = n * d, i = 0;
        for (; i + vc <= len; i += vc)
        {
            var v = Vector.Load(sig + i);
            (Vector<float>.One / (Vector<float>.One + Vector.Exp(-v))).Store(sig + i);
        }
        for (; i < len; i++) sig[i] = 1f / (1f + MathF.Exp(-sig[i]));
    }
}
