namespace UniCLift.Tests.Metrics;

using System.CommandLine;
using System.Text.Json;
using UniCLift.Client;
using UniCLift.Client.Commands;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Metrics;
using UniCLift.Compute.Scenes;

/// <summary>
/// The eval command without image files: the loading logic runs on an in-memory scene with an injected label reader
/// (the real readers are contracts implemented elsewhere), the CLI is exercised on its error paths.
/// </summary>
public class EvalCommandTests
{
    private static readonly Camera Cam = new(8, 6, 10, 10, 4, 3, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);

    private static LabelMap Frame(int objectId, int x0)
    {
        var m = new LabelMap(8, 6);
        for (int y = 1; y < 5; y++)
            for (int x = x0; x < x0 + 3; x++)
                m.Labels[y * 8 + x] = objectId;
        return m;
    }

    /// <summary>Three test frames f0..f2 with one object; predictions exist for f0 and f1 only.</summary>
    private static (Scene Scene, Dictionary<string, LabelMap> Files) SmallScene(bool wrongSize = false)
    {
        var files = new Dictionary<string, LabelMap>();
        var views = new List<SceneView>();
        for (int f = 0; f < 3; f++)
        {
            string name = $"f{f}";
            string gt = $"/s/rs_instance/{name}.png";
            files[gt] = Frame(3, f);
            if (f < 2) files[$"/p/{name}.png"] = wrongSize && f == 1 ? new LabelMap(4, 3) : Frame(9, f);
            views.Add(new SceneView(name, Cam, $"/s/color/{name}.jpg", GtInstancePath: gt));
        }
        var scene = new Scene("/s", SceneLayout.PanopticLifting, views, ["f1"], ["f0", "f1", "f2"]);
        return (scene, files);
    }

    [Fact]
    public void Missing_Prediction_Frames_Count_As_Background()
    {
        var (scene, files) = SmallScene();
        var o = EvalCommand.Evaluate(scene, "test", "/p", null, new PanopticOptions { Resize = 0 }, p => files.GetValueOrDefault(p), p => files.GetValueOrDefault(p));
        Assert.Equal(3, o.Frames);
        Assert.Equal(new[] { "f2" }, o.MissingFrames);
        // Object: 12 px per frame, predicted in 2 of 3 frames -> IoU 24/36 = 2/3 (TP). Background: 48x3-36 vs 48x3-24.
        var thing = o.Result.Classes.Single(c => c.IsThing);
        Assert.Equal((1, 0, 0), (thing.TruePositives, thing.FalsePositives, thing.FalseNegatives));
        Assert.Equal(100 * 2.0 / 3, thing.Pq, 1e-9);
        Assert.Equal(100 * (108.0 / 120), o.Result.PqStuff, 1e-9);
    }

    [Fact]
    public void Train_Split_Uses_Train_Frames()
    {
        var (scene, files) = SmallScene();
        var o = EvalCommand.Evaluate(scene, "train", "/p", null, new PanopticOptions { Resize = 0 }, p => files.GetValueOrDefault(p), p => files.GetValueOrDefault(p));
        Assert.Equal(1, o.Frames);
        Assert.Empty(o.MissingFrames);
        Assert.Equal(100, o.Result.Pq, 1e-9);
    }

    [Fact]
    public void Size_Mismatch_Names_File_And_Both_Sizes()
    {
        var (scene, files) = SmallScene(wrongSize: true);
        var ex = Assert.Throws<InvalidDataException>(() =>
            EvalCommand.Evaluate(scene, "test", "/p", null, new PanopticOptions(), p => files.GetValueOrDefault(p), p => files.GetValueOrDefault(p)));
        Assert.Contains("/p/f1.png", ex.Message);
        Assert.Contains("4x3", ex.Message);
        Assert.Contains("8x6", ex.Message);
    }

    [Fact]
    public void Json_Report_Is_One_Object_With_The_Figures()
    {
        var (scene, files) = SmallScene();
        var o = EvalCommand.Evaluate(scene, "test", "/p", null, new PanopticOptions(), p => files.GetValueOrDefault(p), p => files.GetValueOrDefault(p));
        var (console, output, _) = Capture();
        EvalCommand.Report(o, json: true, console);
        using var doc = JsonDocument.Parse(output.ToString()); // throws on trailing text
        var root = doc.RootElement;
        Assert.Equal(o.Result.Pq, root.GetProperty("pq_scene").GetDouble(), 1e-9);
        Assert.Equal(o.Result.PqThings, root.GetProperty("pq_things").GetDouble(), 1e-9);
        Assert.Equal(1, root.GetProperty("missing_frames").GetInt32());
        Assert.Equal(3, root.GetProperty("frames").GetInt32());
        Assert.Equal(2, root.GetProperty("classes").GetArrayLength());
        Assert.Equal(0, root.GetProperty("dropped_classes").GetArrayLength());
        foreach (var key in new[] { "sq", "rq", "pq_stuff", "protocol" }) Assert.True(root.TryGetProperty(key, out _), key);
    }

    [Fact]
    public void Text_Report_Ends_With_PQ_Scene_Line()
    {
        var (scene, files) = SmallScene();
        var o = EvalCommand.Evaluate(scene, "test", "/p", null, new PanopticOptions(), p => files.GetValueOrDefault(p), p => files.GetValueOrDefault(p));
        var (console, output, _) = Capture();
        EvalCommand.Report(o, json: false, console);
        var lines = output.ToString().TrimEnd('\n', '\r').Split('\n');
        Assert.Equal($"PQ_scene={o.Result.Pq:F2}", lines[^1].TrimEnd('\r'));
        Assert.Contains("PQ_things", output.ToString());
        Assert.Contains("foreground", output.ToString());
    }

