namespace UniCLift.Tests.Readers;

using UniCLift.Compute.IO;
using UniCLift.Compute.Metrics;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using UniCLift.Tests.IO;
using static LayoutFixtures;

public class ReaderRoundTripTests
{
    /// <summary>Same cameras (intrinsics and the pixel a world point lands on), images and masks as written.</summary>
    private static void AssertSameViews(SyntheticScene expected, Scene actual, Func<Camera, Camera>? expectedCamera = null, bool gt = true)
    {
        expectedCamera ??= c => c;
        Assert.Equal(expected.Views.Select(v => v.Name), actual.Views.Select(v => v.Name));
        foreach (var e in expected.Views)
        {
            var a = actual.View(e.Name);
            var ec = expectedCamera(e.Camera);
            Assert.Equal((ec.Width, ec.Height), (a.Camera.Width, a.Camera.Height));
            Assert.Equal(ec.Fx, a.Camera.Fx, 1e-9);
            Assert.Equal(ec.Fy, a.Camera.Fy, 1e-9);
            Assert.Equal(ec.Cx, a.Camera.Cx, 1e-9);
            Assert.Equal(ec.Cy, a.Camera.Cy, 1e-9);
            for (int k = 0; k < 16; k++) Assert.Equal(ec.CameraToWorld[k], a.Camera.CameraToWorld[k], 1e-6);
            int projected = 0;
            for (int i = 0; i < expected.Points.Length / 3; i += 7)
            {
                var (x, y, z) = (expected.Points[i * 3], expected.Points[i * 3 + 1], expected.Points[i * 3 + 2]);
                var pe = ec.Project(x, y, z);
                if (pe.Depth <= 0.1) continue;
                var pa = a.Camera.Project(x, y, z);
                Assert.Equal(pe.U, pa.U, 1e-6);
                Assert.Equal(pe.V, pa.V, 1e-6);
                Assert.Equal(pe.Depth, pa.Depth, 1e-6);
                projected++;
            }
            Assert.True(projected > 5, $"too few points in front of view {e.Name}");
            Assert.Equal(e.Image.Pixels, SceneData.LoadImage(actual, a).Pixels);
            Assert.Equal(e.Mask!.Labels, SceneData.LoadMask(actual, a).Labels);
            if (gt) Assert.Equal(e.GtInstance!.Labels, SceneData.LoadGtInstance(actual, a).Labels);
        }
    }

    [Fact]
    public void MessyRooms_RoundTrips_BlenderAxesAndNormalisedK_TestIsLast20Percent()
    {
        using var dir = new TempDir();
        WriteMessyRooms(dir.Path, Generated);
        Assert.Equal(SceneLayout.MessyRooms, SceneInspector.DetectLayout(dir.Path));
        var s = SceneInspector.Read(dir.Path);
        Assert.Equal(SceneLayout.MessyRooms, s.Layout);
        AssertSameViews(Generated, s);
        Assert.Equal(Generated.Views[0].GtSemantic!.Labels, SceneData.LoadGtSemantic(s, s.Views[0]).Labels);
        // 5 frames: train = first int(0.8 * 5) = 4, test = the last one.
        Assert.Equal(Generated.Views.Take(4).Select(v => v.Name), s.TrainViews);
        Assert.Equal([Generated.Views[4].Name], s.TestViews);
    }

    [Fact]
    public void Graphdeco_RoundTrips_LatestIterationAndMasksFoundThroughSourcePath()
    {
        using var dir = new TempDir();
        WriteGraphdeco(dir.Path, Generated, masksInSource: true);
        Assert.Equal(SceneLayout.Graphdeco, SceneInspector.DetectLayout(dir.Path));
        var s = SceneInspector.Read(dir.Path);
        AssertSameViews(Generated, s, Centred);
        Assert.EndsWith(Path.Combine("iteration_30000", "point_cloud.ply"), s.PointCloudPath);
        Assert.Equal(5, GaussianPly.Read(s.PointCloudPath!).Count);
        Assert.Equal(s.Views.Count, s.TestViews.Count);
        Assert.StartsWith(Path.Combine(dir.Path, "source", "masks"), s.Views[0].MaskPath);

        // An explicit mask folder wins over the search.
        var other = Path.Combine(dir.Path, "other_masks");
        foreach (var v in Generated.Views) ImageIO.WriteLabels16(Path.Combine(other, v.Name + ".png"), v.GtInstance!);
        var s2 = GraphdecoLayout.Read(dir.Path, null, other);
        Assert.Equal(Generated.Views[1].GtInstance!.Labels, SceneData.LoadMask(s2, s2.Views[1]).Labels);
    }

