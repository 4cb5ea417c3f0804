namespace UniCLift.Tests.Torch;

using TorchSharp;
using UniCLift.Compute;
using static TorchSharp.torch;

public sealed class TorchLoadsTests
{
    [Fact]
    public void ForwardBackwardAndAdamStepRun()
    {
        TorchRuntime.EnsureInitialised();
        using var scope = NewDisposeScope();
        var w = new TorchSharp.Modules.Parameter(torch.tensor(new float[] { 1f, -2f, 3f }));
        var target = torch.zeros(3);
        var opt = torch.optim.Adam(new[] { w }, lr: 0.1);
        var loss = (w - target).pow(2).sum();
        Assert.Equal(14f, loss.item<float>(), 5);
        loss.backward();
        var g = w.grad!.data<float>().ToArray();
        Assert.Equal(new[] { 2f, -4f, 6f }, g);
        opt.step();
        var after = w.data<float>().ToArray();
        // Adam's first step moves each weight by lr against the sign of its gradient.
        Assert.Equal(0.9f, after[0], 4);
        Assert.Equal(-1.9f, after[1], 4);
        Assert.Equal(2.9f, after[2], 4);
    }

    [Theory]
    [InlineData(null, 1)]
    [InlineData("", 1)]
    [InlineData("2", 2)]
    [InlineData(" 4 ", 4)]
    public void TheTorchThreadCountIsOneUnlessTheVariableSaysAnother(string? value, int expected) =>
        Assert.Equal(expected, TorchRuntime.ThreadCount(value, processors: 4));

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("100000")] // 100000 threads made a 5-step run on 2 cores take minutes
    [InlineData("2.5")]
    public void AThreadCountThatIsNoCountOfTheProcessorsIsBadInputNamingTheVariable(string value)
    {
        var e = Assert.Throws<ArgumentException>(() => TorchRuntime.ThreadCount(value, processors: 4));
        Assert.Contains($"UNICLIFT_TORCH_THREADS='{value}'", e.Message);
        Assert.Contains("1..4", e.Message);
    }
}