    /// <summary>A distorted scene's predictions are rendered with the pinhole camera its maps are undistorted to; eval
    /// read the ground truth raw, so a perfect prediction scored against maps of another geometry.</summary>
    [Fact]
    public void A_Distorted_Scenes_Ground_Truth_Is_Undistorted_As_Its_Predictions_Are()
    {
        var dir = Directory.CreateTempSubdirectory("uniclift-eval-distorted-");
        try
        {
            var sceneDir = Path.Combine(dir.FullName, "scene");
            Compute.Synthetic.SyntheticSceneWriter.Write(sceneDir, Compute.Synthetic.SyntheticSceneGenerator.Generate(
                new Compute.Synthetic.SyntheticSceneOptions { Seed = 3, Objects = 3, Views = 5, Width = 48, Height = 36, TestEvery = 2, PointCount = 300 }));
            var plain = SceneInspector.Read(sceneDir);
            var scene = plain with { Views = [.. plain.Views.Select(v => v with { Distortion = new Distortion("OPENCV", K1: -0.25, K2: 0.05, P1: 0.003) })] };
            var pred = Directory.CreateDirectory(Path.Combine(dir.FullName, "pred")).FullName;
            foreach (var v in scene.Views) // a perfect prediction: the ground truth in the predictions' (undistorted) geometry
                Compute.IO.ImageIO.WriteLabels16(Path.Combine(pred, SceneEvaluator.PredictionFileName(v)), SceneData.LoadGtInstance(scene, v));
            static LabelMap? Read(string p) => File.Exists(p) ? Compute.IO.ImageIO.ReadLabels(p) : null;

            var o = EvalCommand.Evaluate(scene, "test", pred, null, new PanopticOptions(), Read);
            Assert.Equal(100, o.Result.Pq, 9);
            var raw = EvalCommand.Evaluate(scene, "test", pred, null, new PanopticOptions(), Read, readGroundTruth: Read); // as it was
            Assert.True(raw.Result.Pq < 100, $"raw ground truth scored {raw.Result.Pq}");
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void A_Result_Directory_Is_Scored_By_Its_Label_Maps_And_A_Folder_Without_Any_Prediction_Is_An_Error()
    {
        var dir = Directory.CreateTempSubdirectory("uniclift-eval-result-");
        try
        {
            var sceneDir = Path.Combine(dir.FullName, "scene");
            Compute.Synthetic.SyntheticSceneWriter.Write(sceneDir, Compute.Synthetic.SyntheticSceneGenerator.Generate(
                new Compute.Synthetic.SyntheticSceneOptions { Seed = 2, Objects = 2, Views = 5, Width = 32, Height = 24, TestEvery = 2, PointCount = 300 }));
            // segment's --out: label maps in instance/, metrics.json beside them; here the ground truth as the prediction.
            var result = Path.Combine(dir.FullName, "result");
            var instance = Directory.CreateDirectory(Path.Combine(result, "instance")).FullName;
            foreach (var gt in Directory.GetFiles(Path.Combine(sceneDir, "rs_instance"), "*.png"))
                File.Copy(gt, Path.Combine(instance, Path.GetFileName(gt)));
            File.WriteAllText(Path.Combine(result, "metrics.json"), "{}");
            var (code, output, error) = Invoke("eval", "--scene", sceneDir, "--pred", result);
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Contains($"scoring its label maps in {instance}", error);
            Assert.DoesNotContain("no prediction", error);
            Assert.EndsWith("PQ_scene=100.00", output.TrimEnd());

            // A folder with none of the frames: an error, not a score of all background.
            var empty = Directory.CreateDirectory(Path.Combine(dir.FullName, "empty")).FullName;
            (code, output, error) = Invoke("eval", "--scene", sceneDir, "--pred", empty);
            Assert.Equal(ExitCodes.UserError, code);
            Assert.Contains($"has a prediction in '{empty}'", error);
            Assert.DoesNotContain("PQ_scene", output);
        }
        finally { dir.Delete(recursive: true); }
    }

    private static (int Code, string Output, string Error) Invoke(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Missing_Scene_Directory_Gives_One_Error_Line_And_Exit_2()
    {
        string missing = Path.Combine(Path.GetTempPath(), "uniclift-no-such-scene-" + Guid.NewGuid().ToString("N"));
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Build().Parse(["eval", "--scene", missing, "--pred", Path.GetTempPath(), "--json"])
            .Invoke(new InvocationConfiguration { Output = output, Error = error });
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Equal("", output.ToString());
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(missing, lines[0]);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("100000")]
    public void A_Resize_Outside_0_To_8192_Is_One_Error_Line_Naming_It(string value)
    {
        string missing = Path.Combine(Path.GetTempPath(), "uniclift-no-such-scene-" + Guid.NewGuid().ToString("N"));
        var (code, output, error) = Invoke("eval", "--scene", missing, "--pred", missing, "--resize", value);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"error: --resize must be 0 (native size) or a side in 1..8192, got {value}.", line);
    }

    [Fact]
    public void Multi_Class_Without_Predicted_Semantics_Is_A_User_Error()
    {
        string dir = Directory.CreateTempSubdirectory("uniclift-eval-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "color"));
            Directory.CreateDirectory(Path.Combine(dir, "pose"));
            var error = new StringWriter();
            int code = Cli.Build().Parse(["eval", "--scene", dir, "--pred", dir, "--protocol", "multi-class"])
                .Invoke(new InvocationConfiguration { Output = new StringWriter(), Error = error });
            Assert.Equal(ExitCodes.UserError, code);
            Assert.Contains("--pred-semantic", error.ToString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private static (CommandConsole Console, StringWriter Output, StringWriter Error) Capture()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        return (new CommandConsole(output, error), output, error);
    }
}
