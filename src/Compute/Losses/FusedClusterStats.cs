namespace UniCLift.Compute.Losses;

using TorchSharp;
using UniCLift.Compute.Cuda;
using static TorchSharp.torch;

/// <summary>
/// <see cref="ClusterLoss"/>'s segment statistics in three kernels (Losses/Cuda/cluster.cu) instead of about ten
/// TorchSharp operations and their autograd nodes: each segment's centroid (the mean of its pixels' sigmoid features)
/// and spread (the sum of its pixels' squared distances to the centroid), and in the backward the features' gradient
/// from the gradients of both. The K-sized rest of the loss (pull weights, push, hinge) stays in TorchSharp. Used by
/// <see cref="ClusterLoss"/> once its self-check (<see cref="SelfCheck"/>, through <see cref="FusedKernels"/>) has agreed
/// with the chain on the device.
/// </summary>
public static class FusedClusterStats
{
    public const string Source = "cluster.cu";

    /// <summary>Whether <see cref="ClusterLoss"/> uses the kernels for these features (float32, kernels on their device).</summary>
    internal static bool Applies(Tensor features) =>
        features.dtype == ScalarType.Float32 && KernelHost.Runs(features.device)
        && FusedKernels.Use(FusedKernels.Cluster, features.device, SelfCheck);

    /// <summary>Centroids [K,D] and spreads [K] of <paramref name="flat"/> ([rows,D] float32, pre-sigmoid) over the
    /// targets' segments; differentiable in <paramref name="flat"/>.</summary>
    public static (Tensor Centroids, Tensor Spread) Compute(Tensor flat, ClusterTargets targets)
    {
        if (flat.dim() != 2 || flat.dtype != ScalarType.Float32 || !KernelHost.Runs(flat.device))
            throw new ArgumentException($"FusedClusterStats needs float32 features [rows,D] where the kernels run; got {RenderLoss.Shape(flat)} {flat.dtype} on {flat.device}.");
        HandedOver.Release();
        var call = new Call { HandedOver = HandedOver, Targets = targets };
        var outs = StatsFunction.apply(call, flat.contiguous());
        return (outs[0], outs[1]);
    }

    /// <summary>The kernels against the TorchSharp chain on this device: L_cluster's value and gradient on two random
    /// feature maps (83x61 with every pixel and 8 segments; 130x97 with a third of the pixels sampled, 30 segments), to 1e-4
    /// relative. Null when they agree, else what differs.</summary>
    public static string? SelfCheck(Device dev)
    {
        using var scope = NewDisposeScope();
        using var gradMode = torch.enable_grad();
        var gen = new Generator(23);
        var rng = new Random(23);
        foreach (var (w, h, segments, sample) in new[] { (83, 61, 8, false), (130, 97, 30, true) })
        {
            var labels = new int[w * h];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    labels[y * w + x] = (x * segments / w + y * 3 / h) % segments; // bands: uniform and mixed warps
            for (int i = 0; i < labels.Length / 50; i++) labels[rng.Next(labels.Length)] = rng.Next(segments); // speckle
            var mask = new Scenes.LabelMap(w, h, labels);
            var options = ClusterLossOptions.Default with { MaxPixels = sample ? w * h / 3 : 0 };
            using var targets = ClusterTargets.Build(mask, options, sample ? new Random(5) : null, dev, ScalarType.Float32);
            var f = torch.randn(new long[] { h, w, 12 }, generator: gen).mul(Scalars.Of(2.0));
            if (FusedKernels.Disagreement("L_cluster", f, dev, x => ClusterLoss.Compute(x, targets, options, fused: false),
                    x => ClusterLoss.Compute(x, targets, options, fused: true), 1e-4) is { } why)
                return $"{w}x{h}, {segments} segments{(sample ? ", sampled" : "")}: {why}";
        }
        return null;
    }

    /// <summary>Gradients the backward handed to autograd, released at this thread's next call.</summary>
    [ThreadStatic] private static HandedOverGradients? _handedOver;
    private static HandedOverGradients HandedOver => _handedOver ??= new HandedOverGradients();

    /// <summary>Releases the gradients this thread's last backward handed over (a trainer that is done calls it).</summary>
    internal static void ReleaseThread() => _handedOver?.Release();

    private sealed class Call
    {
        public required HandedOverGradients HandedOver;
        public required ClusterTargets Targets;
        public Tensor X = null!, Centroids = null!, Segments = null!, Counts = null!;
        public Tensor? Pixels;
    }

    private static (uint, uint) Grid(long p) => ((uint)((p + 255) / 256), 1u);

    private sealed class StatsFunction : torch.autograd.MultiTensorFunction<StatsFunction>
    {
        public override string Name => "FusedClusterStats";

        public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var c = (Call)vars[0];
            var x = (Tensor)vars[1]; // [rows, D]
            var t = c.Targets;
            var module = KernelHost.Module(x.device, Source, KernelSources.NoDefines);
            int p = checked((int)t.PixelCount), d = (int)x.shape[1], k = t.SegmentCount;
            var sums = torch.zeros(new long[] { k, d }, float32, x.device); // [K,D], the centroids once divided
            module.Launch("cluster_sums", Grid(p), 256, 0, KernelArgs.ForThread().Add(p).Add(d).Ptr(x).Ptr(t.Pixels).Ptr(t.Segments).Ptr(sums));
            sums.div_(t.CountColumn());
            var spread = torch.zeros(new long[] { k }, float32, x.device); // [K]
            module.Launch("cluster_spread", Grid(p), 256, 0, KernelArgs.ForThread().Add(p).Add(d).Ptr(x).Ptr(t.Pixels).Ptr(t.Segments).Ptr(sums).Ptr(spread));
            // Our own handles on the targets' tensors, in the caller's scope like the outputs and the input: a caller may
            // dispose step-sampled targets before its backward runs.
            c.X = x; c.Centroids = sums;
            c.Pixels = t.Pixels?.detach(); c.Segments = t.Segments.detach(); c.Counts = t.CountTensor().detach();
            ctx.save_data("call", c);
            return [sums, spread];
        }

        public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> grads)
        {
            var c = (Call)ctx.get_data("call");
            // On CUDA the autograd engine calls this on its device thread, outside the caller's dispose scopes.
            using var scope = torch.NewDisposeScope();
            var module = KernelHost.Module(c.X.device, Source, KernelSources.NoDefines);
            static Tensor? Defined(Tensor? g) => g is null || g.IsInvalid ? null : g.contiguous();
            var gC = Defined(grads[0]); var gS = Defined(grads[1]);
            int p = (int)c.Segments.shape[0], d = (int)c.X.shape[1];
            var dx = c.Pixels is null ? torch.empty_like(c.X) : torch.zeros_like(c.X); // rows that take no part get 0
            module.Launch("cluster_backward", Grid(p), 256, 0, KernelArgs.ForThread().Add(p).Add(d).Ptr(c.X).Ptr(c.Pixels).Ptr(c.Segments)
                .Ptr(c.Centroids).Ptr(c.Counts).Ptr(gC).Ptr(gS).Ptr(dx));
            c.HandedOver.Add(scope, [dx]);
            foreach (var g in grads) g?.Dispose();
            return [null!, dx]; // one entry per argument of apply, the Call included
        }
    }
}
