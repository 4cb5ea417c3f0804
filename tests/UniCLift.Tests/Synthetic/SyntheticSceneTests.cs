namespace UniCLift.Tests.Synthetic;

using System.Diagnostics;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using Xunit.Abstractions;

public sealed class SyntheticSceneTests(ITestOutputHelper output)
{
    private static SyntheticSceneOptions Small(int seed, CorruptionLevel corruption = CorruptionLevel.M2F, int views = 8, int width = 96, int height = 72) =>
        new() { Seed = seed, Views = views, Width = width, Height = height, Corruption = corruption, PointCount = 2000 };

    [Fact]
    public void Same_seed_gives_identical_scene_and_other_seed_differs()
    {
        var a = SyntheticSceneGenerator.Generate(Small(7));
        // Serial run: thread scheduling must not matter.
        var b = SyntheticSceneGenerator.Generate(Small(7), maxDegreeOfParallelism: 1);
        var c = SyntheticSceneGenerator.Generate(Small(8));
        for (int i = 0; i < a.Views.Count; i++)
        {
            Assert.Equal(a.Views[i].Image.Pixels, b.Views[i].Image.Pixels);
            Assert.Equal(a.Views[i].Depth!.Meters, b.Views[i].Depth!.Meters);
            Assert.Equal(a.Views[i].Mask!.Labels, b.Views[i].Mask!.Labels);
            Assert.Equal(a.Views[i].MaskSemantic!.Labels, b.Views[i].MaskSemantic!.Labels);
            Assert.Equal(a.Views[i].GtInstance!.Labels, b.Views[i].GtInstance!.Labels);
            Assert.Equal(a.Views[i].Camera.CameraToWorld, b.Views[i].Camera.CameraToWorld);
        }
        Assert.Equal(a.Points, b.Points);
        Assert.Equal(a.PointColors, b.PointColors);
        Assert.NotEqual(a.Views[0].Image.Pixels, c.Views[0].Image.Pixels);
        Assert.NotEqual(a.Objects.Select(o => o.Centre[0]), c.Objects.Select(o => o.Centre[0]));
    }

    [Fact]
    public void Reprojected_ground_truth_agrees_between_views()
    {
        var scene = SyntheticSceneGenerator.Generate(Small(3, CorruptionLevel.None, views: 10));
        int n = scene.Objects.Count;
        var agree = new long[n + 1];
        var compared = new long[n + 1];
        for (int a = 0; a < scene.Views.Count; a++)
            for (int b = 0; b < scene.Views.Count; b++)
                if (a != b) Reproject(scene.Views[a], scene.Views[b], agree, compared);
        double rate = (double)agree.Sum() / compared.Sum();
        output.WriteLine($"reprojection agreement {rate:P2} over {compared.Sum()} pixel pairs ({compared.Skip(1).Sum()} on objects)");
        Assert.True(compared.Sum() > 10000, $"only {compared.Sum()} co-visible pixels");
        Assert.True(rate > 0.95, $"GT instance agreement after reprojection {rate:P2}");
        // Pixels of each known object land on that same object in the other views.
        for (int id = 1; id <= n; id++)
        {
            if (compared[id] < 200) continue;
            double objectRate = (double)agree[id] / compared[id];
            Assert.True(objectRate > 0.9, $"object {id} ({scene.Objects[id - 1].Shape}): {objectRate:P1} of {compared[id]} reprojected pixels land on it");
        }
        Assert.True(Enumerable.Range(1, n).Count(id => compared[id] >= 200) >= n / 2, "too few objects co-visible");
    }

