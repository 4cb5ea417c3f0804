namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;

/// <summary>
/// When the input masks leave nothing background (Segment Anything's cover floor and walls too), the codebook finds
/// the background by where the codes lie in the world: instances whose surface spreads over the scene in two
/// directions (floor, walls) are background, compact ones are objects, however large on screen.
/// </summary>
public sealed class SurfaceBackgroundTests
{
    [Fact]
    public void SpreadOfAUniformRectangleIsItsSidesOverRootTwelveInAnyOrientation()
    {
        // A 3 x 1 rectangle sampled on a fine grid, turned about z and then about x, far from the origin.
        double c = Math.Cos(0.7), s = Math.Sin(0.7);
        var r = default(SurfaceMoments);
        for (int i = 0; i < 300; i++)
            for (int j = 0; j < 100; j++)
            {
                double u = (i + 0.5) / 100, v = (j + 0.5) / 100; // [0,3] x [0,1]
                (double x, double y) = (c * u - s * v, s * u + c * v);
                r += SurfaceMoments.Point(40 + x, -7 + c * y, 12 + s * y);
            }
        var (first, second, third) = r.Spread();
        Assert.Equal(3 / Math.Sqrt(12), first, 2);
        Assert.Equal(1 / Math.Sqrt(12), second, 2);
        Assert.Equal(0, third, 3);
        Assert.Equal((0.0, 0.0, 0.0), SurfaceMoments.Point(1, 2, 3).Spread()); // one point: no spread
    }

    [Fact]
    public void SymmetricEigenvaluesMatchKnownMatrices()
    {
        Assert.Equal((5.0, 3.0, 1.0), SurfaceMoments.SymmetricEigenvalues(1, 0, 0, 5, 0, 3));
        // [[2,1,0],[1,2,0],[0,0,7]]: 7, 3, 1.
        var (a, b, c) = SurfaceMoments.SymmetricEigenvalues(2, 1, 0, 2, 0, 7);
        Assert.Equal(7, a, 9);
        Assert.Equal(3, b, 9);
        Assert.Equal(1, c, 9);
        // [[4,1,2],[1,3,0],[2,0,5]]: trace 12, det 4*15 - 1*5 + 2*(-6) = 43.
        var (x, y, z) = SurfaceMoments.SymmetricEigenvalues(4, 1, 2, 3, 0, 5);
        Assert.Equal(12, x + y + z, 9);
        Assert.Equal(43, x * y * z, 9);
        Assert.True(x >= y && y >= z);
    }

    [Fact]
    public void OnlyInteriorPixelsWithASurfaceArePlaced()
    {
        // 4x4 view: code 1 everywhere but the corner (code 2). Pixel (x, y) shows the point (x, y, 0); pixel 10 shows none.
        var codes = Enumerable.Repeat(1, 16).ToArray();
        codes[0] = 2;
        var points = new float[48];
        for (int i = 0; i < 16; i++) (points[3 * i], points[3 * i + 1], points[3 * i + 2]) = (i % 4, i / 4, 0);
        points[30] = float.NaN;
        var s = CodeStatistics.OfView(codes, null, 4, points);
        // Code 1's pixels 1 and 4 touch the corner; pixel 10 has no surface: 15 - 2 - 1 placed. The corner has a
        // neighbour of another code, so code 2 has none.
        Assert.Equal(12, s.Surface[1].N);
        Assert.False(s.Surface.ContainsKey(2));
        Assert.Equal(12, s.SceneSurface.N);
        // Without the width every pixel with a surface counts.
        var all = CodeStatistics.OfView(codes, null, 0, points);
        Assert.Equal(14, all.Surface[1].N);
        Assert.Equal(1, all.Surface[2].N);
        Assert.Throws<ArgumentException>(() => CodeStatistics.OfView(codes, null, 4, new float[47]));
    }

