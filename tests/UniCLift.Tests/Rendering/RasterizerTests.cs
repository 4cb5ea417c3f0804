namespace UniCLift.Tests.Rendering;

using System.Runtime.Intrinsics;
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

[Collection("Rasterizer")]
public sealed class BlendKernelTests
{
    /// <summary>Runs a render + backward under the given blend kernel; returns every output and gradient.</summary>
    private static float[][] Run(BlendKernel kernel, Camera cam, int seed) =>
        RenderAndBackward(new GaussianRasterizer { Kernel = kernel }, cam, () => SyntheticGaussians.Random(cam, 150, 3, 12, seed, fractionBehind: 0.1), 4UL);

    /// <summary>Renders the Gaussians <paramref name="make"/> creates (inside this call's dispose scope) with a background,
    /// runs a random-weighted loss on every image backward; returns every output and gradient.</summary>
    private static float[][] RenderAndBackward(GaussianRasterizer rast, Camera cam, Func<GaussianTensors> make, ulong lossSeed)
    {
        {
            using var scope = torch.NewDisposeScope();
            var g = make();
            var r = rast.Render(g, cam, new RasterSettings(Background: [0.1f, 0.2f, 0.3f], FeatureGradientsReachGeometry: true));
            using var gen = new torch.Generator(lossSeed);
            var loss = (torch.randn(r.Rgb.shape, generator: gen) * r.Rgb).sum() + (torch.randn(r.Features!.shape, generator: gen) * r.Features).sum()
                       + (r.Depth * 0.1).sum() + r.Alpha.pow(2).sum();
            loss.backward();
            return new[] { r.Rgb, r.Features, r.Depth, r.Alpha, g.Means.grad!, g.LogScales.grad!, g.Quats.grad!, g.OpacityLogits.grad!,
                g.Sh.grad!, g.Features!.grad!, r.ViewspaceRgb.grad!, r.ViewspaceFeatures.grad! }.Select(t => t.detach().data<float>().ToArray()).ToArray();
        }
    }

    /// <summary>Each SIMD kernel against the scalar one, on an image whose width is not a multiple of 8 or 16 (partial
    /// tile rows), and run twice: the same kernel must give bit-identical outputs and gradients.</summary>
    [Theory]
    [InlineData(BlendKernel.Avx2)]
    [InlineData(BlendKernel.Avx512)]
    public void SimdKernelsAgreeWithScalarAndAreDeterministic(BlendKernel kernel)
    {
        TorchRuntime.EnsureInitialised();
        if (!TileRasterizer.IsAvailable(kernel))
        {
            // This machine cannot run it: selecting it must fail loudly rather than fall back silently.
            Assert.Throws<ArgumentException>(() => new GaussianRasterizer { Kernel = kernel });
            return;
        }
        var cam = SyntheticGaussians.LookAt(70, 45, 60, (0, 0, -5), (0, 0, 0));
        var a = Run(BlendKernel.Scalar, cam, 21); var b = Run(kernel, cam, 21);
        for (int i = 0; i < a.Length; i++)
        {
            double num = 0, den = 0;
            for (int k = 0; k < a[i].Length; k++) { num += Math.Pow(a[i][k] - b[i][k], 2); den += Math.Pow(a[i][k], 2); }
            Assert.True(den > 0, $"output {i} is all zero");
            Assert.True(Math.Sqrt(num / den) < 1e-4, $"output {i}: scalar vs {kernel} relative difference {Math.Sqrt(num / den)}");
        }
        var again = Run(kernel, cam, 21);
        for (int i = 0; i < b.Length; i++) Assert.Equal(b[i], again[i]);
    }

    /// <summary>The reference comparison of <see cref="RasterizerTests"/> runs the default kernel; the others must also
    /// match the float64 reference (not only each other).</summary>
    [Theory]
    [InlineData(BlendKernel.Scalar)]
    [InlineData(BlendKernel.Avx2)]
    [InlineData(BlendKernel.Avx512)]
    public void EveryAvailableKernelMatchesTheReference(BlendKernel kernel)
    {
        TorchRuntime.EnsureInitialised();
        if (!TileRasterizer.IsAvailable(kernel)) { Assert.Throws<ArgumentException>(() => new GaussianRasterizer { Kernel = kernel }); return; }
        new RasterizerTests().MatchesReference(2, 60, 72, 33, 3, 12, 0.1, 0.6, false, kernel);
    }

    /// <summary>Binning by the alpha &gt;= 1/255 box leaves out only (tile, Gaussian) pairs that blend nothing: with it on and
    /// off, every image and gradient is bit for bit the same, under every kernel, while the lists get shorter (a scene of
    /// mostly faint, large Gaussians, some behind the camera, where the 3-sigma rectangle is much bigger than the box).</summary>
    [Theory]
    [InlineData(BlendKernel.Scalar)]
    [InlineData(BlendKernel.Avx2)]
    [InlineData(BlendKernel.Avx512)]
    public void BinningByTheAlphaSupportChangesNoImageOrGradient(BlendKernel kernel)
    {
        TorchRuntime.EnsureInitialised();
        if (!TileRasterizer.IsAvailable(kernel)) { Assert.Throws<ArgumentException>(() => new GaussianRasterizer { Kernel = kernel }); return; }
        var cam = RasterizerTests.RandomCamera(31, 83, 61);
        (float[][] Values, int Pairs) Run(bool bySupport)
        {
            var rast = new GaussianRasterizer { Kernel = kernel, BinBySupport = bySupport };
            var values = RenderAndBackward(rast, cam,
                () => SyntheticGaussians.Random(cam, 400, 3, 12, 31, minPx: 2, maxPx: 20, fractionBehind: 0.1, opacityLogitMean: -3), 8UL);
            return (values, rast.LastStats.Pairs);
        }
        var box = Run(true); var rect = Run(false);
        Assert.True(box.Pairs < 0.8 * rect.Pairs, $"binning by support kept {box.Pairs} of {rect.Pairs} pairs");
        Assert.True(box.Values[0].Any(v => v != 0.1f && v != 0.2f && v != 0.3f), "nothing rendered");
        for (int i = 0; i < box.Values.Length; i++) Assert.Equal(rect.Values[i], box.Values[i]);
    }

