namespace UniCLift.Tests.Rendering;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <remarks>One collection with <see cref="BlendKernelTests"/>: they run one at a time (timing-heavy, and the machine is small).</remarks>
[Collection("Rasterizer")]
public sealed class RasterizerTests
{
    internal static Camera RandomCamera(int seed, int w, int h)
    {
        var rng = new Random(seed);
        double Ang() => rng.NextDouble() * 2 * Math.PI;
        double a = Ang(), b = 0.6 * (rng.NextDouble() - 0.5);
        var eye = (5 * Math.Cos(a) * Math.Cos(b), 5 * Math.Sin(b), 5 * Math.Sin(a) * Math.Cos(b));
        return SyntheticGaussians.LookAt(w, h, 50 + 20 * rng.NextDouble(), eye, (0.3 * rng.NextDouble(), 0.2, -0.1));
    }

    /// <summary>float64 leaf copies of float32 parameters.</summary>
    private static GaussianTensors ToDouble(GaussianTensors g)
    {
        return g.Map(t => t.detach().to(float64).requires_grad_(true));
    }

    private static double RelErr(Tensor fast, Tensor reference)
    {
        var a = fast.detach().to(float64); var b = reference.detach().to(float64);
        double num = (a - b).norm().item<double>(), den = b.norm().item<double>();
        return num / Math.Max(den, 1e-12);
    }

    /// <summary>A loss touching every output with fixed random weights, so every gradient path is exercised.</summary>
    private static Tensor Loss(Tensor rgb, Tensor? feat, Tensor depth, Tensor alpha, int seed, bool useRgb = true, bool useFeat = true)
    {
        using var gen = new torch.Generator((ulong)seed); // private: the global generator is shared with tests running in parallel
        Tensor W(Tensor t) => torch.randn(t.shape, generator: gen).to(t.dtype);
        Tensor loss = torch.zeros(1, dtype: rgb.dtype).sum();
        var wr = W(rgb); var wd = W(depth); var wa = W(alpha);
        if (useRgb) loss = loss + (wr * rgb).sum() + 0.3 * (wd * depth).sum() + (wa * alpha).sum() + 0.5 * rgb.pow(2).sum();
        if (useFeat && feat is not null) { var wf = W(feat); loss = loss + (wf * feat).sum() + 0.2 * feat.pow(2).sum(); }
        return loss;
    }

    public static IEnumerable<object[]> Scenes() =>
    [
        // seed, N, W, H, SH degree, D, fraction behind, zNear, featureGeometry
        [1, 40, 60, 35, 3, 12, 0.15, 2.0, false],
        [2, 60, 72, 33, 3, 12, 0.1, 0.6, false],
        [3, 30, 57, 29, 1, 5, 0.0, 2.0, true],
        [4, 50, 70, 40, 0, 12, 0.2, 1.0, true],
        [5, 45, 63, 47, 2, 3, 0.1, 2.0, false],
    ];

    [Theory]
    [MemberData(nameof(Scenes))]
    public void FastMatchesReferenceOutputsAndGradients(int seed, int n, int w, int h, int sh, int d, double behind, double zNear, bool featGeo)
        => MatchesReference(seed, n, w, h, sh, d, behind, zNear, featGeo, TileRasterizer.BestKernel);

