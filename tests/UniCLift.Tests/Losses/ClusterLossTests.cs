namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Losses;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

public sealed class ClusterLossTests
{
    public ClusterLossTests() => TorchRuntime.EnsureInitialised();

    // Mask            Vh per pixel (2-d)
    // [1 1 2]         (0.2,0.4) (0.4,0.8) (0.5,0.5)
    // [0 2 2]         (0.1,0.1) (0.7,0.5) (0.6,0.8)
    // m1 = (0.3,0.6), pull1 = 0.05 + 0.05 = 0.10; m2 = (0.6,0.6), pull2 = 0.02 + 0.02 + 0.04 = 0.08; m0 = (0.1,0.1), pull0 = 0.
    // |m1-m2|^2 = 0.09, |m0-m1|^2 = 0.29, |m0-m2|^2 = 0.50.
    private static readonly LabelMap Mask = new(3, 2, new[] { 1, 1, 2, 0, 2, 2 });
    private static readonly float[] Vh = { 0.2f, 0.4f, 0.4f, 0.8f, 0.5f, 0.5f, 0.1f, 0.1f, 0.7f, 0.5f, 0.6f, 0.8f };

    [Theory]
    // Mean, AsSegment: pull = (0.10/2 + 0.08/3 + 0)/3, push = 2 * 0.88 / 6
    [InlineData(ClusterNormalisation.Mean, BackgroundMode.AsSegment, (0.05 + 0.08 / 3) / 3 - 0.88 / 3)]
    // Sum, AsSegment: pull = 0.18, push = 2 * 0.88
    [InlineData(ClusterNormalisation.Sum, BackgroundMode.AsSegment, 0.18 - 1.76)]
    // Mean, Ignore: pull = (0.05 + 0.08/3)/2, push = 2 * 0.09 / 2
    [InlineData(ClusterNormalisation.Mean, BackgroundMode.Ignore, (0.05 + 0.08 / 3) / 2 - 0.09)]
    // Sum, Ignore: pull = 0.18, push = 2 * 0.09
    [InlineData(ClusterNormalisation.Sum, BackgroundMode.Ignore, 0.18 - 0.18)]
    public void MatchesHandComputedValues(ClusterNormalisation normalisation, BackgroundMode background, double expected)
    {
        using var scope = NewDisposeScope();
        var v = LossTestUtil.FromSigmoid(Vh, 2, 3, 2);
        var options = new ClusterLossOptions { Normalisation = normalisation, Background = background, MaxPixels = 0 };
        Assert.Equal(expected, ClusterLoss.Compute(v, Mask, options).item<float>(), 5);
    }

    [Fact]
    public void AGradientStepDecreasesTheLoss()
    {
        using var scope = NewDisposeScope();
        var labels = new int[8 * 8];
        for (int i = 0; i < labels.Length; i++) labels[i] = (i % 8) / 3; // three vertical stripes 0,1,2
        var mask = new LabelMap(8, 8, labels);
        var v = torch.randn(new long[] { 8, 8, 4 }, generator: new Generator(11)).requires_grad_(true);
        foreach (var norm in new[] { ClusterNormalisation.Mean, ClusterNormalisation.Sum })
        {
            var options = new ClusterLossOptions { Normalisation = norm, MaxPixels = 0 };
            var loss = ClusterLoss.Compute(v, mask, options);
            loss.backward();
            var before = loss.item<float>();
            using (torch.no_grad())
            {
                var stepped = v - v.grad! * 0.05;
                var after = ClusterLoss.Compute(stepped, mask, options).item<float>();
                Assert.True(after < before, $"{norm}: loss {before} -> {after} after a gradient step");
            }
            v.grad!.zero_();
        }
    }

    [Fact]
    public void SamplingIsSeededAndCapped()
    {
        var labels = Enumerable.Range(0, 100).Select(i => i % 4).ToArray();
        var options = new ClusterLossOptions { MaxPixels = 10, Background = BackgroundMode.Ignore };
        var a = ClusterLoss.SelectPixels(labels, options, new Random(5));
        var b = ClusterLoss.SelectPixels(labels, options, new Random(5));
        var c = ClusterLoss.SelectPixels(labels, options, new Random(6));
        Assert.Equal(10, a.Pixels.Length);
        Assert.Equal(10, a.Pixels.Distinct().Count());
        Assert.All(a.Pixels, p => Assert.NotEqual(0, labels[p])); // ignored background never sampled
        Assert.Equal(a.Pixels, b.Pixels);
        Assert.NotEqual(a.Pixels, c.Pixels);
        Assert.Equal(10, a.Counts.Sum());
        Assert.Throws<ArgumentException>(() => ClusterLoss.SelectPixels(labels, options, null));

        using var scope = NewDisposeScope();
        TorchRuntime.EnsureInitialised();
        var v = torch.randn(new long[] { 10, 10, 3 }, generator: new Generator(1));
        var mask = new LabelMap(10, 10, labels);
        Assert.Equal(ClusterLoss.Compute(v, mask, options, new Random(5)).item<float>(),
            ClusterLoss.Compute(v, mask, options, new Random(5)).item<float>());
    }

    [Fact]
    public void MaskOfWrongSizeIsRejected()
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentException>(() => ClusterLoss.Compute(torch.zeros(3, 3, 2), Mask));
        Assert.Contains("3x2", ex.Message);
    }

    [Fact]
    public void AllIgnoredGivesZeroWithAGraph()
    {
        using var scope = NewDisposeScope();
        var v = torch.randn(2, 2, 2).requires_grad_(true);
        var loss = ClusterLoss.Compute(v, new LabelMap(2, 2, new[] { 0, 0, -1, 0 }), new ClusterLossOptions { Background = BackgroundMode.Ignore });
        Assert.Equal(0f, loss.item<float>());
        loss.backward(); // must not throw
    }
}
