namespace UniCLift.Tests.Scenes;

using System.Globalization;
using Spectre.Console;
using UniCLift.Client.Commands;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Tests.IO;

public class PanopticLiftingLayoutTests
{
    private const int W = 24, H = 16;

    private static double[] Pose(double angle, double tx)
    {
        double c = Math.Cos(angle), s = Math.Sin(angle);
        return [c, 0, s, tx, 0, 1, 0, 0.1 * tx, -s, 0, c, 1.0 / 3.0, 0, 0, 0, 1];
    }

    private static List<ViewData> MakeViews(int count, bool withGt = true)
    {
        var views = new List<ViewData>();
        for (int v = 0; v < count; v++)
        {
            var cam = new Camera(W, H, 20.123456789, 21.5, 12.25, 7.75, Pose(0.1 * v + 0.01, v * 0.7));
            var img = new RgbImage(W, H);
            for (int i = 0; i < img.Pixels.Length; i++) img.Pixels[i] = (byte)(i * 7 + v * 13);
            var mask = new LabelMap(W, H);
            var gt = new LabelMap(W, H);
            var depth = new DepthMap(W, H);
            for (int i = 0; i < W * H; i++)
            {
                mask.Labels[i] = (i % W) / 6 + 1 + (v % 2) * 300; // 4 segments, ids > 255 on odd views
                gt.Labels[i] = (i / W) / 8 + 1;
                depth.Meters[i] = 0.5f + i * 0.001f;
            }
            views.Add(new ViewData(v.ToString(CultureInfo.InvariantCulture), cam, img, depth, mask, null, withGt ? gt : null, withGt ? gt : null));
        }
        return views;
    }

    private static Scene WriteAndRead(TempDir dir, List<ViewData> views, IReadOnlyList<string>? train = null, IReadOnlyList<string>? test = null)
    {
        PanopticLiftingLayout.Write(dir.Path, views, train ?? views.Select(v => v.Name).Where((_, i) => i % 4 != 0).ToList(), test ?? views.Select(v => v.Name).Where((_, i) => i % 4 == 0).ToList());
        return PanopticLiftingLayout.Read(dir.Path);
    }

    [Fact]
    public void WriteThenRead_RoundTripsCamerasImagesMasksDepthAndSplits()
    {
        using var dir = new TempDir();
        var views = MakeViews(12);
        var scene = WriteAndRead(dir, views);

        Assert.Equal(SceneLayout.PanopticLifting, scene.Layout);
        Assert.True(PanopticLiftingLayout.Detect(dir.Path));
        // Numeric order: 0, 1, 2, ..., 10, 11 (not 0, 1, 10, 11, 2, ...).
        Assert.Equal(views.Select(v => v.Name), scene.Views.Select(v => v.Name));
        Assert.Equal(["0", "4", "8"], scene.TestViews);
        Assert.Equal(9, scene.TrainViews.Count);
        Assert.True(scene.HasMasks);
        Assert.True(scene.HasGroundTruth);
        Assert.Null(scene.Views[0].MaskSemanticPath);

        for (int i = 0; i < views.Count; i++)
        {
            var a = views[i];
            var sv = scene.Views[i];
            Assert.Equal((a.Camera.Width, a.Camera.Height, a.Camera.Fx, a.Camera.Fy, a.Camera.Cx, a.Camera.Cy),
                         (sv.Camera.Width, sv.Camera.Height, sv.Camera.Fx, sv.Camera.Fy, sv.Camera.Cx, sv.Camera.Cy));
            Assert.Equal(a.Camera.CameraToWorld, sv.Camera.CameraToWorld); // full precision
            Assert.Equal(a.Image.Pixels, SceneData.LoadImage(scene, sv).Pixels);
            Assert.Equal(a.Mask!.Labels, SceneData.LoadMask(scene, sv).Labels);
            Assert.Equal(a.GtInstance!.Labels, SceneData.LoadGtInstance(scene, sv).Labels);
            Assert.Equal(a.GtSemantic!.Labels, SceneData.LoadGtSemantic(scene, sv).Labels);
            var d = SceneData.LoadDepth(scene, sv);
            for (int k = 0; k < d.Meters.Length; k++) Assert.Equal(a.Depth!.Meters[k], d.Meters[k], 3);
        }
        Assert.Throws<InvalidOperationException>(() => SceneData.LoadMaskSemantic(scene, scene.Views[0]));
    }

