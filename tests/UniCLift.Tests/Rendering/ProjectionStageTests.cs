namespace UniCLift.Tests.Rendering;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Rendering;
using static TorchSharp.torch;

/// <summary>The projection stage alone: the fast C# projection (float32 in and out, double inside) against the
/// TorchSharp reference run in float64, on random Gaussians, some behind the camera.</summary>
[Collection("Rasterizer")]
public sealed class ProjectionStageTests
{
    /// <summary>|fast - reference| &lt;= tol * max(1, |reference|): absolute for values up to 1, relative above (pixel
    /// coordinates reach hundreds, where a float32 step is 1e-5 already).</summary>
    private static void Close(float[] fast, double[] reference, bool[] compare, int per, double tol, string what)
    {
        Assert.Equal(reference.Length, fast.Length);
        for (int i = 0; i < fast.Length; i++)
        {
            if (!compare[i / per]) continue;
            double err = Math.Abs(fast[i] - reference[i]);
            Assert.True(err <= tol * Math.Max(1, Math.Abs(reference[i])),
                $"{what}[{i / per}, {i % per}]: fast {fast[i]}, reference {reference[i]} (error {err:G3})");
        }
    }

    private static float[] F(Tensor t) => t.detach().contiguous().data<float>().ToArray();
    private static double[] D(Tensor t) => t.detach().to(float64).contiguous().data<double>().ToArray();

    [Theory]
    // seed, N, W, H, SH degree stored, SH degree active, fraction behind
    [InlineData(1, 2000, 200, 150, 3, 3, 0.1)]
    [InlineData(2, 700, 97, 61, 3, 1, 0.2)]  // active degree below the stored one
    [InlineData(3, 500, 64, 64, 2, 2, 0.0)]
    [InlineData(4, 500, 120, 40, 0, 0, 0.05)]
    public void FastProjectionMatchesTheReference(int seed, int n, int w, int h, int storedSh, int activeSh, double behind)
    {
        TorchRuntime.EnsureInitialised();
        using var scope = torch.NewDisposeScope();
        var cam = RasterizerTests.RandomCamera(seed, w, h);
        var g = SyntheticGaussians.Random(cam, n, storedSh, 0, seed, minPx: 0.5, maxPx: 25, zNear: 0.5, zFar: 9, fractionBehind: behind,
            requiresGrad: false, maxU: 1.2);
        var settings = new RasterSettings(activeSh);
        var fast = FastProjection.Project(g, cam, settings);
        var reference = Projection.Project(g.Map(t => t.to(float64)), cam, settings);

        // Radii (3-sigma, float32 eigenvalue as graphdeco): the same integers, culled ones included.
        Assert.Equal(reference.Radii, fast.Radii);
        int visible = fast.Radii.Count(r => r > 0);
        Assert.True(visible > n / 2, $"only {visible} of {n} Gaussians visible");
        if (behind > 0) Assert.True(visible < n, "no Gaussian culled");
        var all = Enumerable.Repeat(true, n).ToArray();
        var vis = fast.Radii.Select(r => r > 0).ToArray();
        Close(F(fast.Mean2d), D(reference.Mean2d), all, 2, 1e-5, "mean2d");
        Close(F(fast.Depth), D(reference.Depth), all, 1, 1e-5, "depth");
        Close(F(fast.Opacity), D(reference.Opacity), all, 1, 1e-5, "opacity");
        // Conic and colour only where visible: the fast path skips them for culled Gaussians (nothing reads them).
        Close(F(fast.Conic), D(reference.Conic), vis, 3, 1e-5, "conic");
        Close(F(fast.Colours), D(reference.Colours), vis, 3, 1e-5, "colour");
    }
}