    internal void MatchesReference(int seed, int n, int w, int h, int sh, int d, double behind, double zNear, bool featGeo, BlendKernel kernel)
    {
        TorchRuntime.EnsureInitialised();
        using var scope = torch.NewDisposeScope();
        var cam = RandomCamera(seed, w, h);
        var g = SyntheticGaussians.Random(cam, n, 3, d, seed, minPx: 1.0, maxPx: 6, zNear: zNear, zFar: 7, fractionBehind: behind, maxU: 0.6);
        var s = new RasterSettings(ShDegree: sh, Background: [0.2f, 0.5f, 0.9f], FeatureGradientsReachGeometry: featGeo);
        var rast = new GaussianRasterizer { Kernel = kernel };
        var fast = rast.Render(g, cam, s);
        var loss = Loss(fast.Rgb, fast.Features, fast.Depth, fast.Alpha, seed);
        loss.backward();

        var g64 = ToDouble(g);
        var vsR = torch.zeros(n, 2, dtype: float64).requires_grad_(true);
        var vsF = torch.zeros(n, 2, dtype: float64).requires_grad_(true);
        var reference = ReferenceRasterizer.Render(g64, cam, s, vsR, vsF);
        Loss(reference.Rgb, reference.Features, reference.Depth, reference.Alpha, seed).backward();

        // The scene must exercise what it claims: culled Gaussians, transparent pixels, multi-tile footprints.
        int[] radii = fast.Radii.data<int>().ToArray();
        Assert.Equal(reference.Radii, radii);
        if (behind > 0) Assert.Contains(0, radii);
        Assert.True(fast.Alpha.min().item<float>() < 1e-3f, $"some pixel should be (almost) fully transparent, min alpha {fast.Alpha.min().item<float>()}");
        Assert.True(fast.Alpha.max().item<float>() > 0.9f, $"some pixel should be (almost) opaque, max alpha {fast.Alpha.max().item<float>()}");

        Assert.True(RelErr(fast.Rgb, reference.Rgb) < 1e-4, $"rgb {RelErr(fast.Rgb, reference.Rgb)}");
        Assert.True(RelErr(fast.Features!, reference.Features!) < 1e-4, "features");
        Assert.True(RelErr(fast.Depth, reference.Depth) < 1e-4, "depth");
        Assert.True(RelErr(fast.Alpha, reference.Alpha) < 1e-4, "alpha");

        void Grad(string name, Tensor a, Tensor b)
        {
            Assert.NotNull(b.grad);
            Assert.True(b.grad!.norm().item<double>() > 0, $"{name}: reference gradient is zero, the test checks nothing");
            Assert.NotNull(a.grad);
            double e = RelErr(a.grad!, b.grad!);
            Assert.True(e < 1e-3, $"{name} gradient relative error {e}");
        }
        Grad("means", g.Means, g64.Means);
        Grad("logScales", g.LogScales, g64.LogScales);
        Grad("quats", g.Quats, g64.Quats);
        Grad("opacity", g.OpacityLogits, g64.OpacityLogits);
        Grad("sh", g.Sh, g64.Sh);
        Grad("features", g.Features!, g64.Features!);
        Grad("viewspace rgb", fast.ViewspaceRgb, vsR);
        if (featGeo) Grad("viewspace features", fast.ViewspaceFeatures, vsF);
        else Assert.True(fast.ViewspaceFeatures.grad is null || fast.ViewspaceFeatures.grad.abs().max().item<float>() == 0);
    }

    [Fact]
    public void AFloaterCloserThanTheNearPlaneIsCulledByDefault()
    {
        // One object 5 units ahead and one opaque 5 cm Gaussian 0.1 units in front of the camera (a floater that a
        // novel view can sit right behind). graphdeco culls z <= 0.2; at 0.01 the floater would cover the image.
        TorchRuntime.EnsureInitialised();
        using var scope = torch.NewDisposeScope();
        var cam = SyntheticGaussians.LookAt(48, 32, 60, (0, 0, -5), (0, 0, 0));
        var g = new GaussianTensors(
            torch.tensor(new float[] { 0, 0, 0, 0, 0, -4.9f }, 2, 3), // [2,3]: object at z_cam 5, floater at z_cam 0.1
            torch.tensor(new float[] { -1, -1, -1, -3, -3, -3 }, 2, 3).to(float32), // [2,3]
            torch.tensor(new float[] { 1, 0, 0, 0, 1, 0, 0, 0 }, 2, 4), // [2,4]
            torch.tensor(new float[] { 4, 4 }), // [2]
            torch.zeros(2, 1, 3), // [2,1,3]: grey
            torch.tensor(new float[] { 1, -1 }, 2, 1)); // [2,1]: the object's feature is 1, the floater's -1
        var rast = new GaussianRasterizer();
        var byDefault = rast.Render(g, cam, new RasterSettings(ShDegree: 0));
        Assert.Equal(0.2f, new RasterSettings().NearPlane);
        Assert.Equal(0, byDefault.Radii[1].item<int>());
        Assert.True(byDefault.Features![16, 24, 0].item<float>() > 0.9f, "the object shows at the centre");
        var close = rast.Render(g, cam, new RasterSettings(ShDegree: 0, NearPlane: 0.01f));
        Assert.True(close.Radii[1].item<int>() > 48, $"with near plane 0.01 the floater covers the image (radius {close.Radii[1].item<int>()} px)");
        Assert.True(close.Features![16, 24, 0].item<float>() < 0, "and hides the object");
    }

