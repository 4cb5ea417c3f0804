namespace UniCLift.Tests.Synthetic;

using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using Xunit.Abstractions;

/// <summary>Every generator style gives valid ground truth and does the one thing it says it does.</summary>
public sealed class SceneStyleTests(ITestOutputHelper output)
{
    private static SyntheticSceneOptions Small(string style, int seed, int objects = 12, int views = 30, int width = 96, int height = 72) =>
        SceneStyles.Apply(style, new SyntheticSceneOptions { Seed = seed, Objects = objects, Views = views, Width = width, Height = height, PointCount = 2000 });

    public static TheoryData<string> Styles => [.. SceneStyles.Names];

    [Theory]
    [MemberData(nameof(Styles))]
    public void Every_style_gives_valid_ground_truth_and_masks(string style)
    {
        var scene = SyntheticSceneGenerator.Generate(Small(style, seed: 4));
        int n = scene.Objects.Count;
        Assert.Equal(12, n);
        var classOf = scene.Objects.ToDictionary(o => o.InstanceId, o => o.SemanticClass);
        var seen = new int[n + 1];
        foreach (var view in scene.Views)
        {
            var inst = view.GtInstance!.Labels; var sem = view.GtSemantic!.Labels; var depth = view.Depth!.Meters;
            var mask = view.Mask!.Labels; var maskSem = view.MaskSemantic!.Labels;
            Assert.Equal(inst.Length, mask.Length);
            var here = new HashSet<int>();
            for (int p = 0; p < inst.Length; p++)
            {
                Assert.InRange(inst[p], 0, n);
                if (inst[p] == 0) Assert.Contains(sem[p], new[] { SyntheticClasses.Void, SyntheticClasses.Floor, SyntheticClasses.Wall });
                else Assert.Equal(classOf[inst[p]], sem[p]);
                Assert.Equal(sem[p] != SyntheticClasses.Void, depth[p] > 0);
                Assert.True(mask[p] >= 0);
                // A predicted segment has one class; unlabelled pixels carry a stuff class or void.
                if (mask[p] == 0) Assert.Contains(maskSem[p], new[] { SyntheticClasses.Void, SyntheticClasses.Floor, SyntheticClasses.Wall });
                here.Add(inst[p]);
            }
            foreach (var id in here) seen[id]++;
            // Predicted ids are compact 1..K in every view.
            var ids = mask.Where(m => m > 0).Distinct().OrderBy(m => m).ToList();
            Assert.Equal(Enumerable.Range(1, ids.Count), ids);
        }
        for (int id = 1; id <= n; id++)
            Assert.True(seen[id] >= 3, $"{style}: object {id} ({scene.Objects[id - 1].Shape}) visible in only {seen[id]} views");
    }

    [Fact]
    public void Classic_is_the_default_options()
    {
        var o = new SyntheticSceneOptions { Seed = 3 };
        Assert.Equal(o, SceneStyles.Apply("classic", o));
        var e = Assert.Throws<ArgumentException>(() => SceneStyles.Apply("baroque", o));
        Assert.Contains("baroque", e.Message);
        Assert.Contains("mixed", e.Message);
    }

    [Fact]
    public void Clutter_has_every_shape_thin_concave_and_stacked_objects()
    {
        int stacked = 0;
        for (int seed = 0; seed < 6; seed++)
        {
            var o = Small("clutter", seed, objects: 16, views: 2, width: 16, height: 12);
            var (_, objects, pairs) = SyntheticSceneGenerator.BuildRoom(o);
            Assert.Equal(Enum.GetValues<ShapeKind>().Length, objects.Select(ob => ob.Shape).Distinct().Count());
            foreach (var ob in objects)
            {
                if (ob.Shape == ShapeKind.Pole) Assert.True(ob.Size[0] < 0.08, $"pole {ob.Size[0]:0.000} m thick");
                if (ob.Shape == ShapeKind.Slab) Assert.True(ob.Size[1] < 0.06, $"slab {ob.Size[1]:0.000} m thick");
                double baseZ = ob.Centre[2] - ob.Size[2] / 2;
                if (ob.StandsOn == 0) { Assert.Equal(0, baseZ, 9); continue; }
                stacked++;
                var support = objects[ob.StandsOn - 1];
                Assert.Contains(support.Shape, new[] { ShapeKind.Box, ShapeKind.Table });
                Assert.Equal(support.Centre[2] + support.Size[2] / 2, baseZ, 9);
                // It stands on the support's top and touches it.
                double dx = ob.Centre[0] - support.Centre[0], dy = ob.Centre[1] - support.Centre[1];
                Assert.True(Math.Sqrt(dx * dx + dy * dy) < Math.Sqrt(support.Size[0] * support.Size[0] + support.Size[1] * support.Size[1]) / 2);
                Assert.Contains((Math.Min(ob.InstanceId, ob.StandsOn), Math.Max(ob.InstanceId, ob.StandsOn)), pairs);
            }
        }
        output.WriteLine($"{stacked} stacked objects over 6 rooms of 16");
        Assert.True(stacked >= 3, $"only {stacked} stacked objects over 6 rooms");
    }