    [Fact]
    public void AtAnEdgeWithADepthJumpTheNearerCodeIsInFrontReadOneStepInsideEachSide()
    {
        // One row: code 1 at depth 2, code 2 at depth 4; the edge pixels blend (3 and 3.5) and are not read.
        int[] codes = [1, 1, 1, 2, 2, 2];
        var s = CodeStatistics.OfView(codes, null, 6, null, [2, 2, 3, 3.5f, 4, 4]);
        Assert.Equal((1L, 0L), s.Occlusion[1]);
        Assert.Equal((0L, 1L), s.Occlusion[2]);
        // A jump under a tenth of the farther depth (a cup on its table) is no edge; nor is one without a surface.
        Assert.Empty(CodeStatistics.OfView(codes, null, 6, null, [2, 2, 2, 2.1f, 2.1f, 2.1f]).Occlusion);
        Assert.Empty(CodeStatistics.OfView(codes, null, 6, null, [2, 2, 2, float.NaN, float.NaN, 4]).Occlusion);
        // Columns too: a 2x3 view whose bottom row is nearer.
        var v = CodeStatistics.OfView([5, 5, 6, 6, 6, 6], null, 2, null, [9, 9, 9, 1, 1, 1]);
        Assert.Equal((0L, 2L), v.Occlusion[5]);
        Assert.Equal((2L, 0L), v.Occlusion[6]);
        Assert.Throws<ArgumentException>(() => CodeStatistics.OfView(codes, null, 6, null, new float[5]));
        // Counts add up across views and survive their arrays.
        s.Add(s);
        var (c, area, votes, pixels) = s.ToArrays();
        var (front, behind) = s.OcclusionOf(c);
        Assert.Equal(s.Occlusion, CodeStatistics.FromArrays(c, area, votes, pixels).WithOcclusion(c, front, behind).Occlusion);
        Assert.Equal((2L, 0L), s.Occlusion[1]);
        var e = Assert.Throws<ArgumentException>(() => CodeStatistics.FromArrays(c, area, votes, pixels).WithOcclusion(c, [-1, 0], [0, 0]));
        Assert.Contains("code 1", e.Message);
    }

    [Fact]
    public void SurfaceTablesRoundTripAndInconsistentOnesNameTheCode()
    {
        var (stats, _) = Room(masksGiveBackground: false);
        var (codes, area, votes, pixels) = stats.ToArrays();
        var copy = CodeStatistics.FromArrays(codes, area, votes, pixels).WithSurface(codes, stats.SurfaceOf(codes));
        Assert.Equal(stats.Surface, copy.Surface);
        var bad = stats.SurfaceOf(codes);
        bad[0] = area[0] + 1; // more placed points than the code has pixels
        var e = Assert.Throws<ArgumentException>(() => CodeStatistics.FromArrays(codes, area, votes, pixels).WithSurface(codes, bad));
        Assert.Contains($"code {codes[0]}", e.Message);
        Assert.Throws<ArgumentException>(() => CodeStatistics.FromArrays(codes, area, votes, pixels).WithSurface(codes, new double[3]));
    }

