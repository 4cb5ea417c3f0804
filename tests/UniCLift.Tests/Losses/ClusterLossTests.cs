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
    // PerSegment, AsSegment: pull as Mean, push = 2 * 0.88 / 3
    [InlineData(ClusterNormalisation.PerSegment, BackgroundMode.AsSegment, (0.05 + 0.08 / 3) / 3 - 1.76 / 3)]
    // PerSegment, Ignore: push = 2 * 0.09 / 2
    [InlineData(ClusterNormalisation.PerSegment, BackgroundMode.Ignore, (0.05 + 0.08 / 3) / 2 - 0.09)]
    public void MatchesHandComputedValues(ClusterNormalisation normalisation, BackgroundMode background, double expected)
    {
        using var scope = NewDisposeScope();
        var v = LossTestUtil.FromSigmoid(Vh, 2, 3, 2);
        var options = new ClusterLossOptions { Normalisation = normalisation, Background = background, MaxPixels = 0 };
        Assert.Equal(expected, ClusterLoss.Compute(v, Mask, options).item<float>(), 5);
    }

    [Theory]
    // Segments of 2, 3 and 1 pixels with pulls 0.10, 0.08 and 0; a pixel of a segment of n weighs n^-a, the weights summing to 1.
    [InlineData(1.0, (0.05 + 0.08 / 3) / 3)] // every segment alike (the rule of Mean)
    [InlineData(0.0, 0.18 / 6)] // every pixel alike
    [InlineData(0.5, (0.10 / 1.4142135623730951 + 0.08 / 1.7320508075688772) / (1.4142135623730951 + 1.7320508075688772 + 1))]
    public void PullWeighsASegmentByItsSizeToTheExponent(double exponent, double pull)
    {
        using var scope = NewDisposeScope();
        var v = LossTestUtil.FromSigmoid(Vh, 2, 3, 2);
        foreach (var normalisation in new[] { ClusterNormalisation.Mean, ClusterNormalisation.MeanHingePerSegment })
        {
            var options = new ClusterLossOptions { Normalisation = normalisation, MaxPixels = 0, PullSizeExponent = exponent };
            Assert.Equal(pull - 0.88 / 3, ClusterLoss.Compute(v, Mask, options).item<float>(), 5);
        }
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void PullSizeExponentOutsideZeroToOneIsRejected(double exponent)
    {
        using var scope = NewDisposeScope();
        var v = LossTestUtil.FromSigmoid(Vh, 2, 3, 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ClusterLoss.Compute(v, Mask, new ClusterLossOptions { MaxPixels = 0, PullSizeExponent = exponent }));
        Assert.Contains("PullSizeExponent", e.Message);
    }

    [Fact]
    public void HingePushAddsTheMarginShortfallOfEveryPair()
    {
        using var scope = NewDisposeScope();
        var v = LossTestUtil.FromSigmoid(Vh, 2, 3, 2);
        double Short(double d2) => Math.Pow(Math.Max(0, 1 - Math.Sqrt(d2)), 2);
        double hinge = 2 * (Short(0.09) + Short(0.29) + Short(0.50)); // ordered pairs, margin 1
        var plain = new ClusterLossOptions { MaxPixels = 0 };
        var withHinge = plain with { PushMargin = 1 };
        Assert.Equal((0.05 + 0.08 / 3) / 3 - 0.88 / 3 + hinge / 6, ClusterLoss.Compute(v, Mask, withHinge).item<float>(), 5);
        var perSegment = withHinge with { Normalisation = ClusterNormalisation.PerSegment };
        Assert.Equal((0.05 + 0.08 / 3) / 3 - 1.76 / 3 + hinge / 3, ClusterLoss.Compute(v, Mask, perSegment).item<float>(), 5);
        // MeanHingePerSegment: pull and squared push as Mean, the hinge per segment (K = 3).
        var hingePerSegment = withHinge with { Normalisation = ClusterNormalisation.MeanHingePerSegment };
        Assert.Equal((0.05 + 0.08 / 3) / 3 - 0.88 / 3 + hinge / 3, ClusterLoss.Compute(v, Mask, hingePerSegment).item<float>(), 5);
        // Without a margin it is Mean.
        Assert.Equal(ClusterLoss.Compute(v, Mask, plain).item<float>(),
            ClusterLoss.Compute(v, Mask, plain with { Normalisation = ClusterNormalisation.MeanHingePerSegment }).item<float>(), 6);
        // A margin below every distance adds nothing.
        Assert.Equal(ClusterLoss.Compute(v, Mask, plain).item<float>(), ClusterLoss.Compute(v, Mask, plain with { PushMargin = 0.2 }).item<float>(), 6);
    }

    [Fact]
    public void OnlyTheHingeSeparatesTwoSegmentsWhoseCentroidsAlmostCoincide()
    {
        // Two segments with nearly the same embedding beside a third far away: the squared-distance push moves both
        // away from the third (same direction), the hinge moves them apart from each other.
        using var scope = NewDisposeScope();
        var labels = new[] { 1, 1, 2, 2, 3, 3 };
        var mask = new LabelMap(6, 1, labels);
        var vh = new float[] { 0.60f, 0.50f, 0.60f, 0.50f, 0.61f, 0.50f, 0.61f, 0.50f, 0.10f, 0.10f, 0.10f, 0.10f };
        double Separation(ClusterLossOptions o)
        {
            var v = LossTestUtil.FromSigmoid(vh, 1, 6, 2).requires_grad_(true);
            ClusterLoss.Compute(v, mask, o).backward();
            var g = v.grad!.reshape(6, 2);
            // Gradient descent moves segment 1 by -g; positive = the two segments' channel-0 gap grows.
            return (-(g[2, 0] + g[3, 0]) + (g[0, 0] + g[1, 0])).item<float>();
        }
        var plain = new ClusterLossOptions { MaxPixels = 0, Background = BackgroundMode.Ignore };
        double squared = Separation(plain), hinged = Separation(plain with { PushMargin = 1 });
        // The squared push's separating force is proportional to the 0.01 gap; the hinge's is not.
        Assert.True(hinged > 20 * Math.Abs(squared), $"separation: squared push {squared}, with hinge {hinged}");
    }

    [Fact]
    public void WithManySegmentsTheHingePerSegmentPartsACoincidingPairFarHarderThanPerPair()
    {
        // Two segments on one embedding among 38 others spread over the cube: the force that parts the pair fades as
        // 1/(K(K-1)) under Mean, as 1/K under MeanHingePerSegment, while every segment's pull weighs 1/K in both.
        using var scope = NewDisposeScope();
        const int k = 40, perSegment = 2;
        var rng = new Random(3);
        var labels = new int[k * perSegment];
        var vh = new float[k * perSegment * 2];
        for (int s = 0; s < k; s++)
        {
            float a = s < 2 ? 0.30f + 0.01f * s : (float)rng.NextDouble(), b = s < 2 ? 0.5f : (float)rng.NextDouble();
            for (int p = 0; p < perSegment; p++)
            {
                int i = s * perSegment + p;
                labels[i] = s + 1;
                vh[2 * i] = Math.Clamp(a, 0.02f, 0.98f);
                vh[2 * i + 1] = Math.Clamp(b, 0.02f, 0.98f);
            }
        }
        var mask = new LabelMap(k * perSegment, 1, labels);
        double Separation(ClusterNormalisation n)
        {
            var v = LossTestUtil.FromSigmoid(vh, 1, k * perSegment, 2).requires_grad_(true);
            ClusterLoss.Compute(v, mask, new ClusterLossOptions { MaxPixels = 0, PushMargin = 1, Normalisation = n, Background = BackgroundMode.Ignore }).backward();
            var g = v.grad!.reshape(k * perSegment, 2);
            // Gradient descent: segment 2's channel 0 minus segment 1's; positive = the pair's gap grows.
            return (-(g[2, 0] + g[3, 0]) + (g[0, 0] + g[1, 0])).item<float>();
        }
        double mean = Separation(ClusterNormalisation.Mean), perSegmentHinge = Separation(ClusterNormalisation.MeanHingePerSegment);
        Assert.True(mean > 0, $"Mean separation {mean}");
        Assert.True(perSegmentHinge > 10 * mean, $"separation: Mean {mean}, MeanHingePerSegment {perSegmentHinge}");
    }

    [Fact]
    public void AGradientStepDecreasesTheLoss()
    {
        using var scope = NewDisposeScope();
        var labels = new int[8 * 8];
        for (int i = 0; i < labels.Length; i++) labels[i] = (i % 8) / 3; // three vertical stripes 0,1,2
        var mask = new LabelMap(8, 8, labels);
        var v = torch.randn(new long[] { 8, 8, 4 }, generator: new Generator(11)).requires_grad_(true);
        foreach (var norm in Enum.GetValues<ClusterNormalisation>())
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

    [Theory]
    [InlineData(BackgroundMode.AsSegment)] // every pixel takes part: the kept targets hold no pixel index, features are not gathered
    [InlineData(BackgroundMode.Ignore)]    // background left out: the targets gather the other pixels
    public void KeptTargetsGiveTheLossAndGradientsOfTheMask(BackgroundMode background)
    {
        using var scope = NewDisposeScope();
        var labels = Enumerable.Range(0, 12 * 9).Select(i => i % 7 == 0 ? 0 : 1 + (i / 12) / 3 + (i % 12) / 4 * 3).ToArray();
        var mask = new LabelMap(12, 9, labels);
        var options = new ClusterLossOptions { MaxPixels = 0, Background = background, PushMargin = 1, PullSizeExponent = 0,
            Normalisation = ClusterNormalisation.MeanHingePerSegment };
        Assert.True(ClusterTargets.IsConstant(mask, options));
        using var targets = ClusterTargets.Build(mask, options, null, CPU, float32);
        Assert.Equal(background == BackgroundMode.AsSegment, targets.Pixels is null);
        Assert.Equal(labels.Count(l => background == BackgroundMode.AsSegment || l != 0), targets.PixelCount);

        var v = torch.randn(new long[] { 9, 12, 4 }, generator: new Generator(3)).requires_grad_(true);
        var fromMask = ClusterLoss.Compute(v, mask, options);
        fromMask.backward();
        var gradMask = v.grad!.clone();
        v.grad!.zero_();
        for (int step = 0; step < 2; step++) // the second use reads the targets' cached weights and masks
        {
            var fromTargets = ClusterLoss.Compute(v, targets, options);
            fromTargets.backward();
            Assert.Equal(fromMask.item<float>(), fromTargets.item<float>());
            Assert.True(v.grad!.allclose(gradMask, rtol: 0, atol: 0)); // bit for bit
            v.grad!.zero_();
        }
    }

    [Fact]
    public void SampledTargetsAreNotConstantAndTargetsOfAnotherViewAreRejected()
    {
        using var scope = NewDisposeScope();
        var mask = new LabelMap(10, 10, Enumerable.Range(0, 100).Select(i => i % 4).ToArray());
        Assert.False(ClusterTargets.IsConstant(mask, new ClusterLossOptions { MaxPixels = 50 }));
        Assert.True(ClusterTargets.IsConstant(mask, new ClusterLossOptions { MaxPixels = 100 }));
        using var targets = ClusterTargets.Build(mask, ClusterLossOptions.Default with { MaxPixels = 0 }, null, CPU, float32);
        var ex = Assert.Throws<ArgumentException>(() => ClusterLoss.Compute(torch.zeros(9, 10, 2), targets));
        Assert.Contains("100 pixels", ex.Message);
        var dtype = Assert.Throws<ArgumentException>(() => ClusterLoss.Compute(torch.zeros(new long[] { 10, 10, 2 }, float64), targets));
        Assert.Contains("Float64", dtype.Message);
    }
}