    [Fact]
    public void Graphdeco_ScalesIntrinsicsWhenImagesAreSmallerThanCamerasJson()
    {
        using var dir = new TempDir();
        WriteGraphdeco(dir.Path, Generated);
        var path = Path.Combine(dir.Path, "cameras.json");
        // Cameras made for a 2x larger image: fx, fy, width, height doubled.
        var text = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsArray();
        foreach (var c in text)
            foreach (var k in new[] { "width", "height", "fx", "fy" }) c![k] = c[k]!.GetValue<double>() * 2;
        File.WriteAllText(path, text.ToJsonString());
        AssertSameViews(Generated, SceneInspector.Read(dir.Path), Centred);
    }

    [Fact]
    public void Nerfstudio_RoundTrips_OpenGlPosesNpyMasksAndPlyPath()
    {
        using var dir = new TempDir();
        WriteNerfstudio(dir.Path, Generated);
        Assert.Equal(SceneLayout.Nerfstudio, SceneInspector.DetectLayout(dir.Path));
        var s = SceneInspector.Read(dir.Path);
        AssertSameViews(Generated, s, gt: false);
        Assert.Equal(Path.Combine(dir.Path, "sparse_pc.ply"), s.PointCloudPath);
        Assert.EndsWith(".npy", s.Views[0].MaskPath);
    }

    [Fact]
    public void Nerfstudio_Pixel_Masks_Named_By_Mask_Path_Are_Not_Read_As_Instance_Masks()
    {
        // ns-process-data writes binary masks (which pixels to train on) to masks/ and names them in each frame's
        // mask_path: read as instance masks, every view would be one object.
        using var dir = new TempDir();
        WriteNerfstudio(dir.Path, Generated);
        Directory.Move(Path.Combine(dir.Path, "masks"), Path.Combine(dir.Path, "m2f_instance"));
        var path = Path.Combine(dir.Path, "transforms.json");
        var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        foreach (var f in doc["frames"]!.AsArray())
        {
            var stem = Path.GetFileNameWithoutExtension(f!["file_path"]!.GetValue<string>());
            var binary = new LabelMap(Generated.Views[0].Camera.Width, Generated.Views[0].Camera.Height);
            Array.Fill(binary.Labels, 1);
            ImageIO.WriteLabels16(Path.Combine(dir.Path, "masks", stem + ".png"), binary);
            f["mask_path"] = $"masks/{stem}.png";
        }
        File.WriteAllText(path, doc.ToJsonString());
        var s = SceneInspector.Read(dir.Path);
        AssertSameViews(Generated, s, gt: false);
        Assert.All(s.Views, v => Assert.StartsWith(Path.Combine(dir.Path, "m2f_instance") + Path.DirectorySeparatorChar, v.MaskPath));

        Directory.Delete(Path.Combine(dir.Path, "m2f_instance"), recursive: true);
        Assert.All(SceneInspector.Read(dir.Path).Views, v => Assert.Null(v.MaskPath)); // no instance masks, not binary ones
        Assert.All(SceneInspector.Read(dir.Path, "masks").Views, v => Assert.EndsWith(".png", v.MaskPath)); // unless asked for

        doc["frames"]![0]!["mask_path"] = 3;
        File.WriteAllText(path, doc.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => SceneInspector.Read(dir.Path));
        Assert.Contains("frames[0].mask_path", e.Message);
    }

