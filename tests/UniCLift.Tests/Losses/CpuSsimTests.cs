namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Losses;
using static TorchSharp.torch;

/// <summary><see cref="CpuSsim"/> against graphdeco's conv2d chain run in double precision (value and autograd gradient),
/// on shapes that reach every path of its loops: smaller than the window, rows shorter than a vector, a row length that
/// is not a multiple of the vector width, one and twelve channels, several bands of rows.</summary>
public sealed class CpuSsimTests
{
    public CpuSsimTests() => TorchRuntime.EnsureInitialised();

    [Theory]
    [InlineData(1, 1, 3, false)]
    [InlineData(7, 5, 3, true)]
    [InlineData(10, 10, 1, false)]
    [InlineData(33, 17, 1, true)]
    [InlineData(40, 16, 12, false)]
    [InlineData(83, 61, 3, true)]
    [InlineData(130, 97, 3, false)] // two bands of rows
    [InlineData(61, 200, 3, true)]  // four bands, the last short
    public void Matches_The_Conv2d_Chain_In_Double_Precision_In_Value_And_Gradient(int w, int h, int c, bool near)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator((ulong)(w * 1000 + h * 10 + c));
        var y = torch.rand(new long[] { h, w, c }, generator: gen);
        var x0 = near ? y.add(torch.randn(new long[] { h, w, c }, generator: gen).mul(Scalars.Of(0.05)), Scalars.One).clamp(0, 1)
            : torch.rand(new long[] { h, w, c }, generator: gen);

        var xd = x0.to(float64).requires_grad_(true);
        var expected = RenderLoss.Ssim(xd, y.to(float64), fused: false); // the chain (CpuSsim takes float32 only)
        expected.backward();
        var x = x0.clone().requires_grad_(true);
        var got = CpuSsim.Ssim(x, y);
        got.backward();

        Assert.Equal(0, got.dim());
        Assert.True(Math.Abs(got.item<float>() - expected.item<double>()) <= 2e-6, $"SSIM {got.item<float>():R} vs {expected.item<double>():R}");
        double error = TensorError.Relative(x.grad!, xd.grad!.to(float32));
        Assert.True(error <= 1e-4, $"gradient relative error {error:E2}");
        Assert.Null(y.grad); // the target is data
    }

    [Fact]
    public void The_Same_Images_Give_The_Same_Bits_Every_Time()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(11);
        var y = torch.rand(new long[] { 150, 200, 3 }, generator: gen);
        var x0 = torch.rand(new long[] { 150, 200, 3 }, generator: gen);
        (float, float[]) Run()
        {
            var x = x0.clone().requires_grad_(true);
            var l = CpuSsim.Ssim(x, y);
            l.backward();
            return (l.item<float>(), x.grad!.data<float>().ToArray());
        }
        var (v1, g1) = Run();
        var (v2, g2) = Run();
        Assert.Equal(BitConverter.SingleToInt32Bits(v1), BitConverter.SingleToInt32Bits(v2));
        Assert.Equal(g1, g2);
    }

    [Fact]
    public void Is_What_The_Cpu_Render_Loss_Uses_And_Refuses_What_It_Cannot_Take()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(2);
        var y = torch.rand(new long[] { 20, 30, 3 }, generator: gen);
        var x = torch.rand(new long[] { 20, 30, 3 }, generator: gen);
        Assert.Equal(CpuSsim.Ssim(x, y).item<float>(), RenderLoss.Ssim(x, y).item<float>());
        Assert.NotEqual(BitConverter.SingleToInt32Bits(RenderLoss.Ssim(x, y, fused: false).item<float>()),
            BitConverter.SingleToInt32Bits(RenderLoss.Ssim(x, y).item<float>())); // two computations, not one twice
        Assert.Contains("float32", Assert.Throws<ArgumentException>(() => CpuSsim.Ssim(x.to(float64), y.to(float64))).Message);
        Assert.Contains("[20,30,3]", Assert.Throws<ArgumentException>(() => CpuSsim.Ssim(x, y[..10])).Message);
    }
}
