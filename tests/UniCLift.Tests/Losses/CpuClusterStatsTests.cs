namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Losses;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary><see cref="CpuClusterStats"/> (what L_cluster uses on the CPU) against the TorchSharp chain run in double
/// precision: the whole loss and its gradient, every pixel or a sample, background as a segment or ignored, one to
/// forty segments, D 12 and 3, over several chunks of pixels.</summary>
public sealed class CpuClusterStatsTests
{
    public CpuClusterStatsTests() => TorchRuntime.EnsureInitialised();

    private static LabelMap Mask(int w, int h, int segments, int seed)
    {
        var rng = new Random(seed);
        var labels = new int[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                labels[y * w + x] = (x * segments / w + y * 3 / h) % segments; // bands: long runs and boundaries
        for (int i = 0; i < labels.Length / 40; i++) labels[rng.Next(labels.Length)] = rng.Next(-1, segments); // speckle, void
        return new LabelMap(w, h, labels);
    }

    [Theory]
    [InlineData(83, 61, 8, 12, 0, BackgroundMode.AsSegment, ClusterNormalisation.MeanHingePerSegment)]
    [InlineData(130, 97, 30, 12, 2000, BackgroundMode.AsSegment, ClusterNormalisation.MeanHingePerSegment)] // sampled
    [InlineData(64, 48, 1, 3, 0, BackgroundMode.Ignore, ClusterNormalisation.Mean)]
    [InlineData(200, 150, 40, 12, 0, BackgroundMode.Ignore, ClusterNormalisation.PerSegment)] // two chunks
    [InlineData(31, 7, 5, 12, 0, BackgroundMode.AsSegment, ClusterNormalisation.Sum)]
    public void The_Loss_And_Its_Gradient_Match_The_Chain_In_Double_Precision(int w, int h, int segments, int d, int maxPixels,
        BackgroundMode background, ClusterNormalisation normalisation)
    {
        using var scope = NewDisposeScope();
        var mask = Mask(w, h, segments, w + h);
        var options = ClusterLossOptions.Default with { MaxPixels = maxPixels, Background = background, Normalisation = normalisation };
        var f = torch.randn(new long[] { h, w, d }, generator: new Generator((ulong)(w * h))).mul(Scalars.Of(2.0));

        using var exact = ClusterTargets.Build(mask, options, maxPixels > 0 ? new Random(5) : null, CPU, float64);
        var fd = f.to(float64).requires_grad_(true);
        var expected = ClusterLoss.Compute(fd, exact, options, fused: false); // the chain (the C# statistics take float32)
        expected.backward();

        using var targets = ClusterTargets.Build(mask, options, maxPixels > 0 ? new Random(5) : null, CPU, float32);
        var x = f.clone().requires_grad_(true);
        var got = ClusterLoss.Compute(x, targets, options);
        got.backward();

        double e = expected.item<double>(), g = got.item<float>();
        Assert.True(Math.Abs(g - e) <= 1e-5 * (1 + Math.Abs(e)), $"L_cluster {g:R} vs {e:R}");
        double error = TensorError.Relative(x.grad!, fd.grad!.to(float32));
        Assert.True(error <= 1e-4, $"gradient relative error {error:E2}");
        if (maxPixels > 0) // rows that took no part get no gradient
            Assert.True(x.grad!.abs().sum(2).eq(0).any().item<bool>(), "a sampled view's untaken pixels should have zero gradient");
    }

    [Fact]
    public void Is_What_The_Cpu_Loss_Uses_And_The_Same_Bits_Every_Time()
    {
        using var scope = NewDisposeScope();
        var mask = Mask(150, 120, 12, 3); // 18,000 pixels: two chunks
        var options = ClusterLossOptions.Default with { MaxPixels = 0 }; // every pixel, as training
        using var targets = ClusterTargets.Build(mask, options, null, CPU, float32);
        var f = torch.randn(new long[] { 120, 150, 12 }, generator: new Generator(9));
        (float, float[]) Run(bool? fused)
        {
            var x = f.clone().requires_grad_(true);
            var l = ClusterLoss.Compute(x, targets, options, fused);
            l.backward();
            return (l.item<float>(), x.grad!.data<float>().ToArray());
        }
        var (v1, g1) = Run(null);
        var (v2, g2) = Run(null);
        Assert.Equal(BitConverter.SingleToInt32Bits(v1), BitConverter.SingleToInt32Bits(v2));
        Assert.Equal(g1, g2);
        var (vChain, gChain) = Run(false);
        Assert.NotEqual(g1, gChain); // two computations: the default is not the chain
        Assert.Equal(vChain, v1, 4);
        var (centroids, spread) = CpuClusterStats.Compute(f.reshape(-1, 12), targets);
        Assert.Equal(new long[] { targets.SegmentCount, 12 }, centroids.shape);
        Assert.Equal(new long[] { targets.SegmentCount }, spread.shape);
        Assert.Contains("float32", Assert.Throws<ArgumentException>(() => CpuClusterStats.Compute(f.reshape(-1, 12).to(float64), targets)).Message);
    }
}