    [Fact]
    public void FeatureLossAloneLeavesGeometryAloneByDefault()
    {
        TorchRuntime.EnsureInitialised();
        using var scope = torch.NewDisposeScope();
        var cam = RandomCamera(7, 40, 30);
        var g = SyntheticGaussians.Random(cam, 40, 3, 12, 7);
        var rast = new GaussianRasterizer();
        var r = rast.Render(g, cam, new RasterSettings());
        Loss(r.Rgb, r.Features, r.Depth, r.Alpha, 7, useRgb: false).backward();
        Assert.True(g.Features!.grad!.abs().max().item<float>() > 0);
        foreach (var t in new[] { g.Means, g.LogScales, g.Quats, g.OpacityLogits, g.Sh })
            Assert.True(t.grad is null || t.grad.abs().max().item<float>() == 0);

        // With the option on, the same loss moves the geometry and fills only the feature view-space gradient.
        var g2 = SyntheticGaussians.Random(cam, 40, 3, 12, 7);
        var r2 = rast.Render(g2, cam, new RasterSettings(FeatureGradientsReachGeometry: true));
        Loss(r2.Rgb, r2.Features, r2.Depth, r2.Alpha, 7, useRgb: false).backward();
        Assert.True(g2.Means.grad!.abs().max().item<float>() > 0);
        Assert.True(r2.ViewspaceFeatures.grad!.abs().max().item<float>() > 0);
        Assert.True(r2.ViewspaceRgb.grad is null || r2.ViewspaceRgb.grad.abs().max().item<float>() == 0);
        Assert.True(g2.Sh.grad is null || g2.Sh.grad.abs().max().item<float>() == 0);
    }

    [Fact]
    public void GradientsAreBitIdenticalAcrossRuns()
    {
        TorchRuntime.EnsureInitialised();
        using var scope = torch.NewDisposeScope();
        var cam = RandomCamera(11, 120, 90);
        float[][] Run()
        {
            var g = SyntheticGaussians.Random(cam, 400, 3, 12, 11);
            var r = new GaussianRasterizer().Render(g, cam, new RasterSettings(FeatureGradientsReachGeometry: true));
            Loss(r.Rgb, r.Features, r.Depth, r.Alpha, 11).backward();
            return new[] { g.Means, g.LogScales, g.Quats, g.OpacityLogits, g.Sh, g.Features!, r.ViewspaceRgb }
                .Select(t => t.grad!.data<float>().ToArray()).ToArray();
        }
        var a = Run(); var b = Run();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
    }

    /// <summary>With gradients on, the forward keeps its gathered tile lists for the backward; without, it gathers into
    /// scratch. Both must render the same images, bit for bit.</summary>
    [Fact]
    public void ForwardWithAndWithoutGradRendersTheSameImages()
    {
        TorchRuntime.EnsureInitialised();
        using var scope = torch.NewDisposeScope();
        var cam = RandomCamera(13, 90, 70);
        var g = SyntheticGaussians.Random(cam, 300, 3, 12, 13);
        var rast = new GaussianRasterizer();
        var withGrad = rast.Render(g, cam, new RasterSettings());
        RenderResult noGrad;
        using (torch.no_grad()) noGrad = rast.Render(g, cam, new RasterSettings());
        Assert.Equal(withGrad.Rgb.detach().data<float>().ToArray(), noGrad.Rgb.data<float>().ToArray());
        Assert.Equal(withGrad.Features!.detach().data<float>().ToArray(), noGrad.Features!.data<float>().ToArray());
        Assert.Equal(withGrad.Alpha.detach().data<float>().ToArray(), noGrad.Alpha.data<float>().ToArray());
    }

