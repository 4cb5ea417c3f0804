namespace UniCLift.Tests.Metrics;

using UniCLift.Compute.Metrics;

public class BoundaryErrorProfileTests
{
    private const int W = 8, H = 6;

    /// <summary>8x6 background with object 1 on x = 2..5, y = 2..3 (8 px).</summary>
    private static int[] Rectangle(int id = 1)
    {
        var m = new int[W * H];
        for (int y = 2; y <= 3; y++)
            for (int x = 2; x <= 5; x++) m[y * W + x] = id;
        return m;
    }

    [Fact]
    public void Distance_Is_Half_A_Pixel_Beside_An_Edge_And_Chamfer_Beyond()
    {
        var d = BoundaryErrorProfile.DistanceToBoundary(Rectangle(), W, H);
        Assert.Equal(0.5f, d[2 * W + 2]);           // object pixel on the edge
        Assert.Equal(0.5f, d[2 * W + 1]);           // background pixel beside it
        Assert.Equal(1.5f, d[2 * W + 0]);
        Assert.Equal(1.91421f, d[1 * W + 0], 4);    // one step right-down diagonal from (1,2)
        Assert.Equal(2.91421f, d[0], 4);
        Assert.Equal(2, BoundaryErrorProfile.Band(d[0]));
        Assert.Equal(4, BoundaryErrorProfile.Band(float.PositiveInfinity));
        Assert.All(BoundaryErrorProfile.DistanceToBoundary(new int[W * H], W, H), v => Assert.True(float.IsPositiveInfinity(v)));
    }

    [Fact]
    public void Spill_Shrink_And_Wrong_Object_Are_Counted_In_Their_Band()
    {
        var gt = Rectangle();
        var pred = Rectangle(7);
        pred[2 * W + 6] = 7; pred[3 * W + 6] = 7;  // spill: two background pixels right of the object
        pred[2 * W + 2] = 0;                       // shrink: one object pixel lost
        pred[3 * W + 5] = 9;                       // wrong object
        var profile = new BoundaryErrorProfile();
        profile.Add(gt, pred, W, H);
        var s = profile.Summarise();
        var edge = s.Bands[0];
        Assert.Equal((2L, 1L, 1L), (edge.Spill, edge.Shrink, edge.WrongObject));
        Assert.All(s.Bands.Skip(1), b => Assert.Equal(0, b.Errors));
        Assert.Equal(W * H, s.Pixels);
        // pred 7: 8 px, 6 on the object: IoU 6 / 10.
        var obj = Assert.Single(s.Objects);
        Assert.Equal(7, obj.Pred);
        Assert.Equal(0.6, obj.Iou, 6);
        Assert.Equal(3, s.Lines().Count());
    }

    [Fact]
    public void Ids_Are_Matched_Over_All_Views_Unless_Added_Per_View()
    {
        // The same object named 3 in one view and 5 in the other: as one scene neither id has IoU > 0.5 (8 / 16).
        var scene = new BoundaryErrorProfile();
        scene.Add(Rectangle(), Rectangle(3), W, H);
        scene.Add(Rectangle(), Rectangle(5), W, H);
        var s = scene.Summarise();
        Assert.Equal(16, s.Bands.Sum(b => b.WrongObject));
        Assert.Null(s.Objects[0].Pred);
        Assert.Equal(0, s.Objects[0].Iou);

        var perView = new BoundaryErrorProfile();
        perView.AddMatchedPerView(Rectangle(), Rectangle(3), W, H);
        perView.AddMatchedPerView(Rectangle(), Rectangle(5), W, H);
        var p = perView.Summarise();
        Assert.Equal(0, p.Errors);
        Assert.Equal(1.0, p.Objects[0].Iou);

        // A per-view id that matches nothing stays wrong and does not match across views either.
        var pieces = new BoundaryErrorProfile();
        var half = Rectangle(4);
        for (int x = 2; x <= 5; x++) half[2 * W + x] = 6;
        pieces.AddMatchedPerView(Rectangle(), half, W, H);
        Assert.Equal(8, pieces.Summarise().Bands.Sum(b => b.WrongObject));
    }
}
