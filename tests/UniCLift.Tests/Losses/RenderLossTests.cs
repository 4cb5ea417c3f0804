namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Losses;
using static TorchSharp.torch;

public sealed class RenderLossTests
{
    public RenderLossTests() => TorchRuntime.EnsureInitialised();

    [Fact]
    public void L1IsTheMeanAbsoluteDifference()
    {
        using var scope = NewDisposeScope();
        var a = torch.tensor(new float[] { 0.1f, 0.2f, 0.3f, 0.9f, 0.5f, 0.0f }, new long[] { 1, 2, 3 });
        var b = torch.tensor(new float[] { 0.2f, 0.2f, 0.0f, 0.4f, 0.5f, 1.0f }, new long[] { 1, 2, 3 });
        // |diffs| = 0.1, 0, 0.3, 0.5, 0, 1.0 -> 1.9 / 6
        Assert.Equal(1.9 / 6, RenderLoss.L1(a, b).item<float>(), 5);
    }

    [Fact]
    public void IdenticalImagesHaveSsimOneAndZeroLoss()
    {
        using var scope = NewDisposeScope();
        var a = torch.rand(new long[] { 9, 7, 3 }, generator: new Generator(3));
        Assert.Equal(1.0, RenderLoss.Ssim(a, a).item<float>(), 5);
        Assert.Equal(0.0, RenderLoss.Compute(a, a).item<float>(), 5);
    }

    [Fact]
    public void SsimAndLossMatchAPlainLoopReference()
    {
        using var scope = NewDisposeScope();
        const int h = 6, w = 5, c = 3;
        var rng = new Random(7);
        var x = Enumerable.Range(0, h * w * c).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = x.Select(v => Math.Clamp(v + (float)(rng.NextDouble() - 0.5) * 0.6f, 0f, 1f)).ToArray();
        var expectedSsim = ReferenceSsim(x, y, h, w, c);
        double expectedL1 = x.Zip(y, (p, q) => Math.Abs(p - q)).Average();

        var tx = torch.tensor(x, new long[] { h, w, c });
        var ty = torch.tensor(y, new long[] { h, w, c });
        Assert.InRange(expectedSsim, 0.05, 0.95); // a non-trivial case
        Assert.Equal(expectedSsim, RenderLoss.Ssim(tx, ty).item<float>(), 4);
        Assert.Equal(0.8 * expectedL1 + 0.2 * (1 - expectedSsim), RenderLoss.Compute(tx, ty).item<float>(), 4);
    }

    [Fact]
    public void ShapeMismatchIsRejected()
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => RenderLoss.Compute(torch.zeros(4, 4, 3), torch.zeros(4, 5, 3)));
        Assert.Contains("[4,4,3]", ex.Message);
    }

    /// <summary>graphdeco's ssim written out with loops: zero-padded 11x11 Gaussian filtering per channel.</summary>
    private static double ReferenceSsim(float[] x, float[] y, int h, int w, int c)
    {
        const int ws = 11;
        var g = new double[ws];
        for (int i = 0; i < ws; i++) g[i] = Math.Exp(-(i - 5) * (i - 5) / (2 * 1.5 * 1.5));
        double gs = g.Sum();
        for (int i = 0; i < ws; i++) g[i] /= gs;
        double c1 = 0.0001, c2 = 0.0009, total = 0;
        for (int ch = 0; ch < c; ch++)
            for (int py = 0; py < h; py++)
                for (int px = 0; px < w; px++)
                {
                    double mx = 0, my = 0, mxx = 0, myy = 0, mxy = 0;
                    for (int ky = 0; ky < ws; ky++)
                        for (int kx = 0; kx < ws; kx++)
                        {
                            int sy = py + ky - 5, sx = px + kx - 5;
                            if (sy < 0 || sx < 0 || sy >= h || sx >= w) continue;
                            double wgt = g[ky] * g[kx];
                            double a = x[(sy * w + sx) * c + ch], b = y[(sy * w + sx) * c + ch];
                            mx += wgt * a; my += wgt * b; mxx += wgt * a * a; myy += wgt * b * b; mxy += wgt * a * b;
                        }
                    double vx = mxx - mx * mx, vy = myy - my * my, cxy = mxy - mx * my;
                    total += (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                }
        return total / (h * w * c);
    }
}