    /// <summary>Back-projects every pixel of view A with its GT depth into view B; where B sees the same surface
    /// (depths agree), counts whether the GT instance matches, per GT instance of A.</summary>
    private static void Reproject(ViewData va, ViewData vb, long[] agree, long[] compared)
    {
        var ca = va.Camera; var cb = vb.Camera;
        for (int y = 0; y < ca.Height; y++)
        {
            for (int x = 0; x < ca.Width; x++)
            {
                int p = y * ca.Width + x;
                float d = va.Depth!.Meters[p];
                if (d <= 0) continue;
                var (wx, wy, wz) = ca.Unproject(x + 0.5, y + 0.5, d);
                var (u, v, z) = cb.Project(wx, wy, wz);
                if (z <= 0 || u < 0 || v < 0 || u >= cb.Width || v >= cb.Height) continue;
                int q = (int)v * cb.Width + (int)u;
                float db = vb.Depth!.Meters[q];
                if (db <= 0 || Math.Abs(db - z) > 0.02 + 0.01 * z) continue; // occluded in B
                int id = va.GtInstance!.Labels[p];
                compared[id]++;
                if (id == vb.GtInstance!.Labels[q]) agree[id]++;
            }
        }
    }

    [Fact]
    public void Object_centre_pixel_projects_onto_that_object()
    {
        var scene = SyntheticSceneGenerator.Generate(Small(11, CorruptionLevel.None, views: 12));
        int checkedPixels = 0;
        foreach (var view in scene.Views)
        {
            var gt = view.GtInstance!;
            foreach (var ob in scene.Objects)
            {
                // The pixel of the object's visible area closest to its centroid, back-projected, lands near the object.
                var pixels = Enumerable.Range(0, gt.Labels.Length).Where(i => gt.Labels[i] == ob.InstanceId).ToList();
                if (pixels.Count < 30) continue;
                int p = pixels[pixels.Count / 2];
                var (x, y, z) = view.Camera.Unproject(p % gt.Width + 0.5, p / gt.Width + 0.5, view.Depth!.Meters[p]);
                double reach = Math.Sqrt(ob.Size.Sum(s => s * s / 4)) + 1e-3;
                double dist = Math.Sqrt(Math.Pow(x - ob.Centre[0], 2) + Math.Pow(y - ob.Centre[1], 2) + Math.Pow(z - ob.Centre[2], 2));
                Assert.True(dist <= reach, $"view {view.Name}, object {ob.InstanceId}: surface point {dist:0.000} m from centre, half-diagonal {reach:0.000}");
                // And the object's centre projects inside its own silhouette region's bounding box in this view.
                var (u, v, depth) = view.Camera.Project(ob.Centre[0], ob.Centre[1], ob.Centre[2]);
                Assert.True(depth > 0);
                int minX = pixels.Min(i => i % gt.Width), maxX = pixels.Max(i => i % gt.Width);
                int minY = pixels.Min(i => i / gt.Width), maxY = pixels.Max(i => i / gt.Width);
                if (minX > 0 && maxX < gt.Width - 1 && minY > 0 && maxY < gt.Height - 1 && pixels.Count > 200)
                {
                    Assert.InRange(u, minX - 1, maxX + 2);
                    Assert.InRange(v, minY - 1, maxY + 2);
                }
                checkedPixels++;
            }
        }
        Assert.True(checkedPixels > 20, $"only {checkedPixels} object views checked");
    }

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 1)]
    [InlineData(5, 40)]
    public void Every_object_is_visible_and_labels_are_consistent(int seed, int objects)
    {
        var scene = SyntheticSceneGenerator.Generate(Small(seed, CorruptionLevel.None, views: 60, width: 80, height: 60) with { Objects = objects });
        Assert.Equal(objects, scene.Objects.Count);
        Assert.Equal(Enumerable.Range(1, objects), scene.Objects.Select(o => o.InstanceId));
        if (objects >= 5) Assert.Equal(5, scene.Objects.Select(o => o.Shape).Distinct().Count());
        var seen = new int[objects + 1];
        var classOf = scene.Objects.ToDictionary(o => o.InstanceId, o => o.SemanticClass);
        foreach (var view in scene.Views)
        {
            var inst = view.GtInstance!.Labels; var sem = view.GtSemantic!.Labels; var depth = view.Depth!.Meters;
            var here = new HashSet<int>();
            for (int p = 0; p < inst.Length; p++)
            {
                Assert.InRange(inst[p], 0, objects);
                if (inst[p] == 0) Assert.Contains(sem[p], new[] { SyntheticClasses.Void, SyntheticClasses.Floor, SyntheticClasses.Wall });
                else Assert.Equal(classOf[inst[p]], sem[p]);
                // Depth exists exactly where something was hit (open ceiling = no depth).
                Assert.Equal(sem[p] != SyntheticClasses.Void, depth[p] > 0);
                here.Add(inst[p]);
            }
            foreach (var id in here) seen[id]++;
        }
        for (int id = 1; id <= objects; id++)
            Assert.True(seen[id] >= 3, $"object {id} ({scene.Objects[id - 1].Shape}) visible in only {seen[id]} of {scene.Views.Count} views");
        // Floor and walls appear too.
        Assert.Contains(scene.Views, v => v.GtSemantic!.Labels.Contains(SyntheticClasses.Floor));
        Assert.Contains(scene.Views, v => v.GtSemantic!.Labels.Contains(SyntheticClasses.Wall));
    }

    [Fact]
    public void Objects_do_not_overlap_and_some_touch()
    {
        int touching = 0;
        for (int seed = 0; seed < 6; seed++)
        {
            var o = new SyntheticSceneOptions { Seed = seed, Views = 2, Width = 16, Height = 12 };
            var (_, objects, pairs) = SyntheticSceneGenerator.BuildRoom(o);
            touching += pairs.Count;
            foreach (var ob in objects)
            {
                Assert.True(Math.Sqrt(ob.Centre[0] * ob.Centre[0] + ob.Centre[1] * ob.Centre[1]) < o.PlacementRadius);
                Assert.Equal(ob.Size[2] / 2, ob.Centre[2], 9); // standing on the floor
            }
            for (int i = 0; i < objects.Count; i++)
                for (int j = i + 1; j < objects.Count; j++)
                {
                    // Circles around the footprints may overlap only for boxes (their corners); check centres are apart.
                    double dx = objects[i].Centre[0] - objects[j].Centre[0], dy = objects[i].Centre[1] - objects[j].Centre[1];
                    double inner = InnerRadius(objects[i]) + InnerRadius(objects[j]);
                    Assert.True(Math.Sqrt(dx * dx + dy * dy) >= inner, $"seed {seed}: objects {i + 1} and {j + 1} overlap");
                }
        }
        Assert.True(touching >= 6, $"only {touching} touching pairs over 6 scenes of 10 objects");
    }

    private static double InnerRadius(SyntheticObject o) => Math.Min(o.Size[0], o.Size[1]) / 2;

    [Fact]
    public void No_corruption_keeps_the_partition_with_ids_permuted_per_view()
    {
        var scene = SyntheticSceneGenerator.Generate(Small(4, CorruptionLevel.None, views: 12));
        var mappings = new List<Dictionary<int, int>>();
        foreach (var view in scene.Views)
        {
            var gt = view.GtInstance!.Labels; var mask = view.Mask!.Labels;
            var forward = new Dictionary<int, int>(); var backward = new Dictionary<int, int>();
            for (int p = 0; p < gt.Length; p++)
            {
                Assert.Equal(gt[p] == 0, mask[p] == 0);
                if (gt[p] == 0) continue;
                Assert.Equal(forward.GetValueOrDefault(gt[p], mask[p]), mask[p]);
                Assert.Equal(backward.GetValueOrDefault(mask[p], gt[p]), gt[p]);
                forward[gt[p]] = mask[p]; backward[mask[p]] = gt[p];
            }
            // Ids are compact 1..K.
            Assert.Equal(Enumerable.Range(1, forward.Count), forward.Values.Order());
            Assert.Equal(view.GtSemantic!.Labels, view.MaskSemantic!.Labels);
            mappings.Add(forward);
        }
        // The same object carries different ids in different views.
        int differing = 0, pairs = 0;
        for (int i = 0; i < mappings.Count; i++)
            for (int j = i + 1; j < mappings.Count; j++)
            {
                var common = mappings[i].Keys.Intersect(mappings[j].Keys).ToList();
                if (common.Count < 2) continue;
                pairs++;
                if (common.Any(k => mappings[i][k] != mappings[j][k])) differing++;
            }
        Assert.True(pairs > 10);
        Assert.True(differing > 0.7 * pairs, $"ids differ in only {differing} of {pairs} view pairs");
    }

    [Fact]
    public void Light_corruption_jitters_boundaries_and_drops_tiny_segments()
    {
        var scene = SyntheticSceneGenerator.Generate(Small(4, CorruptionLevel.Light, views: 12));
        int minSeg = scene.Options.EffectiveMinSegmentPixels;
        long changedBoundary = 0, total = 0;
        foreach (var view in scene.Views)
        {
            var gt = view.GtInstance!.Labels; var mask = view.Mask!.Labels;
            var counts = mask.Where(m => m > 0).GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
            Assert.All(counts.Values, c => Assert.True(c >= minSeg, $"segment of {c} px survived (min {minSeg})"));
            // Majority GT object per predicted segment: labels still correspond one to one, only boundaries move.
            var owner = counts.Keys.ToDictionary(k => k, k => Enumerable.Range(0, gt.Length).Where(p => mask[p] == k).GroupBy(p => gt[p]).MaxBy(g => g.Count())!.Key);
            Assert.Equal(owner.Count, owner.Values.Distinct().Count());
            for (int p = 0; p < gt.Length; p++)
            {
                bool match = mask[p] == 0 ? gt[p] == 0 : owner[mask[p]] == gt[p];
                if (!match) changedBoundary++;
                total++;
            }
        }
        double rate = (double)changedBoundary / total;
        output.WriteLine($"light: {rate:P2} of pixels off their GT segment");
        Assert.InRange(rate, 0.002, 0.08);
    }

    [Fact]
    public void M2f_corruption_merges_splits_and_misses_at_about_the_configured_rates()
    {
        var scene = SyntheticSceneGenerator.Generate(Small(9, CorruptionLevel.M2F, views: 40, width: 128, height: 96));
        int minSeg = scene.Options.EffectiveMinSegmentPixels;
        int visibleObjects = 0, missed = 0, merged = 0, split = 0, splittable = 0, adjacent = 0, differentFromGt = 0;
        foreach (var view in scene.Views)
        {
            var gt = view.GtInstance!.Labels; var mask = view.Mask!.Labels;
            if (!gt.SequenceEqual(mask)) differentFromGt++;
            int n = scene.Objects.Count;
            var gtCount = new int[n + 1];
            foreach (var g in gt) gtCount[g]++;
            // Overlap table GT object x predicted segment, measured from the masks (independent of the generator's log).
            var overlap = new Dictionary<(int Gt, int Pred), int>();
            for (int p = 0; p < gt.Length; p++)
                if (gt[p] > 0 && mask[p] > 0) overlap[(gt[p], mask[p])] = overlap.GetValueOrDefault((gt[p], mask[p])) + 1;
            var segOwners = overlap.Where(kv => kv.Value > 0.5 * gtCount[kv.Key.Gt]).GroupBy(kv => kv.Key.Pred).ToDictionary(g => g.Key, g => g.Count());
            merged += segOwners.Values.Count(c => c >= 2);
            for (int id = 1; id <= n; id++)
            {
                if (gtCount[id] < 3 * minSeg) continue;
                visibleObjects++;
                int covered = overlap.Where(kv => kv.Key.Gt == id).Sum(kv => kv.Value);
                if (covered < 0.2 * gtCount[id]) { missed++; continue; }
                if (gtCount[id] >= 6 * minSeg) splittable++;
                if (overlap.Count(kv => kv.Key.Gt == id && kv.Value > 0.25 * gtCount[id]) >= 2) split++;
            }
            adjacent += view.GtInstance!.Labels.Length > 0 ? AdjacentPairs(view.GtInstance) : 0;
        }
        var log = scene.Corruption;
        output.WriteLine($"m2f over {scene.Views.Count} views: visible objects {visibleObjects}, missed {missed} (log {log.Sum(c => c.Missed.Count)}), " +
            $"merged segments {merged} of {adjacent} adjacent pairs (log {log.Sum(c => c.Merged.Count)} of {log.Sum(c => c.AdjacentPairs)}), " +
            $"split {split} of {splittable} (log {log.Sum(c => c.Split.Count)}), spurious (log) {log.Sum(c => c.Spurious)}");
        Assert.Equal(scene.Views.Count, differentFromGt);
        double missRate = (double)missed / visibleObjects;
        Assert.InRange(missRate, 0.02, 0.18);             // configured 0.08
        Assert.InRange((double)merged / adjacent, 0.04, 0.35); // 0.15 per adjacent pair
        Assert.InRange((double)split / splittable, 0.03, 0.25); // 0.10 per segment
        Assert.InRange(log.Sum(c => c.Spurious), 3, 25);  // 0.3 per view
        // Spurious and merged segments carry a thing class; background stays stuff or void in the predicted semantics.
        foreach (var view in scene.Views)
            for (int p = 0; p < view.Mask!.Labels.Length; p++)
            {
                int s = view.MaskSemantic!.Labels[p];
                if (view.Mask.Labels[p] > 0) Assert.InRange(s, 3, 7);
                else Assert.InRange(s, 0, 2);
            }
    }

    private static int AdjacentPairs(LabelMap gt)
    {
        var pairs = new HashSet<(int, int)>();
        for (int y = 0; y < gt.Height; y++)
            for (int x = 0; x < gt.Width; x++)
            {
                int a = gt.Labels[y * gt.Width + x];
                if (a == 0) continue;
                if (x + 1 < gt.Width) { int b = gt.Labels[y * gt.Width + x + 1]; if (b > 0 && b != a) pairs.Add((Math.Min(a, b), Math.Max(a, b))); }
                if (y + 1 < gt.Height) { int b = gt.Labels[(y + 1) * gt.Width + x]; if (b > 0 && b != a) pairs.Add((Math.Min(a, b), Math.Max(a, b))); }
            }
        return pairs.Count;
    }

    [Fact]
    public void Splits_cameras_points_and_transforms_are_as_documented()
    {
        var scene = SyntheticSceneGenerator.Generate(Small(2, views: 10));
        Assert.Equal(["0004", "0009"], scene.TestViews);
        Assert.Equal(8, scene.TrainViews.Count);
        Assert.Equal(2000 * 3, scene.Points.Length);
        Assert.Equal(scene.Points.Length, scene.PointColors.Length);
        // Points lie inside the room (noise is 1 cm).
        for (int i = 0; i < scene.Points.Length; i += 3)
        {
            Assert.InRange(scene.Points[i], -3.05f, 3.05f);
            Assert.InRange(scene.Points[i + 2], -0.05f, 3.05f);
        }
        var cam = scene.Views[0].Camera;
        Assert.Equal(96 / 2.0 / Math.Tan(Math.PI / 6), cam.Fx, 9);
        // Cameras look roughly at the room centre.
        foreach (var v in scene.Views)
        {
            var (u, vv, depth) = v.Camera.Project(0, 0, 0.3);
            Assert.True(depth > 0);
            Assert.InRange(u, 0, cam.Width);
            Assert.InRange(vv, 0, cam.Height);
        }
        var json = System.Text.Json.JsonDocument.Parse(SyntheticSceneWriter.TransformsJson(scene)).RootElement;
        Assert.Equal("points3D.ply", json.GetProperty("ply_file_path").GetString());
        var frame = json.GetProperty("frames")[1];
        Assert.Equal("color/0001.png", frame.GetProperty("file_path").GetString());
        var m = frame.GetProperty("transform_matrix");
        var c2w = scene.Views[1].Camera.CameraToWorld;
        for (int r = 0; r < 3; r++)
        {
            Assert.Equal(c2w[r * 4], m[r][0].GetDouble());
            Assert.Equal(-c2w[r * 4 + 1], m[r][1].GetDouble());
            Assert.Equal(-c2w[r * 4 + 2], m[r][2].GetDouble());
            Assert.Equal(c2w[r * 4 + 3], m[r][3].GetDouble());
        }
        var sceneJson = System.Text.Json.JsonDocument.Parse(SyntheticSceneWriter.SceneJson(scene)).RootElement;
        Assert.Equal(scene.Objects.Count, sceneJson.GetProperty("objects").GetArrayLength());
    }

    [Fact]
    public void Invalid_options_name_the_value()
    {
        var e = Assert.Throws<ArgumentException>(() => SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Views = 1 }));
        Assert.Contains("views = 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Objects = 121 }));
        Assert.Contains("objects = 121", e.Message);
        e = Assert.Throws<ArgumentException>(() => SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Specular = 2 }));
        Assert.Contains("specular = 2", e.Message);
    }

    [Fact]
    public void Timing_of_the_default_scene()
    {
        // Printed, not asserted: wall time depends on machine load; process CPU time is the steadier number.
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var scene = SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Seed = 1 });
        clock.Stop();
        process.Refresh();
        output.WriteLine($"60 views 320x240, 10 objects, m2f: wall {clock.Elapsed.TotalSeconds:0.00} s, process CPU {(process.TotalProcessorTime - cpu0).TotalSeconds:0.00} s " +
            $"on {Environment.ProcessorCount} cores, {scene.Points.Length / 3} points");
        Assert.Equal(60, scene.Views.Count);
        if (Environment.GetEnvironmentVariable("UNICLIFT_DUMP_SCENE") is { Length: > 0 } dir) Dump(dir, scene);
    }

    /// <summary>Debug aid: PPM/PGM files of a few views for eyeballing (only when UNICLIFT_DUMP_SCENE is set).</summary>
    private static void Dump(string dir, SyntheticScene scene)
    {
        Directory.CreateDirectory(dir);
        foreach (var v in scene.Views.Take(4))
        {
            var img = v.Image;
            using (var f = File.Create(Path.Combine(dir, $"{v.Name}.ppm")))
            {
                f.Write(System.Text.Encoding.ASCII.GetBytes($"P6 {img.Width} {img.Height} 255\n"));
                f.Write(img.Pixels);
            }
            foreach (var (name, map) in new[] { ("gt", v.GtInstance!), ("mask", v.Mask!) })
            {
                var rgb = new byte[map.Labels.Length * 3];
                for (int p = 0; p < map.Labels.Length; p++)
                {
                    ulong h = (ulong)map.Labels[p] * 0x9E3779B97F4A7C15UL;
                    rgb[3 * p] = map.Labels[p] == 0 ? (byte)0 : (byte)(h >> 56);
                    rgb[3 * p + 1] = map.Labels[p] == 0 ? (byte)0 : (byte)(h >> 48);
                    rgb[3 * p + 2] = map.Labels[p] == 0 ? (byte)0 : (byte)(h >> 40);
                }
                using var f = File.Create(Path.Combine(dir, $"{v.Name}_{name}.ppm"));
                f.Write(System.Text.Encoding.ASCII.GetBytes($"P6 {map.Width} {map.Height} 255\n"));
                f.Write(rgb);
            }
        }
    }
}
