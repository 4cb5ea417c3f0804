namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.Segmentation;

/// <summary>The codebook built from per-view statistics (how the cluster decodes) equals the one built from pixels.</summary>
public sealed class CodeStatisticsTests
{
    private static readonly int[] View1 = { 5, 5, 5, 9, 9, 3, 5, 5, 9 };
    private static readonly int[] View2 = { 3, 3, 3, 3, 5, 9, 5, 5, 5 };
    private static readonly int[] Mask1 = { 0, 0, 0, 4, 4, 7, 0, 0, 4 };
    private static readonly int[] Mask2 = { 2, 2, 2, 2, 0, 1, 0, 0, 0 };

    [Fact]
    public void MergedPerViewStatisticsBuildTheSameCodebookAsAllPixels()
    {
        var options = new CodebookOptions { MinCodeFraction = 0.2 };
        var direct = LabelCodebook.Build(new[] { View1, View2 }, new[] { Mask1, Mask2 }, new[] { 9, 3, 5, 12 }, options);

        var merged = CodeStatistics.OfView(View1, Mask1);
        merged.Add(CodeStatistics.OfView(View2, Mask2));
        var (codes, areas, votes, pixels) = merged.ToArrays();
        var travelled = CodeStatistics.FromArrays(codes, areas, votes, pixels);
        var fromStats = LabelCodebook.Build(travelled, new[] { 9, 3, 5, 12 }, options);

        Assert.Equal(new[] { 3, 5, 9 }, codes);
        Assert.Equal(new long[] { 5, 9, 4 }, areas);
        Assert.Equal(new long[] { 0, 9, 0 }, votes); // every mask-0 pixel decodes to code 5
        Assert.Equal(18, pixels);
        Assert.Equal(direct.BackgroundCode, fromStats.BackgroundCode);
        Assert.Equal(direct.Codes, fromStats.Codes);
        Assert.Equal(5, fromStats.BackgroundCode);
    }

    [Fact]
    public void InconsistentArraysAreRejectedWithTheCode()
    {
        var ex = Assert.Throws<ArgumentException>(() => CodeStatistics.FromArrays(new[] { 1, 2 }, new long[] { 3 }, new long[] { 0, 0 }, 3));
        Assert.Contains("2 codes, 1 areas", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => CodeStatistics.FromArrays(new[] { 7 }, new long[] { 2 }, new long[] { 3 }, 2));
        Assert.Contains("code 7", ex.Message);
        Assert.Throws<ArgumentException>(() => CodeStatistics.OfView(new[] { 1, 2 }, new[] { 0 }));
        ex = Assert.Throws<ArgumentException>(() => CodeStatistics.OfView(new[] { 1, 2, 3 }, null, 2));
        Assert.Contains("width 2", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => CodeStatistics.FromArrays(new[] { 7 }, new long[] { 2 }, new long[] { 0 }, 2).WithInterior(new[] { 7 }, new long[] { 3 }));
        Assert.Contains("code 7 has 3 interior pixels", ex.Message);
    }

    [Fact]
    public void InteriorCountsPixelsWhoseFourNeighboursShareTheirCode()
    {
        // 5x4 view: a 3x3 block of 2 on the bottom edge (its centre and the middle of its bottom row are interior: the
        // image's edge counts as the same code), a one-pixel column of 4 on the right edge (none), the rest 1 (only the
        // corner pixel (0,0) has no other code beside it).
        int[] view =
        {
            1, 1, 1, 1, 4,
            1, 2, 2, 2, 4,
            1, 2, 2, 2, 4,
            1, 2, 2, 2, 4,
        };
        var s = CodeStatistics.OfView(view, null, 5);
        Assert.Equal(1, s.Interior[1]);
        Assert.Equal(2, s.Interior[2]);
        Assert.False(s.Interior.ContainsKey(4));
        Assert.Equal(new long[] { 1, 2, 0 }, s.InteriorOf(new[] { 1, 2, 4 }));
        var travelled = CodeStatistics.FromArrays(new[] { 1, 2, 4 }, new long[] { 7, 9, 4 }, new long[] { 0, 0, 0 }, 20)
            .WithInterior(new[] { 1, 2, 4 }, s.InteriorOf(new[] { 1, 2, 4 }));
        Assert.Equal(s.Interior, travelled.Interior);
        Assert.Empty(CodeStatistics.OfView(view, null).Interior); // width unknown: nothing counts as interior
    }
}