    [Fact]
    public void A_table_is_concave_the_floor_shows_between_its_legs()
    {
        // Some pixel of the table's image bounding box, between its top and the floor, sees the floor behind it.
        var scene = SyntheticSceneGenerator.Generate(Small("clutter", seed: 2, objects: 9, views: 12, width: 160, height: 120) with { Corruption = CorruptionLevel.None });
        var table = scene.Objects.First(o => o.Shape == ShapeKind.Table);
        int holes = 0;
        foreach (var view in scene.Views)
        {
            var gt = view.GtInstance!;
            var pix = Enumerable.Range(0, gt.Labels.Length).Where(i => gt.Labels[i] == table.InstanceId).ToList();
            if (pix.Count < 100) continue;
            int minX = pix.Min(i => i % gt.Width), maxX = pix.Max(i => i % gt.Width), minY = pix.Min(i => i / gt.Width), maxY = pix.Max(i => i / gt.Width);
            for (int y = minY; y <= maxY; y++)
            {
                var row = Enumerable.Range(minX, maxX - minX + 1).Select(x => gt.Labels[y * gt.Width + x]).ToList();
                int first = row.IndexOf(table.InstanceId), last = row.LastIndexOf(table.InstanceId);
                if (first >= 0 && row.Skip(first).Take(last - first).Any(l => l != table.InstanceId)) holes++;
            }
        }
        Assert.True(holes > 10, $"only {holes} image rows see through the table");
    }

    [Fact]
    public void Glossy_highlights_brighten_objects_only_and_depend_on_the_view()
    {
        var matte = SyntheticSceneGenerator.Generate(Small("classic", seed: 6, views: 6, width: 128, height: 96) with { Corruption = CorruptionLevel.None });
        var glossy = SyntheticSceneGenerator.Generate(Small("glossy", seed: 6, views: 6, width: 128, height: 96) with { Corruption = CorruptionLevel.None });
        int brighter = 0;
        for (int v = 0; v < matte.Views.Count; v++)
        {
            var a = matte.Views[v].Image.Pixels; var b = glossy.Views[v].Image.Pixels; var gt = matte.Views[v].GtInstance!.Labels;
            Assert.Equal(gt, glossy.Views[v].GtInstance!.Labels);
            for (int p = 0; p < gt.Length; p++)
                for (int c = 0; c < 3; c++)
                {
                    Assert.True(b[3 * p + c] >= a[3 * p + c], $"view {v} pixel {p}: a highlight darkened it");
                    if (gt[p] == 0) Assert.Equal(a[3 * p + c], b[3 * p + c]);
                    else if (b[3 * p + c] > a[3 * p + c] + 20) brighter++;
                }
        }
        Assert.True(brighter > 100, $"only {brighter} channel values brightened by a highlight");
    }