    [Fact]
    public void WithoutBackgroundMasksTheSurfacesSpreadOverTheRoomAreBackgroundAndObjectsStay()
    {
        var (stats, _) = Room(masksGiveBackground: false);
        var book = LabelCodebook.Build(stats, null, new CodebookOptions { MinCodeFraction = 0 });
        // The floor's two pieces and the wall are background, the floor piece with the most pixels its code; the
        // close-up object is the largest code on screen but compact, so it stays an instance, as does the chair.
        Assert.Equal(Floor, book.BackgroundCode);
        Assert.Equal(BackgroundSource.Geometry, book.BackgroundFrom);
        Assert.Equal(0, book.TryGetId(FloorPiece));
        Assert.Equal(0, book.TryGetId(Wall));
        Assert.Equal(new[] { CloseUp, Chair }, book.Codes);
        var spreads = book.InstanceSurfaces(stats);
        Assert.True(spreads[0].Spread().Second > spreads[1].Spread().First);

        // A bed spreads like a floor, but stands in front of what it meets: it stays an object, while the floor, behind
        // what it meets, is still background.
        var (codes, area, votes, pixels) = stats.ToArrays();
        long[] front = codes.Select(c => c == CloseUp ? 80L : 5L).ToArray(), behind = codes.Select(c => c == CloseUp ? 20L : 95L).ToArray();
        var bedRoom = CodeStatistics.FromArrays(codes, area, votes, pixels).WithSurface(codes, stats.SurfaceOf(codes)).WithOcclusion(codes, front, behind);
        var options = new CodebookOptions { MinCodeFraction = 0, SurfaceSpread = 0.05 }; // every instance spreads enough
        var withBed = LabelCodebook.Build(bedRoom, null, options);
        Assert.Equal(Floor, withBed.BackgroundCode);
        Assert.Equal(new[] { CloseUp }, withBed.Codes); // the chair is given the floor's counts here: background at this spread
        Assert.Empty(LabelCodebook.Build(bedRoom, null, options with { SurfaceMaxFront = 0.9 }).Codes); // in front on 80%: now under the bar

        // Off: the largest code is the background, as before the rule.
        var off = LabelCodebook.Build(stats, null, new CodebookOptions { MinCodeFraction = 0, SurfaceSpread = 1 });
        Assert.Equal(CloseUp, off.BackgroundCode);
        Assert.Equal(BackgroundSource.Largest, off.BackgroundFrom);
        Assert.Contains(Wall, off.Codes);
    }

    [Fact]
    public void OutdoorsWhatRunsPastTheFrameAndAlongTheSceneIsBackgroundWhenAskedFor()
    {
        // A street: the road (behind what it meets), a row of buildings that stands in front of what its gaps show (the
        // depth-edge rule keeps it), a car near the cameras that reaches the frame's edge in every view but is compact,
        // and a long fence that the views show whole, away from the frame's edge.
        var rng = new Random(3);
        (int Code, int Pixels, Func<(double, double, double)> Point, long Front, int Touching)[] parts =
        [
            (Road, 90, () => (40 * rng.NextDouble(), 8 * rng.NextDouble(), 0), 5, 6),
            (Buildings, 70, () => (40 * rng.NextDouble(), 10, 1 + 2 * rng.NextDouble()), 60, 6),
            (Car, 50, () => (10 + 4 * rng.NextDouble(), 2 + 1.8 * rng.NextDouble(), 1.4 * rng.NextDouble()), 80, 6),
            (Fence, 30, () => (5 + 25 * rng.NextDouble(), 7, 0.8 * rng.NextDouble()), 70, 1),
        ];
        var stats = new CodeStatistics();
        var (codes, points) = Pixels(parts.Select(p => (p.Code, p.Pixels, p.Point)));
        stats.AddView(codes, codes, 0, points); // SAM-style: every pixel in its code's segment
        var sorted = parts.Select(p => p.Code).Order().ToArray();
        stats.WithOcclusion(sorted, sorted.Select(c => parts.Single(p => p.Code == c).Front).ToArray(), sorted.Select(c => 100 - parts.Single(p => p.Code == c).Front).ToArray());
        for (int view = 0; view < 6; view++) // six views show every part; the fence reaches the border in one of them
            stats.WithBorder(sorted, sorted.Select(c => parts.Single(p => p.Code == c).Touching > view ? 2 : 1).ToArray());

        // Off by default: the buildings stay an instance.
        Assert.Contains(Buildings, LabelCodebook.Build(stats, null, new CodebookOptions { MinCodeFraction = 0 }).Codes);
        var options = new CodebookOptions { MinCodeFraction = 0, SurfaceBorderShare = 0.8 };
        var book = LabelCodebook.Build(stats, null, options);
        Assert.Equal(Road, book.BackgroundCode);
        Assert.Equal(BackgroundSource.Geometry, book.BackgroundFrom);
        Assert.Equal(0, book.TryGetId(Buildings));
        Assert.Equal(new[] { Car, Fence }, book.Codes);
        Assert.Equal((6, 6), book.InstanceBorder(stats)[0]);
        Assert.Equal((6, 1), book.InstanceBorder(stats)[book.TryGetId(Fence)!.Value]);

        // Asking for more views than there are: the buildings stay an instance.
        Assert.Contains(Buildings, LabelCodebook.Build(stats, null, options with { SurfaceBorderMinViews = 7 }).Codes);
        // With no first-spread bar the car, at the frame's edge in every view, would be taken too: the spread is what
        // keeps an object near the cameras.
        Assert.DoesNotContain(Car, LabelCodebook.Build(stats, null, options with { SurfaceBorderSpread = 0 }).Codes);
    }

