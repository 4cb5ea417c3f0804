namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Cuda;
using UniCLift.Compute.Losses;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>The counter-based triplet sampler on the host: what triplets.cu must reproduce (`check gpu` and the kernel's
/// self-check compare the two index for index on a device).</summary>
public sealed class TripletSamplerTests
{
    public TripletSamplerTests() => TorchRuntime.EnsureInitialised();

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(5821)]
    public void TheAnchorPermutationIsABijectionOfTheBoundary(int b)
    {
        int half = TripletSampler.Half(b);
        Assert.True(1L << (2 * half) >= b);
        Assert.True(half == 1 || 1L << (2 * half - 2) < b); // the smallest even power of two that holds b
        foreach (ulong seed in new ulong[] { 0, 42, ulong.MaxValue })
        {
            var image = Enumerable.Range(0, b).Select(t => TripletSampler.Permute(seed, t, b, half)).ToArray();
            Assert.Equal(Enumerable.Range(0, b), image.OrderBy(x => x));
            if (b >= 100) Assert.True(image.Where((x, t) => x != t).Count() > b * 0.9, "the permutation barely moves anything");
        }
    }

    [Fact]
    public void DrawsAreUniformAndIndependentOfOtherTriplets()
    {
        var counts = new int[7];
        for (int t = 0; t < 70_000; t++) counts[TripletSampler.Draw(9, t, 3, 7)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_400, 10_600));
        // A triplet's draws are a function of (seed, triplet, draw): sampling fewer triplets leaves the first ones as they were.
        var index = BoundaryMiner.Build(TripletSampler.CheckMask());
        var many = TripletSampler.SampleHost(index, 3000, 77);
        var few = TripletSampler.SampleHost(index, 100, 77);
        Assert.Equal(many.Anchor[..100], few.Anchor);
        Assert.Equal(many.Positive[..100], few.Positive);
        Assert.Equal(many.Negative[..100], few.Negative);
        Assert.NotEqual(many.Anchor[..100], TripletSampler.SampleHost(index, 100, 78).Anchor);
    }

    [Fact]
    public void AOnePixelSegmentsAnchorGivesAnInvalidTripletThatTheLossLeavesOut()
    {
        using var scope = NewDisposeScope();
        var index = BoundaryMiner.Build(TripletSampler.CheckMask());
        var (a, p, n, valid) = TripletSampler.SampleHost(index, 3000, 3);
        Assert.Equal(Math.Min(3000, index.BoundaryPixels.Length), a.Length);
        int lone = index.Width * (index.Height / 2) + index.Width / 2;
        Assert.Contains(lone, a);
        for (int t = 0; t < a.Length; t++) Assert.Equal(a[t] != lone, valid[t]);

        // The device form (indices + valid flags) gives the compacted triplets' loss.
        var features = torch.randn(new long[] { index.Height, index.Width, 12 }, generator: new Generator(4));
        using var projection = new TripletProjection(12);
        using var sampler = new TripletSampler(index, CPU);
        var (indices, flags, count) = sampler.Sample(3000, 3);
        Assert.NotNull(flags);
        var compact = BoundaryMiner.SampleTriplets(index, 3000, 3);
        Assert.Equal(count - 1, compact.Anchor.Length);
        float masked = TripletLoss.Compute(features, indices, flags, count, projection).item<float>();
        float plain = TripletLoss.Compute(features, compact.Anchor, compact.Positive, compact.Negative, projection).item<float>();
        Assert.Equal(plain, masked, 5);
    }

    [Fact]
    public void WithEveryTripletValidTheSamplerNeedsNoFlags()
    {
        using var scope = NewDisposeScope();
        var labels = Enumerable.Range(0, 40 * 30).Select(i => (i % 40) / 10 + 4 * ((i / 40) / 15)).ToArray();
        var index = BoundaryMiner.Build(new LabelMap(40, 30, labels));
        using var sampler = new TripletSampler(index, CPU);
        var (indices, flags, count) = sampler.Sample(100, 11);
        Assert.Null(flags);
        Assert.Equal(100, count);
        var (a, p, n) = BoundaryMiner.SampleTriplets(index, 100, 11);
        Assert.Equal(a.Concat(p).Concat(n).Select(x => (long)x), indices.data<long>().ToArray());
    }

    [Fact]
    public void TheKernelSourceIsEmbeddedAndTheSelfCheckNeedsAGpu()
    {
        Assert.Contains(TripletSampler.Source, KernelSources.All());
        Assert.Contains("sample_triplets", KernelSources.Read(TripletSampler.Source));
        if (!torch.cuda.is_available())
            Assert.ThrowsAny<Exception>(() => TripletSampler.SelfCheck(new torch.Device(DeviceType.CUDA, 0))); // never reports agreement without a device
    }
}
