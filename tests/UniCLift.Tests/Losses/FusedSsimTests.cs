namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Cuda;
using UniCLift.Compute.Losses;
using static TorchSharp.torch;

/// <summary>What can be checked of the fused SSIM without a GPU: the derivation ssim.cu computes (the SSIM map from the
/// direct 11x11 window, then the gradient as the windowed sum of dS/dmu1, dS/dE[x^2] and dS/dE[xy]) written out here in
/// double precision, against graphdeco's conv2d chain and its autograd gradient; that the module compiles is
/// `check kernels`' part, that the kernels agree on a device `check gpu`'s and the self-check's.</summary>
public sealed class FusedSsimTests
{
    public FusedSsimTests() => TorchRuntime.EnsureInitialised();

    [Theory]
    [InlineData(23, 17, 3, false)]
    [InlineData(16, 16, 3, true)]
    [InlineData(9, 30, 2, true)]
    public void TheKernelsDerivationMatchesTheConvChainAndItsGradient(int w, int h, int c, bool near)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator((ulong)(w * 100 + h));
        var y = torch.rand(new long[] { h, w, c }, generator: gen);
        var x0 = near ? y.add(torch.randn(new long[] { h, w, c }, generator: gen).mul(Scalars.Of(0.05)), Scalars.One).clamp(0, 1)
            : torch.rand(new long[] { h, w, c }, generator: gen);
        var x = x0.clone().requires_grad_(true);
        var reference = RenderLoss.Ssim(x, y, fused: false); // the conv2d chain
        reference.backward();
        var (value, grad) = Derivation(x0.data<float>().ToArray(), y.data<float>().ToArray(), w, h, c);
        Assert.Equal(reference.item<float>(), value, 5);
        var expected = x.grad!.data<float>().ToArray();
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(grad[i] - expected[i]) <= 1e-4 * scale, $"gradient {i}: {grad[i]} vs autograd {expected[i]}");
    }

    [Fact]
    public void TheWindowTapsReachTheModuleAsFloatLiteralsThatSumToOne()
    {
        var taps = FusedSsim.Defines()["GAUSS"].Split(',');
        Assert.Equal(RenderLoss.WindowSize, taps.Length);
        Assert.All(taps, t => Assert.EndsWith("f", t));
        Assert.Equal(1.0, taps.Sum(t => double.Parse(t.TrimEnd('f'), System.Globalization.CultureInfo.InvariantCulture)), 6);
        Assert.Contains("#define C1 (0.01f * 0.01f)", KernelSources.Read(FusedSsim.Source));
    }

    [Fact]
    public void OnCpuTheCSharpSsimRunsAndTheCudaPathRefusesPlainly()
    {
        using var scope = NewDisposeScope();
        var a = torch.rand(8, 8, 3);
        Assert.Equal(RenderLoss.Ssim(a, a).item<float>(), RenderLoss.Ssim(a, a, fused: true).item<float>()); // CpuSsim both
        var e = Assert.Throws<ArgumentException>(() => FusedSsim.Ssim(a, a));
        Assert.Contains("CUDA", e.Message);
    }

    /// <summary>The convention FusedSsim's backward (and the rasteriser's) relies on, pinned on CPU where it can run: a
    /// MultiTensorFunction's backward returns one entry per argument of apply, the non-tensor first one included.</summary>
    [Fact]
    public void ACustomFunctionsGradientsAlignWithEveryArgumentOfApply()
    {
        using var scope = NewDisposeScope();
        var x = torch.tensor(new float[] { 1, 2, 3 }).requires_grad_(true);
        var y = torch.tensor(new float[] { 5, 6, 7 });
        var loss = Probe.apply("call", x, y)[0];
        loss.backward();
        Assert.Equal(new float[] { 5, 6, 7 }, x.grad!.data<float>().ToArray()); // d sum(x y) / dx = y
    }

    private sealed class Probe : torch.autograd.MultiTensorFunction<Probe>
    {
        public override string Name => "Probe";

        public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[1]; var y = (Tensor)vars[2];
            ctx.save_for_backward([y]);
            return [x.mul(y).sum()];
        }

        public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> grads)
        {
            var y = ctx.get_saved_variables()[0];
            return [null!, y.mul(grads[0]), null!];
        }
    }

    /// <summary>ssim.cu's arithmetic in double: per (pixel, channel) the windowed moments with zero padding, S and its three
    /// derivatives; then dx(q) = 1/(HWC) sum_p w(p - q) (dMu(p) + 2 x(q) dXx(p) + y(q) dXy(p)).</summary>
    private static (double Value, double[] Grad) Derivation(float[] x, float[] y, int w, int h, int c)
    {
        var g = RenderLoss.Gaussian1D();
        const double C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;
        int n = w * h * c;
        var dMu = new double[n]; var dXx = new double[n]; var dXy = new double[n];
        double At(float[] v, int px, int py, int ch) => px >= 0 && py >= 0 && px < w && py < h ? v[(py * w + px) * c + ch] : 0;
        double sum = 0;
        for (int py = 0; py < h; py++)
            for (int px = 0; px < w; px++)
                for (int ch = 0; ch < c; ch++)
                {
                    double mu1 = 0, mu2 = 0, exx = 0, eyy = 0, exy = 0;
                    for (int dy = 0; dy < 11; dy++)
                        for (int dx = 0; dx < 11; dx++)
                        {
                            double k = g[dy] * g[dx], a = At(x, px + dx - 5, py + dy - 5, ch), b = At(y, px + dx - 5, py + dy - 5, ch);
                            mu1 += k * a; mu2 += k * b; exx += k * a * a; eyy += k * b * b; exy += k * a * b;
                        }
                    double s1 = exx - mu1 * mu1, s2 = eyy - mu2 * mu2, s12 = exy - mu1 * mu2;
                    double n1 = 2 * mu1 * mu2 + C1, n2 = 2 * s12 + C2, d1 = mu1 * mu1 + mu2 * mu2 + C1, d2 = s1 + s2 + C2;
                    double inv = 1 / (d1 * d2), s = n1 * n2 * inv;
                    int o = (py * w + px) * c + ch;
                    sum += s;
                    dMu[o] = 2 * mu2 * n2 * inv - 2 * mu1 * s / d1 + 2 * mu1 * s / d2 - 2 * mu2 * n1 * inv;
                    dXx[o] = -s / d2;
                    dXy[o] = 2 * n1 * inv;
                }
        var grad = new double[n];
        for (int py = 0; py < h; py++)
            for (int px = 0; px < w; px++)
                for (int ch = 0; ch < c; ch++)
                {
                    double am = 0, axx = 0, axy = 0;
                    for (int dy = 0; dy < 11; dy++)
                        for (int dx = 0; dx < 11; dx++)
                        {
                            int qx = px + dx - 5, qy = py + dy - 5;
                            if (qx < 0 || qy < 0 || qx >= w || qy >= h) continue;
                            double k = g[dy] * g[dx];
                            int q = (qy * w + qx) * c + ch;
                            am += k * dMu[q]; axx += k * dXx[q]; axy += k * dXy[q];
                        }
                    int o = (py * w + px) * c + ch;
                    grad[o] = (am + 2 * x[o] * axx + y[o] * axy) / n;
                }
        return (sum / n, grad);
    }
}