    [Fact]
    public void MasksThatGiveTheBackgroundDecideItAndViewsWithoutPointsKeepTheLargestCode()
    {
        // The masks call the floor 0: it is the background, and the wall (a segment of its own) stays an instance.
        var (stats, _) = Room(masksGiveBackground: true);
        var book = LabelCodebook.Build(stats, null, new CodebookOptions { MinCodeFraction = 0 });
        Assert.Equal(Floor, book.BackgroundCode);
        Assert.Equal(BackgroundSource.Masks, book.BackgroundFrom);
        Assert.Contains(Wall, book.Codes);

        // Without points nothing says where the codes lie: the largest code is the background.
        var (_, flat) = Room(masksGiveBackground: false);
        var blind = LabelCodebook.Build(flat, null, new CodebookOptions { MinCodeFraction = 0 });
        Assert.Equal(CloseUp, blind.BackgroundCode);
        Assert.Equal(BackgroundSource.Largest, blind.BackgroundFrom);
    }

    [Fact]
    public void ASpeckInTheSegmentsOfTheBackgroundsPiecesJoinsItOnceThePiecesAreOne()
    {
        // Six views; the floor decodes to six codes, strips of the room, each a SAM mask of its own; a speck (code 9)
        // lies in view i in the mask of strip i, so a sixth of it in each strip's segments: too small a share of the
        // evidence for any one strip (MergeTargetShare), so it stood as an instance. Once the strips are one background
        // it lies wholly in its segments and joins it. A compact object (code 5) in its own mask stays.
        var rng = new Random(3);
        var stats = new CodeStatistics();
        for (int view = 0; view < 6; view++)
        {
            var (codes, points) = Pixels(Enumerable.Range(0, 6)
                .Select(strip => (100 + strip, 40, (Func<(double, double, double)>)(() => (strip + rng.NextDouble(), 6 * rng.NextDouble(), 0))))
                .Append((9, 4, () => (3 + 0.05 * rng.NextDouble(), 3 + 0.05 * rng.NextDouble(), 0.01)))
                .Append((5, 30, () => (2 + 0.4 * rng.NextDouble(), 2 + 0.4 * rng.NextDouble(), 0.4 * rng.NextDouble()))));
            // Strip k in mask 10 + k, the speck in this view's strip's mask, the object in mask 1.
            var mask = codes.Select(c => c >= 100 ? c - 90 : c == 9 ? 10 + view : 1).ToArray();
            stats.AddView(codes, mask, 0, points);
        }
        var options = new CodebookOptions { MinCodeFraction = 0 };
        var book = LabelCodebook.Build(stats, null, options);
        Assert.Equal(BackgroundSource.Geometry, book.BackgroundFrom);
        Assert.Equal(new[] { 5 }, book.Codes);
        Assert.Equal(0, book.TryGetId(9));
        Assert.All(Enumerable.Range(100, 6), c => Assert.Equal(0, book.TryGetId(c)));
        var off = LabelCodebook.Build(stats, null, options with { SurfaceJoinAbsorbed = 1 });
        Assert.Equal(new[] { 5, 9 }, off.Codes);
    }

