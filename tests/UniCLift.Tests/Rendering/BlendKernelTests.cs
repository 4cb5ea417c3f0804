namespace UniCLift.Tests.Rendering;

using System.Runtime.Intrinsics;
using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;

/// <summary>The blend kernels (scalar, AVX2, AVX-512) against each other and the reference, and the binning pieces
/// they rely on (support rectangles, slots, lane sums).</summary>
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
