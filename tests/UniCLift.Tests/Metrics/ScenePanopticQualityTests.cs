namespace UniCLift.Tests.Metrics;

using UniCLift.Compute.Metrics;
using UniCLift.Compute.Scenes;

public class ScenePanopticQualityTests
{
    private const double Exact = 1e-9;

    // ---------- synthetic scenes ----------

    /// <summary>Frames of 64x48 with <paramref name="objects"/> rectangles (ids 1..n, always visible) that move per frame.</summary>
    private static List<LabelMap> SyntheticInstances(int frames, int objects, int seed = 7)
    {
        var rng = new Random(seed);
        var list = new List<LabelMap>();
        for (int f = 0; f < frames; f++)
        {
            var map = new LabelMap(64, 48);
            for (int k = 0; k < objects; k++)
            {
                // Non-overlapping slots of 10 columns; the object shifts a little inside its slot each frame.
                int x0 = k * 10 + rng.Next(0, 3), y0 = 8 + rng.Next(0, 10);
                for (int y = y0; y < y0 + 20; y++)
                    for (int x = x0; x < x0 + 7; x++)
                        map.Labels[y * 64 + x] = k + 1;
            }
            list.Add(map);
        }
        return list;
    }

    private static LabelMap Map(LabelMap src, Func<int, int> f) => new(src.Width, src.Height, src.Labels.Select(f).ToArray());

    /// <summary>A one-row frame from runs of (length, label).</summary>
    private static LabelMap Row(params (int Length, int Label)[] runs)
    {
        var labels = runs.SelectMany(r => Enumerable.Repeat(r.Label, r.Length)).ToArray();
        return new LabelMap(labels.Length, 1, labels);
    }

    /// <summary>A one-row frame from runs of (length, semantic, instance).</summary>
    private static (LabelMap Sem, LabelMap Inst) Row3(params (int Length, int Sem, int Inst)[] runs) =>
        (Row(runs.Select(r => (r.Length, r.Sem)).ToArray()), Row(runs.Select(r => (r.Length, r.Inst)).ToArray()));

    // ---------- sanity ----------

    [Fact]
    public void GroundTruth_As_Prediction_Scores_100()
    {
        var pq = new ScenePanopticQuality();
        foreach (var gt in SyntheticInstances(frames: 5, objects: 6))
            pq.AddFrame(gt, null, gt, null);
        var r = pq.Compute();
        Assert.Equal(100, r.Pq, Exact);
        Assert.Equal(100, r.PqThings, Exact);
        Assert.Equal(100, r.Sq, Exact);
        Assert.Equal(100, r.Rq, Exact);
        Assert.Equal(6, r.Classes.Single(c => c.IsThing).TruePositives);
        Assert.Equal(5, r.Frames);
        Assert.Equal(5L * 512 * 512, r.Pixels);
    }

    [Fact]
    public void Consistently_Permuted_Ids_Score_100()
    {
        int[] perm = [0, 4, 6, 1, 3, 5, 2]; // id k -> perm[k], same in every frame
        var pq = new ScenePanopticQuality();
        foreach (var gt in SyntheticInstances(frames: 5, objects: 6))
            pq.AddFrame(Map(gt, id => id == 0 ? 0 : perm[id] + 40), null, gt, null);
        var r = pq.Compute();
        Assert.Equal(100, r.Pq, Exact);
        Assert.Equal(100, r.PqThings, Exact);
    }

    [Fact]
    public void Ids_Permuted_Per_Frame_Score_Low()
    {
        // Frame f shifts ids cyclically by f: each predicted id covers a different object in every frame.
        const int objects = 6, frames = 5;
        var pq = new ScenePanopticQuality();
        var gts = SyntheticInstances(frames, objects);
        for (int f = 0; f < frames; f++)
            pq.AddFrame(Map(gts[f], id => id == 0 ? 0 : (id - 1 + f) % objects + 1), null, gts[f], null);
        var r = pq.Compute();
        var things = r.Classes.Single(c => c.IsThing);
        Assert.True(r.PqThings < 30, $"PQ_things = {r.PqThings}");
        Assert.Equal(0, things.TruePositives);
        Assert.Equal(objects, things.FalseNegatives);
        Assert.Equal(objects, things.FalsePositives);
        // The near-perfect background alone keeps the 2-class mean at 50: why PQ_things is reported too.
        Assert.Equal(50, r.Pq, Exact);
    }