    [Fact]
    public void A_Mask_Folder_Given_Replaces_The_Layouts_Own_And_Fixed_Layouts_Say_They_Have_Theirs()
    {
        using var dir = new TempDir();
        WriteNerfstudio(dir.Path, Generated);
        Directory.Move(Path.Combine(dir.Path, "masks"), Path.Combine(dir.Path, "amg_out"));
        Assert.All(SceneInspector.Read(dir.Path).Views, v => Assert.Null(v.MaskPath)); // its own search finds none now
        var s = SceneInspector.Read(dir.Path, "amg_out"); // relative to the scene
        AssertSameViews(Generated, s, gt: false);
        Assert.All(s.Views, v => Assert.StartsWith(Path.Combine(dir.Path, "amg_out") + Path.DirectorySeparatorChar, v.MaskPath));
        Assert.Equal(s.Views.Select(v => v.MaskPath), SceneInspector.Read(dir.Path, Path.Combine(dir.Path, "amg_out")).Views.Select(v => v.MaskPath));
        var missing = Assert.Throws<DirectoryNotFoundException>(() => SceneInspector.Read(dir.Path, "nowhere"));
        Assert.Contains(Path.Combine(dir.Path, "nowhere"), missing.Message);
        var info = new StringWriter();
        Assert.Equal(0, UniCLift.Client.Cli.Build().Parse(["info", dir.Path, "--masks", "amg_out"]).Invoke(new System.CommandLine.InvocationConfiguration { Output = info }));
        // The table may wrap a long cell: compare without its borders and white space.
        var flat = new string(info.ToString().Where(ch => !char.IsWhiteSpace(ch) && ch != '│').ToArray());
        Assert.Contains("from" + Path.Combine(dir.Path, "amg_out") + "(--masks)", flat);

        using var pl = new TempDir();
        PanopticLiftingLayout.Write(pl.Path, Generated.Views, Generated.TrainViews, Generated.TestViews);
        var e = Assert.Throws<ArgumentException>(() => SceneInspector.Read(pl.Path, "amg_out"));
        Assert.Contains("PanopticLifting", e.Message);
        Assert.Contains("nerfstudio", e.Message);
    }