    [Fact]
    public void ReferenceGradientsMatchFiniteDifferences()
    {
        TorchRuntime.EnsureInitialised();
        using var scope = torch.NewDisposeScope();
        var cam = RandomCamera(5, 24, 20);
        var g = ToDouble(SyntheticGaussians.Random(cam, 12, 2, 4, 5, minPx: 2, maxPx: 6));
        var s = new RasterSettings(ShDegree: 2, Background: [0.3f, 0.1f, 0.6f], FeatureGradientsReachGeometry: true);
        double L()
        {
            using var inner = torch.NewDisposeScope();
            var r = ReferenceRasterizer.Render(g, cam, s);
            return Loss(r.Rgb, r.Features, r.Depth, r.Alpha, 5).item<double>();
        }
        var r0 = ReferenceRasterizer.Render(g, cam, s);
        Loss(r0.Rgb, r0.Features, r0.Depth, r0.Alpha, 5).backward();
        var rng = new Random(3);
        int checkedCount = 0;
        foreach (var (name, t) in new[] { ("means", g.Means), ("logScales", g.LogScales), ("quats", g.Quats), ("opacity", g.OpacityLogits), ("sh", g.Sh), ("features", g.Features!) })
        {
            var flat = t.detach().view(-1);
            var grad = t.grad!.view(-1);
            for (int k = 0; k < 3; k++)
            {
                long i = rng.Next((int)flat.shape[0]);
                double analytic = grad[i].item<double>();
                if (Math.Abs(analytic) < 1e-3) continue;
                double orig = flat[i].item<double>(), eps = 1e-6;
                using (torch.no_grad()) flat[i] = orig + eps;
                double lp = L();
                using (torch.no_grad()) flat[i] = orig - eps;
                double lm = L();
                using (torch.no_grad()) flat[i] = orig;
                double numeric = (lp - lm) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic) <= 1e-4 * Math.Max(1, Math.Abs(analytic)), $"{name}[{i}]: fd {numeric} vs autograd {analytic}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount >= 8, $"only {checkedCount} entries had a usable gradient");
    }

    /// <summary>The SIMD kernels skip (row, Gaussian) and (8-pixel chunk, Gaussian) pairs outside the ellipse where
    /// o * G can reach 1/255. That support must contain every pixel the per-pixel alpha test keeps, or images change.</summary>
    [Fact]
    public void EllipseCullingNeverDropsABlendingPixel()
    {
        var rng = new Random(17);
        int kept = 0;
        for (int trial = 0; trial < 600; trial++)
        {
            // A 2D covariance as projection makes it: sigmas 0.2..10 px, any orientation, + low-pass.
            double s1 = 0.2 * Math.Pow(50, rng.NextDouble()), s2 = 0.2 * Math.Pow(50, rng.NextDouble()), th = rng.NextDouble() * Math.PI;
            double cs = Math.Cos(th), sn = Math.Sin(th);
            double xx = cs * cs * s1 * s1 + sn * sn * s2 * s2 + 0.3, yy = sn * sn * s1 * s1 + cs * cs * s2 * s2 + 0.3, xy = cs * sn * (s1 * s1 - s2 * s2);
            double det = xx * yy - xy * xy;
            float a = (float)(yy / det), b = (float)(-xy / det), c = (float)(xx / det);
            float o = trial % 10 == 0 ? 0.003f : (float)Math.Pow(rng.NextDouble(), 2); // some below 1/255
            float mx = (float)(rng.NextDouble() * 16), my = (float)(rng.NextDouble() * 16);
            bool any = TileRasterizer.CullEllipse(a, b, c, o, out float slope, out float q, out float invA, out float t, out float yMax, out float xMax);
            int r = (int)Math.Ceiling(3 * Math.Max(s1, s2)) + 2;
            for (int py = -r; py <= r; py++)
                for (int px = -r; px <= r; px++)
                {
                    float fx = MathF.Floor(mx) + px + 0.5f, fy = MathF.Floor(my) + py + 0.5f;
                    float dx = mx - fx, dy = my - fy;
                    float power = -0.5f * (a * dx * dx + c * dy * dy) - b * dx * dy;
                    if (power > 0f || MathF.Min(TileRasterizer.MaxAlpha, o * MathF.Exp(power)) < TileRasterizer.MinAlpha) continue;
                    kept++;
                    Assert.True(any, $"trial {trial}: opacity {o} blends but the support is empty");
                    Assert.True(MathF.Abs(dy) <= yMax, $"trial {trial}: row dy {dy} outside yMax {yMax}");
                    Assert.True(MathF.Abs(dx) <= xMax, $"trial {trial}: column dx {dx} outside xMax {xMax}");
                    float h2 = (t - q * dy * dy) * invA;
                    Assert.True(h2 >= 0f && MathF.Abs(fx - (mx + slope * dy)) <= MathF.Sqrt(h2) + 0.02f, $"trial {trial}: pixel ({fx}, {fy}) outside the row interval");
                }
        }
        Assert.True(kept > 20000, $"only {kept} blending pixels were checked");
    }

    [Fact]
    public void NativeTensorCountDoesNotGrowOverSteps()
    {
        TorchRuntime.EnsureInitialised();
        var cam = RandomCamera(9, 64, 48);
        var rast = new GaussianRasterizer();
        using var outer = torch.NewDisposeScope();
        var g = SyntheticGaussians.Random(cam, 200, 3, 12, 9);
        var all = new[] { g.Means, g.LogScales, g.Quats, g.OpacityLogits, g.Sh, g.Features! };
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            var r = rast.Render(g, cam, new RasterSettings());
            Loss(r.Rgb, r.Features, r.Depth, r.Alpha, 9).backward();
            foreach (var t in all) t.grad?.zero_();
        }
        for (int i = 0; i < 5; i++) Step();
        // This thread's live count: the process-wide one moves with tests running in parallel.
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 100; i++) Step();
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.True(after <= before, $"live tensors grew from {before} to {after}");
    }
}
