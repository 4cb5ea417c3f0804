namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using UniCLift.Client.Terminal;
using UniCLift.Compute.IO;
using UniCLift.Compute.Metrics;
using UniCLift.Compute.Scenes;

/// <summary>
/// `uniclift eval --scene DIR --pred DIR [--pred-semantic DIR] [--split test|train|all] [--protocol auto|two-class|multi-class]
/// [--no-robust] [--resize 512] [--json]`: scene-level panoptic quality (PQ^scene, see <see cref="ScenePanopticQuality"/>)
/// of predicted instance maps against a scene's ground truth, in any layout <see cref="SceneInspector"/> reads (Panoptic Lifting:
/// rs_instance/rs_semantics, test split from splits.json; Messy Rooms: instance/*.npy, test = last 20 %, two-class).
/// PRED holds one PNG per frame named as the frame's ground-truth instance map (0 = background); a missing frame counts
/// as all background and is reported. The last line of the text output is `PQ_scene=&lt;value, 2 decimals&gt;`; with --json,
/// standard output is exactly one JSON object. User errors: one red line, exit code 2.
/// </summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var scene = new Option<string>("--scene") { Description = "Scene directory with ground truth (any layout `uniclift info` recognises).", Required = true };
        var pred = new Option<string>("--pred")
        {
            Description = "Directory of predicted instance maps: one 8/16-bit PNG per frame, same file name as rs_instance, 0 = background.",
            Required = true,
        };
        var predSemantic = new Option<string?>("--pred-semantic")
        {
            Description = "Directory of predicted semantic maps (same file names); with it the multi-class protocol is used.",
        };
        var split = new Option<string>("--split") { Description = "Frames to evaluate.", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "train", "all");
        var protocol = new Option<string>("--protocol")
        {
            Description = "two-class: background vs objects (Messy Rooms); multi-class: semantic classes (Panoptic Lifting); " +
                          "auto: two-class for Messy Rooms, else multi-class when --pred-semantic is given.",
            DefaultValueFactory = _ => "auto",
        };
        protocol.AcceptOnlyFromAmong("auto", "two-class", "multi-class");
        var noRobust = new Option<bool>("--no-robust") { Description = "Keep classes under 0.5 % of the pixels." };
        var resize = new Option<int>("--resize") { Description = "Side of the square every frame is resized to (0 = native size).", DefaultValueFactory = _ => 512 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables." };
        var downscale = new Option<int?>("--downscale")
        {
            Description = $"score at the images' size divided by N (1..{Grains.JobTraining.MaxDownscale}; ground truth by each N x N block's centre pixel), " +
                          "as segment --downscale N writes its label maps; default: the factor a result's metrics.json records, else 1.",
        };

        var command = new Command("eval", "Scene-level panoptic quality (PQ^scene, as Panoptic Lifting defines it) of predicted instance maps.");
        foreach (var o in new Option[] { scene, pred, predSemantic, split, protocol, noRobust, resize, json, downscale })
            command.Options.Add(o);

        CommandAction.Set(command, (parseResult, console) => Run(new EvalSettings(
            parseResult.GetValue(scene)!,
            parseResult.GetValue(pred)!,
            parseResult.GetValue(predSemantic),
            parseResult.GetValue(split)!,
            parseResult.GetValue(protocol)!,
            Robust: !parseResult.GetValue(noRobust),
            parseResult.GetValue(resize),
            parseResult.GetValue(json),
            parseResult.GetValue(downscale)), console));
        return command;
    }

    /// <param name="Downscale">--downscale; null: a result's recorded factor, else 1.</param>
    internal sealed record EvalSettings(
        string Scene, string Pred, string? PredSemantic, string Split, string Protocol, bool Robust, int Resize, bool Json, int? Downscale = null);

    /// <summary>--resize's largest side (make-scene's too; Panoptic Lifting scores at 512).</summary>
    internal const int MaxResize = 8192;

    internal static int Run(EvalSettings s, CommandConsole console)
    {
        // 100000 counted 10^10 pixels a frame (25 s for one frame, half an hour for a 60-view test split); -1 was the
        // metric's "(Parameter 'Resize') Actual value was -1", naming no option.
        if (s.Resize < 0 || s.Resize > MaxResize)
            throw new ArgumentException($"--resize must be 0 (native size) or a side in 1..{MaxResize}, got {s.Resize}.");
        RequireDirectory(s.Scene, "scene");
        RequireDirectory(s.Pred, "prediction");
        if (s.PredSemantic is not null) RequireDirectory(s.PredSemantic, "predicted semantics");
        if (s.Protocol == "multi-class" && s.PredSemantic is null)
            throw new ArgumentException("--protocol multi-class needs predicted semantic maps: give --pred-semantic DIR.");
        int? asked = s.Downscale is null ? null : Client.BatchConsole.Downscale(s.Downscale, Grains.JobMode.Train);
        // Any known layout; each reader sets its dataset's test split (splits.json, Messy Rooms' last 20 %).
        var scene = SceneInspector.Read(s.Scene);

        var protocol = s.Protocol switch
        {
            "two-class" => PanopticProtocol.TwoClass,
            "multi-class" => PanopticProtocol.MultiClass,
            // Messy Rooms is scored two-class (background vs objects) whatever else is given.
            _ => s.PredSemantic is null || scene.Layout == SceneLayout.MessyRooms ? PanopticProtocol.TwoClass : PanopticProtocol.MultiClass,
        };
        if (protocol == PanopticProtocol.MultiClass && s.PredSemantic is null)
            throw new ArgumentException("--protocol multi-class needs predicted semantic maps: give --pred-semantic DIR.");

        var options = new PanopticOptions { Protocol = protocol, Robust = s.Robust, Resize = s.Resize };
        // A result directory (segment's --out) holds its label maps in instance/: take them from there.
        var labels = Path.Combine(s.Pred, Compute.Segmentation.SceneSegmentation.LabelsFolder);
        if (File.Exists(Path.Combine(s.Pred, Compute.Segmentation.SceneSegmentation.MetricsFile)) && Directory.Exists(labels))
        {
            console.Note($"'{s.Pred}' is a result: scoring its label maps in {labels}.");
            // Another scene's result scores about 0 without a word otherwise.
            if (Compute.Segmentation.SceneSegmentation.Recorded(s.Pred, "scene") is { } made
                && !string.Equals(Path.GetFullPath(made).TrimEnd('/'), Path.GetFullPath(s.Scene).TrimEnd('/'), StringComparison.Ordinal))
                console.Warn($"'{s.Pred}' is a result of scene '{made}' (its metrics.json says so), not of '{s.Scene}': the scores compare two scenes.");
            // At the size it was trained and decoded at (its metrics.json's "downscale"), unless told.
            if (asked is null && Compute.Segmentation.SceneSegmentation.RecordedDownscale(s.Pred) is { } recorded and > 1)
            {
                asked = recorded;
                console.Note($"the result was trained at --downscale {recorded}, as its metrics.json records: scoring at that size.");
            }
            s = s with { Pred = labels };
        }
        int factor = asked ?? 1;
        scene = scene.Downscaled(factor);
        // The ground truth is read as training's decoding scored it (SceneData: undistorted, and downscaled to the block centres).
        var outcome = Evaluate(scene, s.Split, s.Pred, s.PredSemantic, options, TryReadLabels);
        if (outcome.Frames > 0 && outcome.MissingFrames.Count == outcome.Frames)
            throw new InvalidDataException($"none of the {outcome.Frames} {s.Split} frames has a prediction in '{s.Pred}' (looked for " +
                                           $"{string.Join(", ", outcome.MissingFrames.Take(3))}, ...: a 16-bit label map per frame, as segment writes in its " +
                                           "instance/ folder, or Segment Anything's masks).");
        if (outcome.MissingFrames.Count > 0)
            console.Warn($"{outcome.MissingFrames.Count} of {outcome.Frames} frames have no prediction in '{s.Pred}' " +
                         $"(counted as all background), e.g. {string.Join(", ", outcome.MissingFrames.Take(5))}.");
        Report(outcome, s.Json, console);
        return ExitCodes.Ok;
    }

    /// <summary>A frame's prediction: its label map, or else Segment Anything's masks for it (a .json or a folder named
    /// by the frame, as amg.py writes them), so the raw input masks can be scored as they are; null when none is there.</summary>
    private static LabelMap? TryReadLabels(string path)
    {
        if (File.Exists(path)) return ImageIO.ReadLabels(path);
        var json = Path.ChangeExtension(path, ".json");
        if (File.Exists(json)) return SamMasks.ReadJson(json);
        var folder = Path.Combine(Path.GetDirectoryName(path) ?? ".", Path.GetFileNameWithoutExtension(path));
        return Directory.Exists(folder) && File.Exists(Path.Combine(folder, "metadata.csv")) ? SamMasks.ReadFolder(folder) : null;
    }

    private static void RequireDirectory(string dir, string what)
    {
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"The {what} directory '{dir}' {(File.Exists(dir) ? "is a file, not a directory" : "does not exist")}.");
    }

    /// <summary>Evaluates the predictions in <paramref name="predDir"/> (files named as the ground truth, .png).
    /// <paramref name="tryRead"/> reads a prediction, null for a file that does not exist. The ground truth is read through
    /// SceneData, as training's own evaluation reads it: a distorted view's map undistorted to the pinhole camera the
    /// predictions were rendered with (it was read raw, so a distorted scene's predictions were scored against maps of
    /// another geometry), a downscaled scene's resampled; <paramref name="readGroundTruth"/> replaces that (tests: files
    /// in memory).</summary>
    internal static SceneEvaluation Evaluate(
        Scene scene, string split, string predDir, string? predSemanticDir, PanopticOptions options, Func<string, LabelMap?> tryRead,
        Func<string, LabelMap?>? readGroundTruth = null) =>
        SceneEvaluator.Evaluate(scene, split, options,
            v => tryRead(Path.Combine(predDir, SceneEvaluator.PredictionFileName(v))),
            predSemanticDir is null ? null : v => tryRead(Path.Combine(predSemanticDir, SceneEvaluator.PredictionFileName(v))),
            readGroundTruth,
            v => Path.Combine(predDir, SceneEvaluator.PredictionFileName(v)));

    internal static void Report(SceneEvaluation o, bool json, CommandConsole console)
    {
        if (json)
        {
            console.OutWriter.WriteLine(ToJson(o).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return;
        }

        var r = o.Result;
        var classes = new Table().Title($"PQ^scene per class ({ProtocolName(o.Protocol)}, {o.Split} split, {o.Frames} frames)");
        foreach (var h in new[] { "class", "name", "kind", "GT %", "TP", "FP", "FN", "SQ", "RQ", "PQ" })
            classes.AddColumn(new TableColumn(h) { Alignment = h is "class" or "name" or "kind" ? Justify.Left : Justify.Right });
        foreach (var c in r.Classes)
            classes.AddRow(
                c.ClassId.ToString(CultureInfo.InvariantCulture), Markup.Escape(c.Name ?? ""), c.IsThing ? "thing" : "stuff",
                F(c.GtSharePercent), c.TruePositives.ToString(CultureInfo.InvariantCulture),
                c.FalsePositives.ToString(CultureInfo.InvariantCulture), c.FalseNegatives.ToString(CultureInfo.InvariantCulture),
                F(c.Sq), F(c.Rq), F(c.Pq));
        console.Out.Write(classes);

        var summary = new Table().AddColumn("metric").AddColumn(new TableColumn("value") { Alignment = Justify.Right });
        summary.AddRow("PQ", F(r.Pq)).AddRow("SQ", F(r.Sq)).AddRow("RQ", F(r.Rq))
               .AddRow("PQ_things", F(r.PqThings)).AddRow("PQ_stuff", F(r.PqStuff));
        console.Out.Write(summary);
        string robust = o.Robust ? "robust (classes under 0.5 % dropped)" : "not robust";
        console.OutWriter.WriteLine($"{robust}; dropped classes: {(r.DroppedClasses.Count == 0 ? "none" : string.Join(", ", r.DroppedClasses))}; " +
                              $"missing prediction frames: {o.MissingFrames.Count}");
        // Plain writer, always the very last line, for scripts.
        console.OutWriter.WriteLine($"PQ_scene={F(r.Pq)}");
    }

    internal static JsonObject ToJson(SceneEvaluation o)
    {
        var r = o.Result;
        var classes = new JsonArray();
        foreach (var c in r.Classes)
            classes.Add(new JsonObject
            {
                ["class"] = c.ClassId,
                ["name"] = c.Name,
                ["is_thing"] = c.IsThing,
                ["tp"] = c.TruePositives,
                ["fp"] = c.FalsePositives,
                ["fn"] = c.FalseNegatives,
                ["iou_sum"] = c.IouSum,
                ["pq"] = Num(c.Pq),
                ["sq"] = Num(c.Sq),
                ["rq"] = Num(c.Rq),
                ["gt_share"] = Num(c.GtSharePercent),
                ["pred_share"] = Num(c.PredSharePercent),
            });
        return new JsonObject
        {
            ["pq_scene"] = Num(r.Pq),
            ["sq"] = Num(r.Sq),
            ["rq"] = Num(r.Rq),
            ["pq_things"] = Num(r.PqThings),
            ["sq_things"] = Num(r.SqThings),
            ["rq_things"] = Num(r.RqThings),
            ["pq_stuff"] = Num(r.PqStuff),
            ["protocol"] = ProtocolName(o.Protocol),
            ["split"] = o.Split,
            ["robust"] = o.Robust,
            ["resize"] = o.Resize,
            ["frames"] = o.Frames,
            ["missing_frames"] = o.MissingFrames.Count,
            ["missing_frame_names"] = new JsonArray(o.MissingFrames.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["pixels"] = r.Pixels,
            ["classes"] = classes,
            ["dropped_classes"] = new JsonArray(r.DroppedClasses.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray()),
        };
    }

    private static string ProtocolName(PanopticProtocol p) => p == PanopticProtocol.MultiClass ? "multi-class" : "two-class";

    /// <summary>NaN (no class of that kind) has no JSON number: it becomes null.</summary>
    private static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;

    private static string F(double v) => double.IsFinite(v) ? v.ToString("F2", CultureInfo.InvariantCulture) : "n/a";
}
