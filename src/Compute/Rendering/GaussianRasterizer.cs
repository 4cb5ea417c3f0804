namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>Differentiable CPU 3D Gaussian Splatting rasteriser (graphdeco semantics) for colour plus a D-channel
/// feature image. Projection (with SH colour), tile binning, blending and their backwards are C# kernels behind two
/// custom autograd functions, so a loss written on the returned images fills every parameter's .grad in one backward().
/// An instance owns reusable work buffers; use one instance per training thread (not thread-safe).</summary>
public sealed class GaussianRasterizer : IDisposable
{
    private readonly Stack<TileRasterizer> _free = new();

    private BlendKernel _kernel = TileRasterizer.BestKernel;

    /// <summary>The CUDA backend, created on the first render of CUDA tensors.</summary>
    private Cuda.CudaRasterizer? _cuda;

    /// <summary>The blend kernels this rasteriser uses; defaults to the widest the hardware accelerates. Results agree
    /// across kernels to float rounding, and are bit-identical run to run for a given kernel and thread count.</summary>
    public BlendKernel Kernel
    {
        get => _kernel;
        set
        {
            if (!TileRasterizer.IsAvailable(value)) throw new ArgumentException($"Blend kernel {value} is not hardware-accelerated on this machine (best: {TileRasterizer.BestKernel}).");
            _kernel = value;
        }
    }

    /// <summary>Bin each Gaussian only into the tiles its alpha &gt;= 1/255 box meets (default), not its whole 3-sigma
    /// rectangle. The images and gradients are the same either way; off is for tests that show it.</summary>
    internal bool BinBySupport { get; init; } = true;

    /// <summary>CUDA backend: synchronise between stages so <see cref="LastStats"/> holds each stage's time (benchmarks
    /// only; each synchronise stalls the pipeline). The CPU path always times its stages.</summary>
    public bool ProfileStages { get; set; }

    /// <summary>Timings of the last Render (and of its backward, once run).</summary>
    public RasterStats LastStats { get; private set; } = new();

    /// <summary>Renders the Gaussians into the camera. Call inside a dispose scope; the result lives in that scope.</summary>
    public RenderResult Render(GaussianTensors g, Camera camera, RasterSettings settings)
    {
        TorchRuntime.EnsureInitialised();
        settings.Validate();
        g.Validate();
        camera.Validate("camera");
        if (g.Means.dtype != float32) throw new ArgumentException($"The fast rasteriser needs float32 parameters, got {g.Means.dtype}.");
        // The backend follows the tensors' device (CPU tensors under the kernel emulator take the CUDA backend's kernels).
        if (Compute.Cuda.KernelHost.Runs(g.Means.device))
        {
            _cuda ??= new Cuda.CudaRasterizer();
            _cuda.Profile = ProfileStages;
            var r = _cuda.Render(g, camera, settings, BinBySupport);
            LastStats = _cuda.LastStats;
            return r;
        }
        if (g.Means.device_type != DeviceType.CPU) throw new ArgumentException($"The rasteriser runs on CPU and CUDA tensors, not on {g.Means.device}.");
        int n = (int)g.Count;
        double c0 = RasterStats.CpuNow();
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var proj = FastProjection.Project(g, camera, settings, out var projCall);
        double projMs = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        double projCpu = RasterStats.CpuNow() - c0;
        var vsRgb = torch.zeros(n, 2).requires_grad_(true);  // [N, 2]
        var vsFeat = torch.zeros(n, 2).requires_grad_(true); // [N, 2]
        var features = g.Features?.contiguous();
        bool anyGrad = torch.is_grad_enabled() && new[] { g.Means, g.LogScales, g.Quats, g.OpacityLogits, g.Sh }
            .Concat(g.Features is null ? [] : [g.Features]).Any(t => t.requires_grad);
        // A kernel holds one view's state until its backward has run (then it returns to the pool); a graph dropped
        // without backward just leaves its kernel to the GC.
        TileRasterizer kernel;
        lock (_free) kernel = _free.Count > 0 ? _free.Pop() : new TileRasterizer();
        kernel.Kernel = _kernel;
        kernel.KeepGathered = anyGrad;
        kernel.BinBySupport = BinBySupport;
        var call = new RasterCall(this, kernel, settings, proj.Radii, camera.Width, camera.Height, features is null ? 0 : (int)features.shape[1]);
        var outs = RasterFunction.apply(call, proj.Mean2d.contiguous(), proj.Conic.contiguous(), proj.Opacity.contiguous(),
            proj.Colours.contiguous(), proj.Depth.contiguous(), features!, vsRgb, vsFeat);
        kernel.Stats.ProjectionMs = projMs;
        kernel.Stats.ProjectionCpuMs = projCpu;
        kernel.Stats.BlendBackwardMs = kernel.Stats.ReduceMs = kernel.Stats.BackwardGlueMs = kernel.Stats.ProjectionBackwardMs = 0;
        kernel.Stats.ReduceCpuMs = kernel.Stats.ProjectionBackwardCpuMs = 0;
        projCall.Stats = kernel.Stats;
        LastStats = kernel.Stats;
        if (!anyGrad) Release(kernel); // no backward will come
        int k = 0;
        var rgb = outs[k++];
        var feat = features is null ? null : outs[k++];
        var depth = outs[k++];
        var alpha = outs[k];
        var radii = torch.tensor(proj.Radii, dtype: int32); // [N], tile-checked by the binning
        var result = new RenderResult
        {
            Rgb = rgb, Features = feat, Depth = depth, Alpha = alpha, Radii = radii, Visible = radii.gt(Scalars.Of(0)),
            ViewspaceRgb = vsRgb, ViewspaceFeatures = vsFeat,
        };
        LastStats.RenderMs = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        return result;
    }

