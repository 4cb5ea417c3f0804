namespace UniCLift.Tests.Metrics;

using UniCLift.Compute.Metrics;

public class SegmentOverlapTests
{
    [Fact]
    public void SegmentsMatchAtIouAboveOneHalfAndBackgroundIsNeverASegment()
    {
        // Row of 10 px. A: segment 1 on 0-5, segment 2 on 6-9. B: segment 7 on 0-3 (IoU with 1: 4/6), segment 8 on 4-7
        // (IoU with 1: 2/8, with 2: 2/6), 0 on 8-9.
        int[] a = [1, 1, 1, 1, 1, 1, 2, 2, 2, 2];
        int[] b = [7, 7, 7, 7, 8, 8, 8, 8, 0, 0];
        var o = new SegmentOverlap();
        o.Add(a, b);
        Assert.Equal(2, o.SegmentsA);
        Assert.Equal(2, o.SegmentsB);
        Assert.Equal(4, o.AreasA[2]);                      // pixels over B's background count in A's area
        Assert.Equal(4 / 6.0, o.Iou(1, 7), 12);
        Assert.Equal(2 / 8.0, o.Iou(1, 8), 12);
        Assert.Equal(2 / 6.0, o.Iou(2, 8), 12);
        Assert.Equal(0, o.Iou(2, 7));
        var m = Assert.Single(o.Matches());
        Assert.Equal((1, 7), (m.A, m.B));
        Assert.Equal(4 / 6.0, m.Iou, 12);

        o.Add(0, 0, 100);                                   // background on both sides: nothing
        o.Add(2, 8, 4);                                     // 2 and 8 now overlap 6 px, areas 8 and 8: IoU 6/10
        Assert.Equal(2, o.Matches().Count());
        Assert.Equal(0.6, o.Iou(2, 8), 12);
        Assert.Throws<ArgumentException>(() => o.Add([1, 2], [1]));
    }
}
