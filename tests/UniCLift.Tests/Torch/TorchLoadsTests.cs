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
}