    /// <summary>SupportRect is exactly the set of tiles holding a pixel centre (i + 0.5, j + 0.5) inside the box.</summary>
    [Fact]
    public void SupportRectHoldsExactlyTheTilesWithAPixelCentreInTheBox()
    {
        var rng = new Random(12);
        int tilesX = 7, tilesY = 5;
        for (int trial = 0; trial < 3000; trial++)
        {
            float u = (float)(rng.NextDouble() * 160 - 20), v = (float)(rng.NextDouble() * 120 - 20);
            float hx = trial % 50 == 0 ? -1f : trial % 77 == 0 ? float.PositiveInfinity : (float)(rng.NextDouble() * 40);
            float hy = (float)(rng.NextDouble() * 40);
            if (trial % 5 == 0) { u = MathF.Round(u) + 0.5f; hx = MathF.Round(hx); } // box edges on pixel centres
            var (x0, y0, x1, y1) = TileBinning.SupportRect(u, v, hx, hy, tilesX, tilesY);
            for (int ty = 0; ty < tilesY; ty++)
                for (int tx = 0; tx < tilesX; tx++)
                {
                    bool hit = false;
                    for (int j = ty * 16; j < ty * 16 + 16 && !hit; j++)
                        for (int i = tx * 16; i < tx * 16 + 16 && !hit; i++)
                            hit = MathF.Abs(i + 0.5f - u) <= hx && MathF.Abs(j + 0.5f - v) <= hy;
                    bool inRect = tx >= x0 && tx < x1 && ty >= y0 && ty < y1;
                    Assert.True(hit == inRect, $"box ({u}, {v}) +- ({hx}, {hy}): tile ({tx}, {ty}) has a centre inside: {hit}, in [{x0}, {x1}) x [{y0}, {y1}): {inRect}");
                }
        }
    }

    /// <summary>The reference tree: 256-bit halves, 128-bit quarters, lanes (0 + 2, 1 + 3), then their two sums.</summary>
    private static unsafe float LaneSum(float* v)
    {
        var x = Vector512.Load(v);
        var s8 = x.GetLower() + x.GetUpper();
        var s4 = s8.GetLower() + s8.GetUpper();
        var s2 = s4 + Vector128.Shuffle(s4, Vector128.Create(2, 3, 0, 1));
        return s2.ToScalar() + s2.GetElement(1);
    }

    /// <summary>The batched lane reduction of the AVX-512 backward must equal the one-vector tree bit for bit (gradients
    /// stay what they were, and deterministic), for any count of vectors including partial batches of 16.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(16)]
    [InlineData(22)]
    [InlineData(28)]
    public unsafe void BatchedLaneSumsEqualTheSingleVectorTree(int n)
    {
        if (!TileRasterizer.IsAvailable(BlendKernel.Avx512)) { Assert.Throws<ArgumentException>(() => new GaussianRasterizer { Kernel = BlendKernel.Avx512 }); return; }
        var rng = new Random(n);
        var v = new float[16 * n];
        for (int i = 0; i < v.Length; i++) v[i] = (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 4)));
        var got = new float[n + 1];
        got[n] = 12345f; // guard: nothing past n is written
        fixed (float* pv = v, pg = got)
        {
            TileRasterizer.LaneSums512(pv, n, pg);
            for (int k = 0; k < n; k++) Assert.Equal(LaneSum(pv + 16 * k), got[k]);
        }
        Assert.Equal(12345f, got[n]);
    }

    /// <summary>The scatter's precomputed slot of every tile-list entry is the pair's slot by definition.</summary>
    [Fact]
    public unsafe void PrecomputedSlotsMatchTheSlotDefinition()
    {
        var rng = new Random(5);
        int n = 500, w = 150, h = 90;
        var mean = new float[2 * n]; var depth = new float[n]; var radii = new int[n];
        for (int g = 0; g < n; g++)
        {
            mean[2 * g] = (float)(rng.NextDouble() * 190 - 20); mean[2 * g + 1] = (float)(rng.NextDouble() * 130 - 20);
            depth[g] = (float)(0.5 + rng.NextDouble() * 5); radii[g] = rng.Next(0, 40);
        }
        var b = new TileBinning();
        fixed (float* pm = mean, pd = depth) b.Build(pm, pd, radii, n, w, h);
        Assert.True(b.Pairs > n, $"only {b.Pairs} pairs");
        var seen = new bool[b.Pairs];
        for (int t = 0; t < b.TilesX * b.TilesY; t++)
            for (int e = b.TileStart[t]; e < b.TileStart[t + 1]; e++)
            {
                int slot = b.SortedSlot[e];
                int g = b.Sorted[e], tx = t % b.TilesX, ty = t / b.TilesX;
                int x0 = b.Rect[4 * g], y0 = b.Rect[4 * g + 1], x1 = b.Rect[4 * g + 2];
                Assert.Equal(b.SlotStart[g] + (ty - y0) * (x1 - x0) + (tx - x0), slot); // row-major over g's tile rectangle
                Assert.False(seen[slot], $"slot {slot} used twice");
                seen[slot] = true;
            }
        Assert.All(seen, Assert.True);
    }
}