    internal void Release(TileRasterizer k)
    {
        lock (_free) { if (!_free.Contains(k)) _free.Push(k); }
    }

    internal sealed record RasterCall(GaussianRasterizer Owner, TileRasterizer Kernel, RasterSettings Settings, int[] Radii, int Width, int Height, int D);

    internal static unsafe float* Ptr(Tensor t) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    /// <summary>Inputs: call, mean2d [N,2], conic [N,3], opacity [N], colours [N,3], depth [N], features [N,D] or null,
    /// viewspaceRgb [N,2], viewspaceFeatures [N,2] (zero dummies that receive the split view-space gradients).
    /// Outputs: rgb [H,W,3], (features [H,W,D]), depth [H,W], alpha [H,W].</summary>
    internal sealed class RasterFunction : torch.autograd.MultiTensorFunction<RasterFunction>
    {
        public override string Name => "GaussianRasterize";

        public override unsafe List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var call = (RasterCall)vars[0];
            var mean2d = (Tensor)vars[1]; var conic = (Tensor)vars[2]; var opacity = (Tensor)vars[3];
            var colours = (Tensor)vars[4]; var depth = (Tensor)vars[5]; var features = vars[6] as Tensor;
            int n = (int)mean2d.shape[0], d = call.D, h = call.Height, w = call.Width;
            var rgb = torch.empty(h, w, 3);
            var feat = d > 0 ? torch.empty(h, w, d) : null;
            var dep = torch.empty(h, w);
            var alp = torch.empty(h, w);
            call.Kernel.Forward(n, d, w, h, call.Settings.BackgroundOrBlack,
                Ptr(mean2d), Ptr(conic), Ptr(opacity), Ptr(colours), Ptr(depth), d > 0 ? Ptr(features!) : null, call.Radii,
                Ptr(rgb), d > 0 ? Ptr(feat!) : null, Ptr(dep), Ptr(alp));
            ctx.save_data("call", call);
            return feat is null ? [rgb, dep, alp] : [rgb, feat, dep, alp];
        }

        public override unsafe List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> grads)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            var call = (RasterCall)ctx.get_data("call");
            var k = call.Kernel;
            int n = k.N, d = call.D;
            // Images without a loss get zero gradients (materialised: TorchSharp leaves one live wrapper behind per
            // undefined gradient, which would grow the native tensor count every step); skip their backward. The check
            // stops at the first non-zero, so an image with a loss costs next to nothing.
            static Tensor? Defined(Tensor t)
            {
                if (t is null || t.IsInvalid) return null;
                var c = t.contiguous();
                return AllZero(Ptr(c), c.numel()) ? null : c;
            }
            int i = 0;
            var gRgb = Defined(grads[i++]);
            var gFeat = d > 0 ? Defined(grads[i++]) : null;
            var gDepth = Defined(grads[i++]);
            var gAlpha = Defined(grads[i]);
            bool featGeo = call.Settings.FeatureGradientsReachGeometry;
            bool geo = gRgb is not null || gDepth is not null || gAlpha is not null;
            // The kernels reduce straight into these (every element written).
            var allGeo = geo ? torch.empty(n, TileRasterizer.GeoStride) : null;           // [N, 10]
            var allFeat = gFeat is not null ? torch.empty(n, k.FeatGradStride(featGeo)) : null; // [N, D (+ 6)]
            k.Backward(gRgb is null ? null : Ptr(gRgb), gDepth is null ? null : Ptr(gDepth), gAlpha is null ? null : Ptr(gAlpha),
                gFeat is null ? null : Ptr(gFeat), featGeo, allGeo is null ? null : Ptr(allGeo), allFeat is null ? null : Ptr(allFeat));
            Tensor? dMean = null, dConic = null, dOpacity = null, dColour = null, dDepth = null, dFeatures = null, dVsRgb = null, dVsFeat = null;
            if (allGeo is not null)
            {
                var all = allGeo;
                dMean = all.narrow(1, 0, 2); dConic = all.narrow(1, 2, 3); dOpacity = all.select(1, 5);
                dColour = all.narrow(1, 6, 3); dDepth = all.select(1, 9);
                dVsRgb = dMean;
            }
            if (allFeat is not null)
            {
                var all = allFeat;
                dFeatures = all.narrow(1, 0, d);
                if (featGeo)
                {
                    var fm = all.narrow(1, d, 2);
                    dVsFeat = fm;
                    dMean = dMean is null ? fm : dMean.add(fm, Scalars.One);
                    dConic = dConic is null ? all.narrow(1, d + 2, 3) : dConic.add(all.narrow(1, d + 2, 3), Scalars.One);
                    dOpacity = dOpacity is null ? all.select(1, d + 5) : dOpacity.add(all.select(1, d + 5), Scalars.One);
                }
            }
            var st = k.Stats;
            st.BackwardGlueMs = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMilliseconds - st.BlendBackwardMs - st.ReduceMs;
            call.Owner.Release(k);
            return [null!, dMean!, dConic!, dOpacity!, dColour!, dDepth!, dFeatures!, dVsRgb!, dVsFeat!];
        }

        /// <summary>Whether n floats at p are all zero (NaN counts as non-zero, as in count_nonzero).</summary>
        private static unsafe bool AllZero(float* p, long n)
        {
            long i = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= n; i += 8)
                    if (Vector256.Load(p + i) != Vector256<float>.Zero) return false;
            for (; i < n; i++) if (p[i] != 0f) return false;
            return true;
        }
    }

    /// <summary>Releases what the CUDA backend's last backward handed to autograd (its gradients stay on the GPU until
    /// then, or until the GC finalises their wrappers). A trainer disposes its rasteriser when it is done.</summary>
    public void Dispose() => _cuda?.Dispose();
}
