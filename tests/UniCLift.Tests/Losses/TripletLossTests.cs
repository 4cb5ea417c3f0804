namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Losses;
using static TorchSharp.torch;

public sealed class TripletLossTests
{
    public TripletLossTests() => TorchRuntime.EnsureInitialised();

    // Vh: p0 (0.2,0.2), p1 (0.4,0.2), p2 (0.8,0.6), p3 (0.2,0.6); triplets (0,1,2) and (0,3,1).
    private static readonly float[] Vh = { 0.2f, 0.2f, 0.4f, 0.2f, 0.8f, 0.6f, 0.2f, 0.6f };
    private static readonly int[] A = { 0, 0 }, P = { 1, 3 }, N = { 2, 1 };

    [Fact]
    public void IdentityProjection()
    {
        using var scope = NewDisposeScope();
        var v = LossTestUtil.FromSigmoid(Vh, 2, 2, 2);
        // T1: 0.04 - 0.52 + 1 = 0.52; T2: 0.16 - 0.04 + 1 = 1.12; mean 0.82.
        var fixedW = new TripletProjection(2, learnable: false);
        Assert.Null(fixedW.Weight);
        Assert.Empty(fixedW.parameters());
        Assert.Equal(0.82, TripletLoss.Compute(v, A, P, N, fixedW).item<float>(), 5);
        var learnable = new TripletProjection(2); // initialised to the identity
        Assert.Equal(0.82, TripletLoss.Compute(v, A, P, N, learnable).item<float>(), 5);
    }

    [Fact]
    public void GivenProjectionAndGradientReachesW()
    {
        using var scope = NewDisposeScope();
        var v = LossTestUtil.FromSigmoid(Vh, 2, 2, 2);
        var w = new TripletProjection(2);
        using (torch.no_grad()) w.Weight!.copy_(torch.tensor(new float[] { 2, 0, 1, 1 }, new long[] { 2, 2 }));
        // W x = (2 x0, x0 + x1): z0 (0.4,0.4), z1 (0.8,0.6), z2 (1.6,1.4), z3 (0.4,0.8).
        // T1: 0.2 - 2.44 + 1 < 0 -> 0; T2: 0.16 - 0.2 + 1 = 0.96; mean 0.48.
        var loss = TripletLoss.Compute(v, A, P, N, w);
        Assert.Equal(0.48, loss.item<float>(), 5);
        loss.backward();
        var g = w.Weight!.grad;
        Assert.NotNull(g);
        Assert.True(g!.abs().sum().item<float>() > 0);

        // A step of Adam on W lowers the loss.
        var opt = torch.optim.Adam(w.parameters(), lr: 0.01);
        opt.step();
        Assert.True(TripletLoss.Compute(v, A, P, N, w).item<float>() < 0.48f);
    }

    [Fact]
    public void ModuleBuiltInsideAScopeSurvivesIt()
    {
        TripletProjection w;
        using (var scope = NewDisposeScope()) w = new TripletProjection(3);
        using var s2 = NewDisposeScope();
        Assert.Equal(3.0f, w.Weight!.sum().item<float>());
    }

    [Fact]
    public void BadInputsAreRejected()
    {
        using var scope = NewDisposeScope();
        var v = torch.zeros(2, 2, 2);
        var w = new TripletProjection(2);
        Assert.Throws<ArgumentException>(() => TripletLoss.Compute(v, new[] { 0 }, new[] { 1, 2 }, new[] { 3 }, w));
        var ex = Assert.Throws<ArgumentException>(() => TripletLoss.Compute(v, new[] { 4 }, new[] { 1 }, new[] { 3 }, w));
        Assert.Contains("anchor", ex.Message);
        Assert.Throws<ArgumentException>(() => TripletLoss.Compute(torch.zeros(2, 2, 3), A, P, N, w));
        Assert.Equal(0f, TripletLoss.Compute(v, Array.Empty<int>(), Array.Empty<int>(), Array.Empty<int>(), w).item<float>());
    }
}