    [Theory]
    [InlineData("PINHOLE")]
    [InlineData("OPENCV")]
    public void Colmap_RoundTrips_WorldToCameraPosesAndConvertsPointsOnce(string model)
    {
        using var dir = new TempDir();
        WriteColmap(dir.Path, Generated, model);
        Assert.Equal(SceneLayout.Colmap, SceneInspector.DetectLayout(dir.Path));
        var s = SceneInspector.Read(dir.Path);
        AssertSameViews(Generated, s, gt: false);
        var ply = Path.Combine(dir.Path, "sparse", "0", "points3D.ply");
        Assert.Equal(ply, s.PointCloudPath);
        var (pos, col) = PointCloudPly.Read(ply);
        Assert.Equal(Generated.Points, pos);
        Assert.Equal(Generated.PointColors, col);
        // Not rewritten when present and fresh.
        var stamp = File.GetLastWriteTimeUtc(ply);
        SceneInspector.Read(dir.Path);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(ply));
        // Rewritten when the model's points are newer than its own conversion.
        var points = Path.Combine(dir.Path, "sparse", "0", "points3D.txt");
        File.SetLastWriteTimeUtc(points, stamp.AddMinutes(1));
        Assert.Equal(ply, SceneInspector.Read(dir.Path).PointCloudPath);
        Assert.True(File.GetLastWriteTimeUtc(ply) > stamp);
    }

    [Fact]
    public void Colmap_Never_Overwrites_A_Users_Own_Points3D_Ply()
    {
        // graphdeco's loader writes sparse/0/points3D.ply, and a user may put a cloud of their own there: when the model's
        // points are newer the conversion goes to the cache, and that file stays as it was.
        using var dir = new TempDir();
        WriteColmap(dir.Path, Generated);
        var ply = Path.Combine(dir.Path, "sparse", "0", "points3D.ply");
        PointCloudPly.Write(ply, [1, 2, 3], [4, 5, 6]);
        var bytes = File.ReadAllBytes(ply);
        File.SetLastWriteTimeUtc(ply, File.GetLastWriteTimeUtc(Path.Combine(dir.Path, "sparse", "0", "points3D.txt")).AddMinutes(-1));
        var s = SceneInspector.Read(dir.Path);
        Assert.Equal(bytes, File.ReadAllBytes(ply));
        Assert.NotEqual(ply, s.PointCloudPath);
        Assert.Equal(Generated.Points, PointCloudPly.Read(s.PointCloudPath!).Positions);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Colmap_A_Rigs_Cameras_In_Folders_Of_Their_Own_Name_Their_Views_By_Path(bool masksInFolders)
    {
        // A two-camera rig whose cameras write into folders of their own with the same file names (cam1/0000.png,
        // cam2/0000.png): refused before ("two images have the stem"), and its masks were looked up by stem alone.
        using var dir = new TempDir();
        WriteColmap(dir.Path, Generated);
        var imagesTxt = Path.Combine(dir.Path, "sparse", "0", "images.txt");
        var text = File.ReadAllText(imagesTxt);
        var renamed = new List<(string Old, string New)>();
        for (int i = 0; i < Generated.Views.Count; i++)
        {
            string name = Generated.Views[i].Name, path = $"cam{i % 2 + 1}/{i / 2:D4}";
            text = text.Replace($" {name}.png\n", $" {path}.png\n");
            renamed.Add((name, path));
        }
        File.WriteAllText(imagesTxt, text);
        foreach (var (old, path) in renamed)
        {
            string view = path.Replace('/', '_');
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir.Path, "images", path))!);
            File.Move(Path.Combine(dir.Path, "images", old + ".png"), Path.Combine(dir.Path, "images", path + ".png"));
            var mask = Path.Combine(dir.Path, "m2f_instance", (masksInFolders ? path : view) + ".png");
            Directory.CreateDirectory(Path.GetDirectoryName(mask)!);
            File.Move(Path.Combine(dir.Path, "m2f_instance", old + ".png"), mask);
        }

        var s = SceneInspector.Read(dir.Path);
        Assert.Equal(renamed.Select(r => r.New.Replace('/', '_')).Order(StringComparer.Ordinal), s.Views.Select(v => v.Name));
        foreach (var (old, path) in renamed)
        {
            var v = s.View(path.Replace('/', '_'));
            Assert.Equal(Generated.Views.First(g => g.Name == old).Mask!.Labels, SceneData.LoadMask(s, v).Labels);
            Assert.Equal(path.Replace('/', '_') + ".png", SceneEvaluator.PredictionFileName(v)); // one label map each
        }
    }

    [Fact]
    public void Colmap_SimplePinholeHasOneFocalLength()
    {
        using var dir = new TempDir();
        WriteColmap(dir.Path, Generated, "SIMPLE_PINHOLE");
        var s = ColmapLayout.Read(dir.Path);
        Assert.Equal(Generated.Views[0].Camera.Fx, s.Views[0].Camera.Fy, 1e-12);
    }

    [Fact]
    public void Info_NamesEveryLayout()
    {
        foreach (var (write, layout) in new (Action<string>, SceneLayout)[]
                 {
                     (d => WriteMessyRooms(d, Generated), SceneLayout.MessyRooms), (d => WriteGraphdeco(d, Generated), SceneLayout.Graphdeco),
                     (d => WriteNerfstudio(d, Generated), SceneLayout.Nerfstudio), (d => WriteColmap(d, Generated), SceneLayout.Colmap),
                 })
        {
            using var dir = new TempDir();
            write(dir.Path);
            var sw = new StringWriter(); var err = new StringWriter();
            int code = UniCLift.Client.Cli.Build().Parse(["info", dir.Path, "--sample", "4"])
                .Invoke(new System.CommandLine.InvocationConfiguration { Output = sw, Error = err });
            Assert.True(code == 0, err.ToString());
            Assert.Contains(layout.ToString() + ":", sw.ToString());
            Assert.Contains("32x24", sw.ToString());
        }
    }
}
