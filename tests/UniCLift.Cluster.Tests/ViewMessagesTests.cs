namespace UniCLift.Cluster.Tests;

using UniCLift.Compute.Losses;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Grains;
using UniCLift.Grains.Views;

/// <summary>The plain-array messages view grains exchange carry the compute types without loss.</summary>
public sealed class ViewMessagesTests
{
    private static readonly int[] Labels =
    [
        1, 1, 2, 2, 2,
        1, 1, 2, 2, 2,
        1, 0, 2, 2, 3,
    ];

    [Fact]
    public void BoundaryIndexRoundTripsAndSamplesTheSameTriplets()
    {
        var index = BoundaryMiner.Build(new LabelMap(5, 3, Labels));
        var back = index.ToMessage().ToIndex();
        Assert.Equal(index.Labels, back.Labels);
        Assert.Equal(index.BoundaryPixels, back.BoundaryPixels);
        Assert.Equal(index.NeighbourPixels, back.NeighbourPixels);
        Assert.Equal(index.SegmentPixels, back.SegmentPixels);
        Assert.NotEmpty(index.BoundaryPixels);
        var a = BoundaryMiner.SampleTriplets(index, 50, new Random(4));
        var b = BoundaryMiner.SampleTriplets(back, 50, new Random(4));
        Assert.Equal(a.Anchor, b.Anchor);
        Assert.Equal(a.Positive, b.Positive);
        Assert.Equal(a.Negative, b.Negative);
    }

    [Fact]
    public void ACorruptBoundaryMessageIsRejected()
    {
        var m = BoundaryMiner.Build(new LabelMap(5, 3, Labels)).ToMessage();
        var e = Assert.Throws<ArgumentException>(() => (m with { Labels = new int[4] }).ToIndex());
        Assert.Contains("5x3", e.Message);
    }

    [Fact]
    public void CodeStatisticsAndCodebookRoundTrip()
    {
        int[] codes = [5, 5, 9, 9, 3, 5];
        int[] mask = [0, 0, 4, 4, 7, 0];
        var stats = CodeStatistics.OfView(codes, mask);
        var back = stats.ToMessage().ToStatistics();
        Assert.Equal(stats.Area, back.Area);
        Assert.Equal(stats.BackgroundVotes, back.BackgroundVotes);
        Assert.Equal(6, back.Pixels);

        var book = LabelCodebook.Build(back, null, new CodebookOptions { MinCodeFraction = 0 });
        var same = book.ToMessage().ToCodebook();
        Assert.Equal(5, same.BackgroundCode);
        Assert.Equal(book.MapView(codes, 3, 2, null), same.MapView(codes, 3, 2, null));
    }

    [Fact]
    public void ViewSourcesCompareByValueIncludingTheCamera()
    {
        double[] pose = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -3, 0, 0, 0, 1];
        var a = new ViewSource("img.png", "mask.png", 4, 3, 2, 2, 2, 1.5, pose);
        var b = a with { CameraToWorld = (double[])pose.Clone() };
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        var moved = (double[])pose.Clone();
        moved[11] = -2.5;
        Assert.NotEqual(a, a with { CameraToWorld = moved });
        Assert.NotEqual(a, a with { MaskPath = null });
    }
}