    [Fact]
    public void Far_test_views_are_off_the_training_orbit()
    {
        var scene = SyntheticSceneGenerator.Generate(Small("far", seed: 1, views: 40, width: 32, height: 24));
        var cams = scene.Views.ToDictionary(v => v.Name, v => v.Camera.Position);
        var train = scene.TrainViews.Select(n => cams[n]).ToList();
        var test = scene.TestViews.Select(n => cams[n]).ToList();
        double Dist((double X, double Y, double Z) a, (double X, double Y, double Z) b) =>
            Math.Sqrt((a.X - b.X) * (a.X - b.X) + (a.Y - b.Y) * (a.Y - b.Y) + (a.Z - b.Z) * (a.Z - b.Z));
        // Training views are about one step apart; every test view is farther than that from every training view.
        double trainStep = train.Max(a => train.Where(b => b != a).Min(b => Dist(a, b)));
        double testGap = test.Min(a => train.Min(b => Dist(a, b)));
        output.WriteLine($"largest training neighbour distance {trainStep:0.00} m, smallest test-to-training distance {testGap:0.00} m");
        Assert.True(testGap > trainStep, $"a test view is {testGap:0.00} m from a training view; training views are up to {trainStep:0.00} m apart");
        Assert.True(test.Min(t => t.Z) > train.Max(t => t.Z), "test views are not above every training view");
    }

    [Fact]
    public void Sam_masks_split_objects_and_background_and_miss_small_objects()
    {
        var scene = SyntheticSceneGenerator.Generate(Small("sam", seed: 8, objects: 30, views: 12, width: 160, height: 120));
        Assert.All(scene.Corruption, c => Assert.Empty(c.Merged));
        Assert.True(scene.Corruption.Sum(c => c.Split.Count) > scene.Views.Count, "objects are rarely split into parts");
        Assert.True(scene.Corruption.Sum(c => c.Missed.Count) > 0, "no object was missed");
        int pieces = 0;
        foreach (var view in scene.Views)
        {
            var gtSem = view.GtSemantic!.Labels; var mask = view.Mask!.Labels; var maskSem = view.MaskSemantic!.Labels;
            var floorIds = new HashSet<int>();
            for (int p = 0; p < mask.Length; p++)
            {
                if (gtSem[p] == SyntheticClasses.Floor && mask[p] > 0) floorIds.Add(mask[p]);
                // A background piece keeps its stuff class.
                if (mask[p] > 0 && gtSem[p] is SyntheticClasses.Floor or SyntheticClasses.Wall && view.GtInstance!.Labels[p] == 0
                    && maskSem[p] is not (SyntheticClasses.Floor or SyntheticClasses.Wall))
                {
                    // Jitter can carry an object's id one or two pixels onto the floor; nothing more.
                    Assert.True(Neighbourhood(view.GtInstance!.Labels, p, view.Camera.Width, 3), $"view {view.Name} pixel {p}: a thing id on the background, away from any object");
                }
            }
            pieces += floorIds.Count(id => maskSem.Where((_, p) => mask[p] == id).All(s => s == SyntheticClasses.Floor));
        }
        Assert.True(pieces >= 2 * scene.Views.Count, $"only {pieces} floor pieces in {scene.Views.Count} views");
        // Small objects are the ones missed: their mean pixel count is below the objects' mean.
        var area = new double[scene.Objects.Count + 1];
        foreach (var view in scene.Views) foreach (var l in view.GtInstance!.Labels) area[l]++;
        var missed = scene.Corruption.SelectMany(c => c.Missed).ToList();
        Assert.True(missed.Average(id => area[id]) < area.Skip(1).Average(), "missed objects are not the small ones");
    }

    private static bool Neighbourhood(int[] gt, int p, int width, int reach)
    {
        int x0 = p % width, y0 = p / width, height = gt.Length / width;
        for (int y = Math.Max(0, y0 - reach); y <= Math.Min(height - 1, y0 + reach); y++)
            for (int x = Math.Max(0, x0 - reach); x <= Math.Min(width - 1, x0 + reach); x++)
                if (gt[y * width + x] > 0) return true;
        return false;
    }

    [Theory]
    [InlineData(25)]
    [InlineData(50)]
    [InlineData(100)]
    public void Many_object_rooms_show_every_object(int objects)
    {
        var scene = SyntheticSceneGenerator.Generate(Small("classic", seed: objects, objects: objects, views: 60, width: 160, height: 120) with { Corruption = CorruptionLevel.None });
        var seen = new int[objects + 1];
        foreach (var view in scene.Views)
            foreach (var id in view.GtInstance!.Labels.Distinct()) seen[id]++;
        for (int id = 1; id <= objects; id++)
            Assert.True(seen[id] >= 3, $"{objects} objects: object {id} visible in only {seen[id]} of 60 views");
    }
}