    [Fact]
    public void Read_AcceptsJpgColour_3x4Poses_IntegerSplits_AndScalesScanNetIntrinsics()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("color"));
        Directory.CreateDirectory(dir.File("pose"));
        Directory.CreateDirectory(dir.File("intrinsic"));
        foreach (var n in new[] { "2", "10", "1" })
        {
            ImageIO.WriteRgb(dir.File($"color/{n}.jpg"), new RgbImage(640, 480));
            File.WriteAllText(dir.File($"pose/{n}.txt"), "1 0 0 0 0 1 0 0 0 0 1 " + n);
        }
        // ScanNet's colour intrinsics are for 1296x968; the images are 640x480.
        File.WriteAllText(dir.File("intrinsic/intrinsic_color.txt"),
            "1170.187988 0.000000 647.750000 0.000000\n0.000000 1170.187988 483.750000 0.000000\n0.000000 0.000000 1.000000 0.000000\n0.000000 0.000000 0.000000 1.000000\n");
        File.WriteAllText(dir.File("splits.json"), """{"train": [1, 2], "test": ["10"]}""");
        File.WriteAllText(dir.File("points3D.ply"), "ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nend_header\n");

        var scene = PanopticLiftingLayout.Read(dir.Path);
        Assert.Equal(["1", "2", "10"], scene.Views.Select(v => v.Name));
        Assert.Equal(["1", "2"], scene.TrainViews);
        Assert.Equal(["10"], scene.TestViews);
        Assert.Equal(dir.File("points3D.ply"), scene.PointCloudPath);
        Assert.Equal(10.0, scene.View("10").Camera.CameraToWorld[11]);
        var c = scene.Views[0].Camera;
        Assert.Equal((640, 480), (c.Width, c.Height));
        Assert.Equal(1170.187988 * 640 / 1296, c.Fx, 9);
        Assert.Equal(1170.187988 * 480 / 968, c.Fy, 9);
        Assert.Equal(647.75 * 640 / 1296, c.Cx, 9);
        Assert.Equal(483.75 * 480 / 968, c.Cy, 9);
    }

    [Fact]
    public void NoSplitsFile_MeansAllFramesInTrainAndTest()
    {
        using var dir = new TempDir();
        WriteAndRead(dir, MakeViews(3, withGt: false));
        File.Delete(dir.File("splits.json"));
        var scene = PanopticLiftingLayout.Read(dir.Path);
        Assert.Equal(["0", "1", "2"], scene.TrainViews);
        Assert.Equal(["0", "1", "2"], scene.TestViews);
        Assert.False(scene.HasGroundTruth);
    }

    [Fact]
    public void MissingPoseFile_IsAnErrorNamingIt()
    {
        using var dir = new TempDir();
        WriteAndRead(dir, MakeViews(3));
        var pose = Path.Combine(dir.Path, "pose", "1.txt");
        File.Delete(pose);
        var e = Assert.Throws<InvalidDataException>(() => PanopticLiftingLayout.Read(dir.Path));
        Assert.Contains(pose, e.Message);
        Assert.Contains("frame '1'", e.Message);
    }

    [Theory]
    [InlineData("1 0 0 0 0 1 0 0 0 0 1 0 0 0 0", "found 15")]
    [InlineData("1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 inf", "non-finite")]
    [InlineData("1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 x", "'x' is not a number")]
    [InlineData("2 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1", "not a rotation")]
    public void MalformedPose_IsAnErrorNamingTheFile(string text, string expected)
    {
        using var dir = new TempDir();
        WriteAndRead(dir, MakeViews(2));
        var pose = Path.Combine(dir.Path, "pose", "0.txt");
        File.WriteAllText(pose, text);
        var e = Assert.Throws<InvalidDataException>(() => PanopticLiftingLayout.Read(dir.Path));
        Assert.Contains(pose, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("{\"train\": [\"0\", ", "not valid JSON")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("{\"train\": [\"0\"]}", "no \"test\" list")]
    [InlineData("{\"train\": [\"0\"], \"test\": [\"7\"]}", "\"7\", which has no image")]
    [InlineData("{\"train\": [0, 99], \"test\": [1]}", "99, which has no image")]
    [InlineData("{\"train\": [0.5], \"test\": [1]}", "neither a frame name nor an integer")]
    [InlineData("{\"train\": [], \"test\": [1]}", "\"train\" is empty")] // it trained on every frame, the test one too
    public void BadSplits_IsAnErrorNamingTheFile(string json, string expected)
    {
        using var dir = new TempDir();
        WriteAndRead(dir, MakeViews(2));
        var splits = Path.Combine(dir.Path, "splits.json");
        File.WriteAllText(splits, json);
        var e = Assert.Throws<InvalidDataException>(() => PanopticLiftingLayout.Read(dir.Path));
        Assert.Contains(splits, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MaskOfTheWrongSize_IsAnErrorNamingFileAndBothSizes()
    {
        using var dir = new TempDir();
        var scene = WriteAndRead(dir, MakeViews(2));
        var maskPath = scene.Views[1].MaskPath!;
        // Of another aspect (one of the images' aspect at another size is resampled: MaskResampleTests).
        ImageIO.WriteLabels16(maskPath, new LabelMap(W / 2, H));
        var e = Assert.Throws<InvalidDataException>(() => SceneData.LoadMask(scene, scene.Views[1]));
        Assert.Contains(maskPath, e.Message);
        Assert.Contains($"{W / 2}x{H}", e.Message);
        Assert.Contains($"{W}x{H}", e.Message);
    }

    [Fact]
    public void MissingMaskForAFrame_AndMissingIntrinsics_AreErrorsNamingTheFile()
    {
        using var dir = new TempDir();
        WriteAndRead(dir, MakeViews(3));
        File.Delete(Path.Combine(dir.Path, "m2f_instance", "2.png"));
        var e = Assert.Throws<InvalidDataException>(() => PanopticLiftingLayout.Read(dir.Path));
        Assert.Contains(Path.Combine(dir.Path, "m2f_instance", "2.png"), e.Message);

        using var dir2 = new TempDir();
        WriteAndRead(dir2, MakeViews(2));
        var intr = Path.Combine(dir2.Path, "intrinsic", "intrinsic_color.txt");
        File.Delete(intr);
        var e2 = Assert.Throws<InvalidDataException>(() => PanopticLiftingLayout.Read(dir2.Path));
        Assert.Contains(intr, e2.Message);
    }

    [Fact]
    public void ColourImagesOfDifferentSizes_AreAnError()
    {
        using var dir = new TempDir();
        WriteAndRead(dir, MakeViews(2));
        var odd = Path.Combine(dir.Path, "color", "1.png");
        ImageIO.WriteRgb(odd, new RgbImage(5, 5));
        var e = Assert.Throws<InvalidDataException>(() => PanopticLiftingLayout.Read(dir.Path));
        Assert.Contains(odd, e.Message);
        Assert.Contains("5x5", e.Message);
    }

    [Fact]
    public void Write_RejectsLabelsBeyond16Bits_NamingTheFile()
    {
        using var dir = new TempDir();
        var views = MakeViews(2);
        views[1].Mask!.Labels[5] = 70000;
        var e = Assert.Throws<ArgumentException>(() => PanopticLiftingLayout.Write(dir.Path, views, ["0"], ["1"]));
        Assert.Contains(Path.Combine("m2f_instance", "1.png"), e.Message);
        Assert.Contains("70000", e.Message);
    }

    [Fact]
    public void Inspector_DetectsAndSummarises()
    {
        using var dir = new TempDir();
        WriteAndRead(dir, MakeViews(6));
        Assert.Equal(SceneLayout.PanopticLifting, SceneInspector.DetectLayout(dir.Path));
        var s = SceneInspector.Inspect(dir.Path, sampleViews: 4);
        Assert.Equal(6, s.ViewCount);
        Assert.Equal((W, H), (s.Width, s.Height));
        Assert.Equal((4, 2), (s.TrainCount, s.TestCount));
        Assert.True(s.HasDepth && s.HasMasks && s.HasGroundTruth);
        Assert.False(s.HasMaskSemantics);
        Assert.Equal(4, s.SampledViews);
        Assert.Equal(4.0, s.MeanSegmentsPerView);
        Assert.Equal(304, s.MaxMaskId);
        Assert.Equal(0.0, s.UnlabelledFraction);
        Assert.Equal(2.0, s.MeanGtInstancesPerView);

        using var empty = new TempDir();
        Assert.Null(SceneInspector.DetectLayout(empty.Path));
    }

    /// <summary>`uniclift info` through the real CLI, with the invocation's writers captured.</summary>
    private static (int Code, string Output, string Error) RunInfo(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = UniCLift.Client.Cli.Build().Parse(["info", .. args])
            .Invoke(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void InfoCommand_PrintsTheSummary_OrAOneLineErrorWithExitCode2()
    {
        using var dir = new TempDir();
        WriteAndRead(dir, MakeViews(3));
        var (code, output, error) = RunInfo(dir.Path);
        Assert.True(code == 0, error);
        Assert.Contains("PanopticLifting", output);
        Assert.Contains($"{W}x{H}", output);
        Assert.Contains("train 2, test 1", output);
        Assert.Equal("", error);

        void AssertOneErrorLine(string expected, params string[] args)
        {
            var (c, o, e) = RunInfo(args);
            Assert.Equal(2, c);
            Assert.Equal("", o); // errors go to standard error; standard output stays clean
            var lines = e.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Single(lines);
            Assert.StartsWith("error:", lines[0]);
            Assert.Contains(expected, lines[0]);
        }

        AssertOneErrorLine("--sample 0", dir.Path, "--sample", "0");
        // The class list training reads: its stuff classes shown, a malformed one said here rather than at training.
        File.WriteAllText(Path.Combine(dir.Path, "classes.json"), "[{\"id\": 4, \"isthing\": 0}, {\"id\": 5, \"isthing\": 1}]");
        Assert.Contains("Stuff classes", RunInfo(dir.Path).Output);
        File.WriteAllText(Path.Combine(dir.Path, "classes.json"), "[{\"id\": 4, \"isthing\": 0.5}]");
        AssertOneErrorLine("classes.json: class 0 has \"isthing\": 0.5", dir.Path);
        File.Delete(Path.Combine(dir.Path, "classes.json"));
        File.Delete(Path.Combine(dir.Path, "pose", "2.txt"));
        AssertOneErrorLine("2.txt", dir.Path);
        AssertOneErrorLine("nope", Path.Combine(dir.Path, "nope"));
        using var empty = new TempDir();
        AssertOneErrorLine("not a recognised scene layout", empty.Path);
    }

    [Fact]
    public void Negative_Mask_Ids_Are_Ignored_Pixels_Not_Segments_Nor_Background()
    {
        // Training ignores negative ids (neither ClusterLoss nor BoundaryMiner sees them); info says so rather than
        // counting them as segments and the masks as covering every pixel.
        using var dir = new TempDir();
        WriteAndRead(dir, MakeViews(2));
        foreach (var name in new[] { "0", "1" })
        {
            var png = Path.Combine(dir.Path, "m2f_instance", name + ".png");
            var m = ImageIO.ReadLabels(png);
            for (int i = 0; i < m.Labels.Length; i++)
                if (i % 4 == 0) m.Labels[i] = -1; // a quarter ignored
                else if (i % 4 == 1) m.Labels[i] = 0; // a quarter unlabelled
            File.Delete(png);
            Npy.Write(Path.ChangeExtension(png, ".npy"), [m.Height, m.Width], m.Labels);
        }
        var s = SceneInspector.Inspect(dir.Path, sampleViews: 2);
        Assert.Equal(0.25, s.IgnoredFraction, 1e-9);
        Assert.Equal(0.25, s.UnlabelledFraction, 1e-9);
        Assert.Equal(4.0, s.MeanSegmentsPerView); // -1 is not a fifth segment
        // The table may wrap a long cell: compare without its borders and white space.
        static string Flat(string text) => new(text.Where(ch => !char.IsWhiteSpace(ch) && ch != '│').ToArray());
        var (code, output, _) = RunInfo(dir.Path);
        Assert.Equal(0, code);
        Assert.Contains("Ignoredpixels25.0%", Flat(output));
        Assert.DoesNotContain("notinthemasks", Flat(output));

        // Every pixel ignored or labelled, none background: not "the masks label every pixel".
        foreach (var name in new[] { "0", "1" })
        {
            var npy = Path.Combine(dir.Path, "m2f_instance", name + ".npy");
            var m = ImageIO.ReadLabels(npy);
            for (int i = 0; i < m.Labels.Length; i++) if (m.Labels[i] == 0) m.Labels[i] = -1;
            Npy.Write(npy, [m.Height, m.Width], m.Labels);
        }
        Assert.Contains("notinthemasks", Flat(RunInfo(dir.Path).Output)); // half ignored, the rest all objects: no background
        foreach (var name in new[] { "0", "1" })
        {
            var npy = Path.Combine(dir.Path, "m2f_instance", name + ".npy");
            var m = ImageIO.ReadLabels(npy);
            Array.Fill(m.Labels, -1);
            Npy.Write(npy, [m.Height, m.Width], m.Labels);
        }
        var all = Flat(RunInfo(dir.Path).Output);
        Assert.Contains("nothingtolearn", all);
        Assert.DoesNotContain("notinthemasks", all);
    }

    [Fact]
    public void InfoCommand_IsRegistered()
    {
        var root = UniCLift.Client.Cli.Build();
        Assert.Contains(root.Subcommands, c => c.Name == "info");
    }
}