    [Fact]
    public void SurfacePointsUnprojectTheExpectedDepthWhereTheRenderIsOpaque()
    {
        // Camera at (1, 2, 3) looking down +z (identity rotation); 4x2 pixels, fx = fy = 2, centre (2, 1).
        var camera = new Camera(4, 2, 2, 2, 2, 1, [1, 0, 0, 1, 0, 1, 0, 2, 0, 0, 1, 3, 0, 0, 0, 1]);
        float[] alpha = [0.8f, 0.5f, 0.49f, 1, 1, 1, 0, 1];
        float[] depth = [1.6f, 2f, 1, 4, 2, 2, 0, 3];
        var p = EmbeddingDecoder.SurfacePoints(EmbeddingDecoder.SurfaceDepth(depth, alpha), camera);
        // Pixel 0: (u, v) = (0, 0), depth 1.6 / 0.8 = 2: x = (0 - 2) / 2 * 2 = -2, y = (0 - 1) / 2 * 2 = -1.
        Assert.Equal([-1f, 1f, 5f], p[0..3]);
        // Pixel 3: (3, 0) at depth 4: x = (3 - 2) / 2 * 4 = 2, y = (0 - 1) / 2 * 4 = -2.
        Assert.Equal([3f, 0f, 7f], p[9..12]);
        Assert.True(float.IsNaN(p[6]) && float.IsNaN(p[18])); // alpha under 0.5: no surface
        Assert.False(float.IsNaN(p[3])); // alpha exactly 0.5 counts
        Assert.Throws<ArgumentException>(() => EmbeddingDecoder.SurfaceDepth(depth[..7], alpha));
        Assert.Throws<ArgumentException>(() => EmbeddingDecoder.SurfacePoints(depth[..7], camera));
    }

    private const int Floor = 100, FloorPiece = 300, Wall = 200, Chair = 5, CloseUp = 6;
    private const int Road = 11, Buildings = 22, Car = 33, Fence = 44;

    /// <summary>
    /// Two views of a 6 x 6 x 2.5 m room, every pixel in a SAM-style mask of its code's own (or, with
    /// <paramref name="masksGiveBackground"/>, the floor's pixels 0): the floor in two codes, a wall, a chair, and a
    /// close-up object covering the most pixels. Returns the statistics with each pixel's world point and without.
    /// </summary>
    private static (CodeStatistics WithPoints, CodeStatistics WithoutPoints) Room(bool masksGiveBackground)
    {
        var rng = new Random(5);
        (int Code, int Pixels, Func<(double, double, double)> Point)[] parts =
        [
            (CloseUp, 70, () => (3 + 0.6 * rng.NextDouble(), 3 + 0.6 * rng.NextDouble(), 0.5 + 0.6 * rng.NextDouble())),
            (Floor, 60, () => (6 * rng.NextDouble(), 6 * rng.NextDouble(), 0)),
            (Wall, 40, () => (6 * rng.NextDouble(), 6, 2.5 * rng.NextDouble())),
            (FloorPiece, 30, () => (6 * rng.NextDouble(), 3 + 3 * rng.NextDouble(), 0)),
            (Chair, 20, () => (1 + 0.5 * rng.NextDouble(), 1 + 0.5 * rng.NextDouble(), 0.9 * rng.NextDouble())),
        ];
        var with = new CodeStatistics();
        var without = new CodeStatistics();
        for (int view = 0; view < 2; view++)
        {
            var (codes, points) = Pixels(parts);
            var mask = codes.Select(c => masksGiveBackground && c == Floor ? 0 : c).ToArray();
            with.AddView(codes, mask, 0, points);
            without.AddView(codes, mask);
        }
        return (with, without);
    }

    /// <summary>A view's pixels, part after part: each part's code on its count of pixels, each pixel at a point the part
    /// draws (x, y, z per pixel).</summary>
    private static (int[] Codes, float[] Points) Pixels(IEnumerable<(int Code, int Pixels, Func<(double, double, double)> Point)> parts)
    {
        var codes = new List<int>();
        var points = new List<float>();
        foreach (var (code, pixels, point) in parts)
            for (int i = 0; i < pixels; i++)
            {
                codes.Add(code);
                var (x, y, z) = point();
                points.AddRange([(float)x, (float)y, (float)z]);
            }
        return (codes.ToArray(), points.ToArray());
    }
}
