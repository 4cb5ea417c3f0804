namespace UniCLift.Compute.Rendering.Cuda;

using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;
using UniCLift.Compute.Cuda;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>The CUDA backend of <see cref="GaussianRasterizer"/>: the same contract as the CPU path (projection with
/// SH colour, 16x16 tile binning by the alpha &gt;= 1/255 support box, front-to-back blending of RGB + D features +
/// depth + alpha, every gradient including the split view-space ones) as kernels in rasterize.cu, compiled by NVRTC
/// for the device and launched on the tensors' memory. One custom autograd function covers projection and blending.
/// One host synchronisation per render remains: the number of (tile, Gaussian) pairs is read back to size the sort.
/// An instance serves one thread.</summary>
public sealed class CudaRasterizer : IDisposable
{
    public const string Source = "rasterize.cu";
    private const int Tile = TileBinning.TileSize, Block = Tile * Tile;

    /// <summary>Gradient tensors the last backward handed to autograd, released at the next render (or Dispose).</summary>
    private readonly HandedOverGradients _handedOver = new();

    /// <summary>Synchronise between stages and time them into <see cref="RasterStats"/> (benchmarks only: it adds a
    /// host synchronisation per stage).</summary>
    public bool Profile { get; set; }

    public RasterStats LastStats { get; private set; } = new();

    /// <summary>The layout of rasterize.cu's struct Cam.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct CamParams
    {
        public fixed double W[9];
        public fixed double T[3];
        public fixed double Eye[3];
        public double Fx, Fy, Cx, Cy, LimX, LimY, Near;
        public int Degree, K, Width, Height, TilesX, TilesY, BinBySupport, Pad;
    }

    internal sealed class Call
    {
        public required CudaRasterizer Owner;
        public required IKernelModule Module;
        public required CamParams Cam;
        public required RasterSettings Settings;
        public required int N, D, Width, Height, TilesX, TilesY;
        public required bool FeatureGeometry;
        // Saved by the forward for the backward (all on the device).
        public Tensor Radii = null!, Mean2d = null!, Conic = null!, Opacity = null!, Colour = null!, Depth = null!;
        public Tensor Ids = null!, Ranges = null!, FinalT = null!, NContrib = null!;
        public Tensor? Features;
        public Tensor[] Inputs = [];
        public RasterStats Stats = null!;
    }

    internal static unsafe CamParams CameraParams(Camera camera, RasterSettings s, int k, bool binBySupport)
    {
        var w2c = camera.WorldToCamera();
        float fx = (float)camera.Fx, fy = (float)camera.Fy;
        var eye = camera.Position;
        var p = new CamParams
        {
            Fx = fx, Fy = fy, Cx = (float)camera.Cx, Cy = (float)camera.Cy,
            // float32 expressions, as the CPU projection.
            LimX = 1.3f * 0.5f * camera.Width / fx, LimY = 1.3f * 0.5f * camera.Height / fy,
            Near = s.NearPlane, Degree = s.ShDegree, K = k, Width = camera.Width, Height = camera.Height,
            TilesX = (camera.Width + Tile - 1) / Tile, TilesY = (camera.Height + Tile - 1) / Tile, BinBySupport = binBySupport ? 1 : 0,
        };
        p.W[0] = w2c[0]; p.W[1] = w2c[1]; p.W[2] = w2c[2]; p.W[3] = w2c[4]; p.W[4] = w2c[5]; p.W[5] = w2c[6];
        p.W[6] = w2c[8]; p.W[7] = w2c[9]; p.W[8] = w2c[10];
        p.T[0] = w2c[3]; p.T[1] = w2c[7]; p.T[2] = w2c[11];
        p.Eye[0] = eye.X; p.Eye[1] = eye.Y; p.Eye[2] = eye.Z;
        return p;
    }

    /// <summary>The module variant for D channels (and whether feature losses reach geometry).</summary>
    public static Dictionary<string, string> Defines(int d, bool featureGeometry) =>
        new() { ["CHANNELS"] = d.ToString(), ["FEAT_GEO"] = featureGeometry ? "1" : "0" };

    internal RenderResult Render(GaussianTensors g, Camera camera, RasterSettings settings, bool binBySupport)
    {
        _handedOver.Release();
        var dev = g.Means.device;
        foreach (var (t, name) in new[] { (g.LogScales, "LogScales"), (g.Quats, "Quats"), (g.OpacityLogits, "OpacityLogits"), (g.Sh, "Sh") }
                     .Concat(g.Features is null ? [] : [(g.Features, "Features")]))
            if (!KernelHost.SameDevice(t, g.Means))
                throw new ArgumentException($"{name} is on {t.device}, Means on {dev}: the Gaussians' tensors must share one device.");
        if (dev.type == DeviceType.CUDA) CudaRuntime.EnsureAvailable(CudaRuntime.Ordinal(dev));
        int d = g.Features is null ? 0 : (int)g.Features.shape[1];
        bool featGeo = d > 0 && settings.FeatureGradientsReachGeometry;
        var module = KernelHost.Module(dev, Source, Defines(d, featGeo));
        long shared = (long)Block * d * sizeof(float);
        int optin = KernelHost.MaxDynamicShared(dev);
        const int staticShared = KernelHost.StaticSharedAllowance;
        if (shared + staticShared > optin)
            throw new ArgumentException($"{d} feature channels need {shared / 1024} KiB of shared memory per tile; this GPU allows {optin / 1024} KiB (at most {(optin - staticShared) / (Block * 4)} channels).");
        // With the kernels' static shared memory (about 11 KiB), over 36 channels pass the 48 KiB a block has by default.
        if (KernelHost.NeedsSharedOptIn(shared)) { module.AllowDynamicShared("blend_forward", (int)shared); module.AllowDynamicShared("blend_backward", (int)shared); }

        var stats = LastStats = new RasterStats();
        var call = new Call
        {
            Owner = this, Module = module, Cam = CameraParams(camera, settings, (int)g.Sh.shape[1], binBySupport), Settings = settings,
            N = (int)g.Count, D = d, Width = camera.Width, Height = camera.Height,
            TilesX = (camera.Width + Tile - 1) / Tile, TilesY = (camera.Height + Tile - 1) / Tile, FeatureGeometry = featGeo, Stats = stats,
        };
        long t0 = Stopwatch.GetTimestamp();
        var vsRgb = torch.zeros(new long[] { call.N, 2 }, device: dev).requires_grad_(true);  // [N, 2]
        var vsFeat = torch.zeros(new long[] { call.N, 2 }, device: dev).requires_grad_(true); // [N, 2]
        var outs = RasterFunction.apply(call, g.Means.contiguous(), g.LogScales.contiguous(), g.Quats.contiguous(),
            g.OpacityLogits.contiguous(), g.Sh.contiguous(), g.Features?.contiguous()!, vsRgb, vsFeat);
        int k = 0;
        var rgb = outs[k++];
        var feat = d > 0 ? outs[k++] : null;
        var depth = outs[k++];
        var alpha = outs[k];
        stats.RenderMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        return new RenderResult
        {
            Rgb = rgb, Features = feat, Depth = depth, Alpha = alpha, Radii = call.Radii, Visible = call.Radii.gt(Scalars.Of(0)),
            ViewspaceRgb = vsRgb, ViewspaceFeatures = vsFeat,
        };
    }

    /// <summary>Stage timing for benchmarks: a synchronise, then the milliseconds since the last mark.</summary>
    private long Mark(long since, ref double into)
    {
        if (!Profile) return since;
        torch.cuda.synchronize();
        long now = Stopwatch.GetTimestamp();
        into += Stopwatch.GetElapsedTime(since, now).TotalMilliseconds;
        return now;
    }

    private static (uint, uint) Linear(int n) => ((uint)((n + 255) / 256), 1u);

    /// <summary>Inputs: call, means [N,3], logScales [N,3], quats [N,4], opacityLogits [N] or [N,1], sh [N,K,3],
    /// features [N,D] or null, viewspaceRgb [N,2], viewspaceFeatures [N,2] (zero leaves that receive the split
    /// view-space gradients). Outputs: rgb [H,W,3], (features [H,W,D]), depth [H,W], alpha [H,W].</summary>
    private sealed class RasterFunction : torch.autograd.MultiTensorFunction<RasterFunction>
    {
        public override string Name => "GaussianRasterizeCuda";

        public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var c = (Call)vars[0];
            var means = (Tensor)vars[1]; var logScales = (Tensor)vars[2]; var quats = (Tensor)vars[3];
            var opac = (Tensor)vars[4]; var sh = (Tensor)vars[5]; var features = vars[6] as Tensor;
            var self = c.Owner; var m = c.Module; var a = KernelArgs.ForThread();
            var dev = means.device;
            int n = c.N, d = c.D, w = c.Width, h = c.Height, tiles = c.TilesX * c.TilesY;
            var st = c.Stats;
            long t = Profile(self) ? Sync() : 0;

            Tensor F(params long[] shape) => torch.empty(shape, dtype: float32, device: dev);
            Tensor I(params long[] shape) => torch.empty(shape, dtype: int32, device: dev);
            c.Mean2d = F(n, 2); c.Conic = F(n, 3); c.Opacity = F(n); c.Colour = F(n, 3); c.Depth = F(n); c.Radii = I(n);
            var rect = I(n, 4); var pairs = I(n);
            m.Launch("project_forward", Linear(n), 256, 0, a.Reset().Add(c.Cam).Add(n).Ptr(means).Ptr(logScales).Ptr(quats).Ptr(opac).Ptr(sh)
                .Ptr(c.Mean2d).Ptr(c.Conic).Ptr(c.Opacity).Ptr(c.Colour).Ptr(c.Depth).Ptr(c.Radii).Ptr(rect).Ptr(pairs));
            t = self.Mark(t, ref st.ProjectionMs);

            // Binning: Gaussians in (depth, index) order, their pair offsets in that order, then the one read-back of the
            // step (the pair count sizes the pair buffers and the sort).
            var (_, order) = c.Depth.sort(0, descending: false, stable: true); // [N] int64
            var incl = pairs.index_select(0, order).cumsum(0, ScalarType.Int64); // [N] inclusive, depth order
            long pairCount = n == 0 ? 0 : incl[n - 1].item<long>();
            // The pair buffers and the sort index with int32 (as graphdeco's and gsplat's do); 2^31 pairs would be 16 GB
            // of keys and values, past any scene this trains, but a wrap must not write past the buffers.
            if (pairCount > int.MaxValue)
                throw new ArgumentException($"{pairCount} (tile, Gaussian) pairs in one render: over the {int.MaxValue} the rasteriser indexes; fewer or smaller Gaussians, or a smaller image.");
            int total = (int)pairCount;
            st.Pairs = total;
            c.Ranges = torch.zeros(new long[] { tiles, 2 }, dtype: int32, device: dev);
            if (total > 0)
            {
                var keys = I(total); var vals = I(total);
                m.Launch("emit_pairs", Linear(n), 256, 0, a.Reset().Add(n).Add(c.TilesX).Ptr(order).Ptr(rect).Ptr(incl).Ptr(keys).Ptr(vals));
                var (sorted, perm) = keys.sort(0, descending: false, stable: true);
                c.Ids = I(total);
                m.Launch("tile_ranges", Linear(total), 256, 0, a.Reset().Add(total).Ptr(sorted).Ptr(perm).Ptr(vals).Ptr(c.Ranges).Ptr(c.Ids));
            }
            else c.Ids = I(1);
            t = self.Mark(t, ref st.BinningMs);

            var bg = c.Settings.BackgroundOrBlack;
            var rgb = F(h, w, 3);
            var feat = d > 0 ? F(h, w, d) : null;
            var dep = F(h, w);
            var alp = F(h, w);
            c.FinalT = F(h, w); c.NContrib = I(h, w);
            c.Features = features;
            m.Launch("blend_forward", ((uint)c.TilesX, (uint)c.TilesY), Block, (uint)(Block * d * sizeof(float)),
                a.Reset().Add(w).Add(h).Add(c.TilesX).Ptr(c.Ranges).Ptr(c.Ids).Ptr(c.Mean2d).Ptr(c.Conic).Ptr(c.Opacity).Ptr(c.Colour).Ptr(c.Depth)
                    .Ptr(features).Add(bg[0]).Add(bg[1]).Add(bg[2]).Ptr(rgb).Ptr(feat).Ptr(dep).Ptr(alp).Ptr(c.FinalT).Ptr(c.NContrib));
            t = self.Mark(t, ref st.BlendForwardMs);
            if (Profile(self)) st.Blends = c.NContrib.sum().item<long>();
            c.Inputs = [means, logScales, quats, opac, sh];
            ctx.save_data("call", c);
            return feat is null ? [rgb, dep, alp] : [rgb, feat, dep, alp];
        }

        public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> grads)
        {
            var c = (Call)ctx.get_data("call");
            var self = c.Owner; var m = c.Module; var a = KernelArgs.ForThread();
            var st = c.Stats;
            // On CUDA the autograd engine calls this on its device thread: no dispose scope of the caller's is active
            // here, so this one holds the temporaries; the incoming gradients' wrappers are ours to dispose.
            using var scope = torch.NewDisposeScope();
            KernelHost.MakeCurrent(c.Mean2d.device);
            long t = Profile(self) ? Sync() : 0;
            static Tensor? Defined(Tensor? g) => g is null || g.IsInvalid ? null : g.contiguous();
            int i = 0;
            var gRgb = Defined(grads[i++]);
            var gFeat = c.D > 0 ? Defined(grads[i++]) : null;
            var gDepth = Defined(grads[i++]);
            var gAlpha = Defined(grads[i]);
            var dev = c.Mean2d.device;
            int n = c.N, d = c.D, fs = d + (c.FeatureGeometry ? 6 : 0);
            var gradGeo = torch.zeros(new long[] { n, TileRasterizer.GeoStride }, device: dev); // [N, 10]
            var gradFeat = gFeat is not null ? torch.zeros(new long[] { n, fs }, device: dev) : null; // [N, D (+6)]
            var bg = c.Settings.BackgroundOrBlack;
            if (st.Pairs > 0)
                m.Launch("blend_backward", ((uint)c.TilesX, (uint)c.TilesY), Block, (uint)(c.FeatureGeometry ? Block * d * sizeof(float) : 0),
                    a.Reset().Add(c.Width).Add(c.Height).Add(c.TilesX).Ptr(c.Ranges).Ptr(c.Ids).Ptr(c.Mean2d).Ptr(c.Conic).Ptr(c.Opacity)
                        .Ptr(c.Colour).Ptr(c.Depth).Ptr(c.Features).Add(bg[0]).Add(bg[1]).Add(bg[2]).Ptr(c.FinalT).Ptr(c.NContrib)
                        .Ptr(gRgb).Ptr(gFeat).Ptr(gDepth).Ptr(gAlpha).Ptr(gradGeo).Ptr(gradFeat));
            t = self.Mark(t, ref st.BlendBackwardMs);

            var ins = c.Inputs;
            var dMeans = torch.empty(ins[0].shape, device: dev); var dScales = torch.empty(ins[1].shape, device: dev);
            var dQuats = torch.empty(ins[2].shape, device: dev); var dOpac = torch.empty(ins[3].shape, device: dev);
            var dSh = torch.empty(ins[4].shape, device: dev);
            m.Launch("project_backward", Linear(n), 256, 0, a.Reset().Add(c.Cam).Add(n).Ptr(ins[0]).Ptr(ins[1]).Ptr(ins[2]).Ptr(ins[3]).Ptr(ins[4])
                .Ptr(c.Radii).Ptr(gradGeo).Ptr(gradFeat).Ptr(dMeans).Ptr(dScales).Ptr(dQuats).Ptr(dOpac).Ptr(dSh));
            self.Mark(t, ref st.ProjectionBackwardMs);
            var dFeatures = gradFeat?.narrow(1, 0, d);
            var dVsRgb = gradGeo.narrow(1, 0, 2);
            var dVsFeat = c.FeatureGeometry && gradFeat is not null ? gradFeat.narrow(1, d, 2) : null;
            List<Tensor> result = [null!, dMeans, dScales, dQuats, dOpac, dSh, dFeatures!, dVsRgb, dVsFeat!];
            self._handedOver.Add(scope, result);
            foreach (var gr in grads) gr?.Dispose();
            return result;
        }

        private static bool Profile(CudaRasterizer r) => r.Profile;

        private static long Sync()
        {
            torch.cuda.synchronize();
            return Stopwatch.GetTimestamp();
        }
    }

    public void Dispose() => _handedOver.Release();
}
