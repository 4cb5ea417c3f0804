namespace UniCLift.Tests.Losses;

using UniCLift.Compute.Losses;
using UniCLift.Compute.Scenes;

public sealed class BoundaryMinerTests
{
    // x: 0 1 2 3
    // y0 [1 1 2 2]
    // y1 [1 1 2 2]
    // y2 [0 0 0 2]
    private static readonly LabelMap Small = new(4, 3, new[] { 1, 1, 2, 2, 1, 1, 2, 2, 0, 0, 0, 2 });

    [Fact]
    public void FourConnectedBoundaryWithBackground()
    {
        var index = BoundaryMiner.Build(Small);
        Assert.Equal(new[] { 1, 2, 4, 5, 6, 8, 9, 10, 11 }, index.BoundaryPixels);
        // Pixel 5 = (1,1) label 1 touches (2,1) = 2 and (1,2) = 0.
        int b = Array.IndexOf(index.BoundaryPixels, 5);
        var across = index.NeighbourPixels[index.NeighbourOffsets[b]..index.NeighbourOffsets[b + 1]].OrderBy(p => p);
        Assert.Equal(new[] { 6, 9 }, across);
    }

    [Fact]
    public void BackgroundCanBeExcluded()
    {
        var index = BoundaryMiner.Build(Small, new BoundaryOptions { BackgroundIsSegment = false });
        Assert.Equal(new[] { 1, 2, 5, 6 }, index.BoundaryPixels);
        Assert.Equal(new[] { 1, 2 }, index.SegmentLabels);
    }

    [Fact]
    public void EightConnectedAddsDiagonalContacts()
    {
        var index = BoundaryMiner.Build(Small, new BoundaryOptions { Connectivity = Connectivity.Eight });
        Assert.Equal(new[] { 1, 2, 4, 5, 6, 7, 8, 9, 10, 11 }, index.BoundaryPixels);
    }

    [Fact]
    public void TripletsRespectSegmentsAdjacencyCapAndSeed()
    {
        var mask = Blocks(40, 30);
        var index = BoundaryMiner.Build(mask);
        var (a, p, n) = BoundaryMiner.SampleTriplets(index, 100, 3UL);
        Assert.True(index.BoundaryPixels.Length > 100);
        Assert.Equal(100, a.Length);
        Assert.Equal(a.Length, p.Length);
        Assert.Equal(a.Length, n.Length);
        Assert.Equal(a.Length, a.Distinct().Count());
        var boundary = index.BoundaryPixels.ToHashSet();
        for (int t = 0; t < a.Length; t++)
        {
            int la = mask.Labels[a[t]];
            Assert.Contains(a[t], boundary);
            Assert.NotEqual(a[t], p[t]);
            Assert.Equal(la, mask.Labels[p[t]]);
            int ln = mask.Labels[n[t]];
            Assert.NotEqual(la, ln);
            Assert.Contains(ln, NeighbourLabels(mask, a[t])); // the segment across a's own boundary
        }
        // Positives and negatives are mostly drawn near the anchor (radius 10).
        Assert.True(Enumerable.Range(0, a.Length).Count(t => Distance2(mask.Width, a[t], p[t]) <= 100) > a.Length * 0.9);
        Assert.True(Enumerable.Range(0, a.Length).All(t => Distance2(mask.Width, a[t], n[t]) <= 100));

        var again = BoundaryMiner.SampleTriplets(index, 100, 3UL);
        Assert.Equal(a, again.Anchor);
        Assert.Equal(p, again.Positive);
        Assert.Equal(n, again.Negative);
        Assert.NotEqual(a, BoundaryMiner.SampleTriplets(index, 100, 4UL).Anchor);

        // Fewer boundary pixels than max: every boundary pixel once; 3000 cap respected.
        var all = BoundaryMiner.SampleTriplets(index, BoundaryMiner.MaxTripletsPerIteration, 1UL);
        Assert.Equal(index.BoundaryPixels.Length, all.Anchor.Length);
        Assert.True(all.Anchor.Length <= BoundaryMiner.MaxTripletsPerIteration);
    }

    [Fact]
    public void RadiusZeroUsesTheNeighbourAcrossTheBoundary()
    {
        var mask = Blocks(12, 10);
        var index = BoundaryMiner.Build(mask);
        var (a, _, n) = BoundaryMiner.SampleTriplets(index, 50, 9UL, radius: 0);
        for (int t = 0; t < a.Length; t++) Assert.Equal(1, Distance2(mask.Width, a[t], n[t]));
    }

    [Fact]
    public void OnePixelSegmentsYieldNoTriplet()
    {
        var index = BoundaryMiner.Build(new LabelMap(2, 1, new[] { 1, 2 }));
        Assert.Equal(2, index.BoundaryPixels.Length);
        Assert.Empty(BoundaryMiner.SampleTriplets(index, 10, 1UL).Anchor);
    }

    [Fact]
    public void WrongMaskSizeIsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => BoundaryMiner.Build(new LabelMap(3, 3, new int[8])));
        Assert.Contains("3x3", ex.Message);
    }

    /// <summary>Three labels (0 background, 1 left block, 2 right block) with a ragged edge.</summary>
    internal static LabelMap Blocks(int w, int h)
    {
        var labels = new int[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                labels[y * w + x] = y >= h * 2 / 3 ? 0 : x < w / 2 + (y % 3) ? 1 : 2;
        return new LabelMap(w, h, labels);
    }

    private static HashSet<int> NeighbourLabels(LabelMap m, int p)
    {
        int x = p % m.Width, y = p / m.Width;
        var s = new HashSet<int>();
        if (x > 0) s.Add(m.Labels[p - 1]);
        if (x < m.Width - 1) s.Add(m.Labels[p + 1]);
        if (y > 0) s.Add(m.Labels[p - m.Width]);
        if (y < m.Height - 1) s.Add(m.Labels[p + m.Width]);
        return s;
    }

    private static int Distance2(int w, int a, int b)
    {
        int dx = a % w - b % w, dy = a / w - b / w;
        return dx * dx + dy * dy;
    }
}