    // ---------- hand-computed cases ----------

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TwoClass_Hand_Computed(bool robust)
    {
        // Two 4x4 frames, no resize. GT object 1 (4 px per frame), GT object 2 (2 px, frame B only).
        // Pred 7 covers object 1 (5 px in A, 3 px in B), pred 9 is 2 px of background in A.
        var gtA = new LabelMap(4, 4, [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        var prA = new LabelMap(4, 4, [7, 7, 7, 0, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9]);
        var gtB = new LabelMap(4, 4, [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2]);
        var prB = new LabelMap(4, 4, [7, 7, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        var pq = new ScenePanopticQuality(new PanopticOptions { Resize = 0, Robust = robust });
        pq.AddFrame(prA, null, gtA, null, "A");
        pq.AddFrame(prB, null, gtB, null, "B");
        var r = pq.Compute();

        // Thing: |7 ∩ 1| = 7, |7| = 8, |1| = 8 -> IoU 7/9 (TP); object 2 FN; pred 9 FP.
        // Background: |gt bg| = 22, |pred bg| = 22, |∩| = 19 -> IoU 19/25 (TP).
        double thingPq = (7.0 / 9) / 2, bgPq = 19.0 / 25;
        var bg = r.Classes.Single(c => c.ClassId == 0);
        var fg = r.Classes.Single(c => c.ClassId == 1);
        Assert.False(bg.IsThing);
        Assert.True(fg.IsThing);
        Assert.Equal((1, 0, 0), (bg.TruePositives, bg.FalsePositives, bg.FalseNegatives));
        Assert.Equal((1, 1, 1), (fg.TruePositives, fg.FalsePositives, fg.FalseNegatives));
        Assert.Equal(100 * bgPq, bg.Pq, Exact);
        Assert.Equal(100 * thingPq, fg.Pq, Exact);
        Assert.Equal(100 * 7.0 / 9, fg.Sq, Exact);
        Assert.Equal(50, fg.Rq, Exact);
        Assert.Equal(100 * (thingPq + bgPq) / 2, r.Pq, Exact);
        Assert.Equal(100 * (7.0 / 9 + 19.0 / 25) / 2, r.Sq, Exact);
        Assert.Equal(100 * (0.5 + 1) / 2, r.Rq, Exact);
        Assert.Equal(100 * thingPq, r.PqThings, Exact);
        Assert.Equal(100 * bgPq, r.PqStuff, Exact);
        Assert.Equal(100 * 10.0 / 32, fg.GtSharePercent, Exact);
        Assert.Empty(r.DroppedClasses);
    }

    /// <summary>
    /// Multi-class, two one-row frames, no resize. Classes: 1 wall (stuff), 2 chair (thing), 3 cup (thing, 1 px),
    /// GT semantic 0 = void. Predicted wall carries instance ids 5 and 6 (stuff ids are reset to 0).
    /// Frame 1: 100 wall/wall | 50 chair1/chair3 | 10 chair1/wall | 1 cup/chair3 | 39 void/wall.
    /// Frame 2: 120 wall/wall | 40 chair1/chair3 | 20 chair2/chair4 | 20 void/chair4.
    /// </summary>
    private static ScenePanopticQuality MultiClassCase(PanopticOptions options)
    {
        var pq = new ScenePanopticQuality(options with { Protocol = PanopticProtocol.MultiClass, Resize = 0 });
        var (g1s, g1i) = Row3((100, 1, 0), (50, 2, 1), (10, 2, 1), (1, 3, 1), (39, 0, 0));
        var (p1s, p1i) = Row3((100, 1, 5), (50, 2, 3), (10, 1, 5), (1, 2, 3), (39, 1, 5));
        var (g2s, g2i) = Row3((120, 1, 0), (40, 2, 1), (20, 2, 2), (20, 0, 0));
        var (p2s, p2i) = Row3((120, 1, 6), (40, 2, 3), (20, 2, 4), (20, 2, 4));
        pq.AddFrame(p1i, p1s, g1i, g1s, "1");
        pq.AddFrame(p2i, p2s, g2i, g2s, "2");
        return pq;
    }

    [Fact]
    public void MultiClass_Hand_Computed_Robust_Drops_The_Tiny_Class()
    {
        var r = MultiClassCase(new PanopticOptions()).Compute();
        // 341 evaluated pixels (59 void removed); the cup has 1/341 < 0.5 % -> dropped, its pixel becomes void.
        Assert.Equal(341, r.Pixels);
        Assert.Equal(new[] { 3 }, r.DroppedClasses);
        Assert.Equal(new[] { 1, 2 }, r.Classes.Select(c => c.ClassId));
        var wall = r.Classes[0];
        var chair = r.Classes[1];
        // Wall: pred 230, gt 220, ∩ 220 -> 22/23. Chair 1: pred 91 (1 px on void), gt 100, ∩ 90 -> 90/(91-1+100-90) = 0.9.
        // Chair 2: 20/20 -> 1.
        Assert.False(wall.IsThing);
        Assert.True(chair.IsThing);
        Assert.Equal((1, 0, 0), (wall.TruePositives, wall.FalsePositives, wall.FalseNegatives));
        Assert.Equal((2, 0, 0), (chair.TruePositives, chair.FalsePositives, chair.FalseNegatives));
        Assert.Equal(1.9, chair.IouSum, Exact);
        Assert.Equal(100 * 22.0 / 23, wall.Pq, Exact);
        Assert.Equal(95, chair.Pq, Exact);
        Assert.Equal(100 * (22.0 / 23 + 0.95) / 2, r.Pq, Exact);
        Assert.Equal(95, r.PqThings, Exact);
        Assert.Equal(100 * 22.0 / 23, r.PqStuff, Exact);
    }

    /// <summary>64 frames of 512x512 with 15 void pixels: 16,777,201 evaluated, class 2 on 83,886 of them, predicted as
    /// class 1. 83886 / 16777201 is 0.005 - 3e-10 in double, but Panoptic Lifting's torch code divides in float32, where the
    /// share rounds to float32(0.005): not below the threshold, so the class is kept (a false negative, PQ 49.75), not
    /// dropped (PQ 100). The case bench/external/pq_reference.py --threshold-case found.</summary>
    [Fact]
    public void The_Robust_Threshold_Is_Compared_In_Float32_As_The_Reference_Does()
    {
        const int side = 512, n = side * side, class2 = 83886, voids = 15;
        var gtSem = new LabelMap(side, side, Enumerable.Range(0, n).Select(i => i < voids ? 0 : i < voids + class2 ? 2 : 1).ToArray());
        var ones = new LabelMap(side, side, Enumerable.Repeat(1, n).ToArray());
        var zeros = new LabelMap(side, side);
        var pq = new ScenePanopticQuality(new PanopticOptions { Protocol = PanopticProtocol.MultiClass, Resize = 0, ThingClasses = new HashSet<int>() });
        pq.AddFrame(zeros, ones, zeros, gtSem);
        for (int f = 1; f < 64; f++) pq.AddFrame(zeros, ones, zeros, ones);
        var r = pq.Compute();
        Assert.Equal(64L * n - voids, r.Pixels);
        Assert.Empty(r.DroppedClasses);
        Assert.Equal(new[] { 1, 2 }, r.Classes.Select(c => c.ClassId));
        Assert.Equal((0, 0, 1), (r.Classes[1].TruePositives, r.Classes[1].FalsePositives, r.Classes[1].FalseNegatives));
        Assert.Equal(100 * (64.0 * n - voids - class2) / (64.0 * n - voids) / 2, r.Pq, 1e-9);
    }

    [Fact]
    public void MultiClass_Hand_Computed_Without_Robust_Keeps_The_Tiny_Class()
    {
        var r = MultiClassCase(new PanopticOptions { Robust = false }).Compute();
        Assert.Empty(r.DroppedClasses);
        Assert.Equal(new[] { 1, 2, 3 }, r.Classes.Select(c => c.ClassId));
        var chair = r.Classes[1];
        var cup = r.Classes[2];
        // Chair 1 now: pred 91, gt 100, ∩ 90 -> 90/101. The cup is an unmatched GT segment: FN, PQ 0.
        double chairPq = (90.0 / 101 + 1) / 2;
        Assert.Equal(100 * chairPq, chair.Pq, Exact);
        Assert.Equal((0, 0, 1), (cup.TruePositives, cup.FalsePositives, cup.FalseNegatives));
        Assert.Equal(0, cup.Pq);
        Assert.Equal(100 * (22.0 / 23 + chairPq + 0) / 3, r.Pq, Exact);
        Assert.Equal(100 * (chairPq + 0) / 2, r.PqThings, Exact);
    }

    [Fact]
    public void MultiClass_VoidAware_Gives_The_Same_Matches_As_Removal_Here()
    {
        // Void-aware union removes the 39 + 20 void pixels from the predicted wall and chair 4: same IoUs as removing them.
        var removed = MultiClassCase(new PanopticOptions { Robust = false }).Compute();
        var aware = MultiClassCase(new PanopticOptions { Robust = false, Void = VoidHandling.VoidAware }).Compute();
        Assert.Equal(400, aware.Pixels);
        Assert.Equal(removed.Pq, aware.Pq, Exact);
        Assert.Equal(removed.Classes.Select(c => (c.TruePositives, c.FalsePositives, c.FalseNegatives)),
                     aware.Classes.Select(c => (c.TruePositives, c.FalsePositives, c.FalseNegatives)));
    }

    [Theory]
    [InlineData(VoidHandling.Remove)]
    [InlineData(VoidHandling.VoidAware)]
    public void Void_Pixels_Leave_The_Predicted_Segment(VoidHandling mode)
    {
        // GT: 10 px of thing (1,1), then 10 void. Pred: (1,1) on 17 px (7 on void), (1,2) on the last 3 void px.
        var (gs, gi) = Row3((10, 1, 1), (10, 0, 0));
        var (ps, pi) = Row3((17, 1, 1), (3, 1, 2));
        var things = new HashSet<int> { 1 };
        var pq = new ScenePanopticQuality(new PanopticOptions
            { Protocol = PanopticProtocol.MultiClass, Resize = 0, Void = mode, ThingClasses = things });
        pq.AddFrame(pi, ps, gi, gs);
        var r = pq.Compute();
        // IoU = 10 / (17 - 7 + 10 - 10) = 1; the all-void pred segment (1,2) is not a false positive.
        var c = r.Classes.Single();
        Assert.Equal((1, 0, 0), (c.TruePositives, c.FalsePositives, c.FalseNegatives));
        Assert.Equal(100, r.Pq, Exact);

        // Without a void label, class 0 is an ordinary (stuff) class: IoU 10/17 matches, (1,2) is FP, class 0 is FN.
        var plain = new ScenePanopticQuality(new PanopticOptions
            { Protocol = PanopticProtocol.MultiClass, Resize = 0, Void = mode, ThingClasses = things, GtVoidLabel = null });
        plain.AddFrame(pi, ps, gi, gs);
        var q = plain.Compute();
        var one = q.Classes.Single(x => x.ClassId == 1);
        Assert.Equal((1, 1, 0), (one.TruePositives, one.FalsePositives, one.FalseNegatives));
        Assert.Equal(100 * (10.0 / 17) / 1.5, one.Pq, Exact);
        Assert.Equal(100 * ((10.0 / 17) / 1.5 + 0) / 2, q.Pq, Exact);
    }

    [Fact]
    public void Resize_To_512_Weights_Columns_Of_A_NonSquare_Frame()
    {
        // 5x3 frame: GT object = column 1, prediction = columns 0-1. Natively IoU = 3/6 = 0.5 (no match).
        // At 512x512 (pixel centre) the columns weigh 102,103,102,103,102: IoU = 103/205 > 0.5 (match).
        static LabelMap Cols(params int[] cols)
        {
            var m = new LabelMap(5, 3);
            for (int y = 0; y < 3; y++)
                foreach (int x in cols) m.Labels[y * 5 + x] = 1;
            return m;
        }
        var gt = Cols(1);
        var pred = Cols(0, 1);

        var native = new ScenePanopticQuality(new PanopticOptions { Resize = 0, Robust = false });
        native.AddFrame(pred, null, gt, null);
        var n = native.Compute();
        Assert.Equal(0, n.PqThings);
        Assert.Equal(100 * (9.0 / 12 + 0) / 2, n.Pq, Exact);

        var resized = new ScenePanopticQuality(new PanopticOptions { Robust = false });
        resized.AddFrame(pred, null, gt, null);
        var r = resized.Compute();
        Assert.Equal(512L * 512, r.Pixels);
        Assert.Equal(100 * 103.0 / 205, r.PqThings, Exact);
        Assert.Equal(100 * (307.0 / 409 + 103.0 / 205) / 2, r.Pq, Exact);
    }

    // ---------- protocols ----------

    [Fact]
    public void MultiClass_Protocol_Separates_Classes_And_Infers_Things()
    {
        // Objects 1-3 are chairs (class 5), 4-6 tables (class 7); background is wall (1) on the top half, floor (2) below.
        var inst = SyntheticInstances(frames: 3, objects: 6);
        LabelMap Semantic(LabelMap m, int wrongObject) => new(m.Width, m.Height, m.Labels.Select((id, i) =>
            id == 0 ? (i / m.Width < m.Height / 2 ? 1 : 2) : id == wrongObject ? 7 : id <= 3 ? 5 : 7).ToArray());

        var perfect = new ScenePanopticQuality(new PanopticOptions { Protocol = PanopticProtocol.MultiClass });
        var oneWrong = new ScenePanopticQuality(new PanopticOptions { Protocol = PanopticProtocol.MultiClass });
        foreach (var m in inst)
        {
            var gtSem = Semantic(m, wrongObject: -1);
            perfect.AddFrame(m, gtSem, m, gtSem);
            oneWrong.AddFrame(m, Semantic(m, wrongObject: 2), m, gtSem); // chair 2 predicted as a table
        }
        var p = perfect.Compute();
        Assert.Equal(100, p.Pq, Exact);
        Assert.Equal(new[] { 1, 2, 5, 7 }, p.Classes.Select(c => c.ClassId));
        Assert.Equal(new[] { false, false, true, true }, p.Classes.Select(c => c.IsThing));

        var w = oneWrong.Compute();
        var chairs = w.Classes.Single(c => c.ClassId == 5);
        var tables = w.Classes.Single(c => c.ClassId == 7);
        Assert.Equal((2, 0, 1), (chairs.TruePositives, chairs.FalsePositives, chairs.FalseNegatives));
        Assert.Equal((3, 1, 0), (tables.TruePositives, tables.FalsePositives, tables.FalseNegatives));
        Assert.Equal(100 * (1 + 1 + 2 / 2.5 + 3 / 3.5) / 4, w.Pq, Exact);
    }

    [Fact]
    public void TwoClass_Protocol_Ignores_Semantic_Maps_And_MultiClass_Requires_Them()
    {
        var gt = SyntheticInstances(frames: 1, objects: 3)[0];
        var junk = Map(gt, _ => 9);
        var a = new ScenePanopticQuality();
        a.AddFrame(gt, junk, gt, null);
        Assert.Equal(100, a.Compute().Pq, Exact);
        Assert.Equal(new[] { "background", "foreground" }, a.Compute().Classes.Select(c => c.Name));

        var multi = new ScenePanopticQuality(new PanopticOptions { Protocol = PanopticProtocol.MultiClass });
        var ex = Assert.Throws<ArgumentException>(() => multi.AddFrame(gt, null, gt, gt, "f7"));
        Assert.Contains("f7", ex.Message);
    }

    [Fact]
    public void Size_Mismatch_Names_Frame_And_Both_Sizes()
    {
        var pq = new ScenePanopticQuality();
        var ex = Assert.Throws<ArgumentException>(() => pq.AddFrame(new LabelMap(32, 24), null, new LabelMap(64, 48), null, "0042"));
        Assert.Contains("0042", ex.Message);
        Assert.Contains("32x24", ex.Message);
        Assert.Contains("64x48", ex.Message);
    }

    [Fact]
    public void Negative_Labels_Are_Rejected()
    {
        var pq = new ScenePanopticQuality(new PanopticOptions { Resize = 0 });
        Assert.Throws<ArgumentException>(() => pq.AddFrame(new LabelMap(2, 1, [0, -3]), null, new LabelMap(2, 1), null));
    }
}
