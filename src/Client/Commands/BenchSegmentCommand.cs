namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using UniCLift.Client.Terminal;
using UniCLift.Compute.IO;
using UniCLift.Compute.Metrics;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Synthetic;
using UniCLift.Compute.Training;

/// <summary>
/// `uniclift bench segment`: the quality and speed benchmark of the whole method on generated scenes with exact
/// ground truth. Per scene: the raw m2f masks' PQ (for contrast), train mode, then lift mode from the geometry train
/// mode produced; with --ablation, the paper's ablation (contrastive only; + L_3D; + triplet with W; + triplet
/// without W), run in lift mode on that geometry so that only the segmentation terms differ.
/// </summary>
public static class BenchSegmentCommand
{
    public static Command Create()
    {
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated scene seeds.", DefaultValueFactory = _ => "1,2,3" };
        var views = new Option<int>("--views") { DefaultValueFactory = _ => 60 };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 320 };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 240 };
        var iterations = new Option<int>("--iterations") { Description = "Train-mode iterations.", DefaultValueFactory = _ => new TrainingOptions().Iterations };
        var liftIterations = new Option<int>("--lift-iterations") { Description = "Lift-mode iterations.", DefaultValueFactory = _ => 1500 };
        var ablation = new Option<bool>("--ablation") { Description = "Also run the loss ablation (lift mode)." };
        var noLift = new Option<bool>("--no-lift") { Description = "Skip lift mode." };
        var outDir = new Option<string>("--out") { Description = "Working directory for scenes and results.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "uniclift-bench-segment") };
        var json = new Option<bool>("--json") { Description = "Print one JSON object with every row." };
        var command = new Command("segment", "Benchmark segmentation quality (PQ^scene) and time on generated scenes (8-14 objects, m2f-corrupted masks).");
        foreach (var o in new Option[] { seeds, views, width, height, iterations, liftIterations, ablation, noLift, outDir, json }) command.Options.Add(o);
        CommandAction.Set(command, (parse, console) =>
        {
            var seedList = parse.GetValue(seeds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out var v) ? v : throw new ArgumentException($"--seeds: '{s}' is not an integer.")).ToList();
            var rows = new List<Row>();
            foreach (var seed in seedList)
                rows.AddRange(RunScene(seed, parse.GetValue(views), parse.GetValue(width), parse.GetValue(height), parse.GetValue(iterations),
                    parse.GetValue(liftIterations), !parse.GetValue(noLift), parse.GetValue(ablation), parse.GetValue(outDir)!, console));
            Report(rows, parse.GetValue(json), console);
            return ExitCodes.Ok;
        });
        return command;
    }

    public sealed record Row(int Seed, string Variant, int Objects, double Pq, double PqThings, double PqThingsNoRobust,
        double Seconds, int Iterations, int Gaussians);

    private static IEnumerable<Row> RunScene(int seed, int views, int width, int height, int iterations, int liftIterations,
        bool lift, bool ablation, string root, CommandConsole console)
    {
        int objects = 8 + seed % 7; // 8..14
        var sceneDir = Path.Combine(root, $"scene-{seed}");
        var synthetic = SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Seed = seed, Objects = objects, Views = views, Width = width, Height = height, Corruption = CorruptionLevel.M2F });
        SyntheticSceneWriter.Write(sceneDir, synthetic);
        var scene = PanopticLiftingLayout.Read(sceneDir);

        var raw = Score(scene, v => SceneData.LoadMask(scene, v));
        yield return new Row(seed, "raw m2f masks", objects, raw.Pq, raw.Things, raw.ThingsNoRobust, 0, 0, 0);

        var trainOut = Path.Combine(root, $"scene-{seed}-train");
        var trained = Segment(scene, new TrainingOptions { Iterations = iterations, Seed = (ulong)seed }, trainOut, null, console, $"seed {seed} train");
        yield return trained with { Seed = seed, Variant = "train", Objects = objects };
        if (!lift && !ablation) yield break;

        var ply = Path.Combine(trainOut, "labels.ply");
        var liftOptions = new TrainingOptions { Mode = TrainingMode.Lift, Iterations = liftIterations, Seed = (ulong)seed };
        if (lift)
            yield return Segment(scene, liftOptions, Path.Combine(root, $"scene-{seed}-lift"), ply, console, $"seed {seed} lift") with { Seed = seed, Variant = "lift", Objects = objects };
        if (!ablation) yield break;
        var variants = new (string Name, TrainingOptions Options)[]
        {
            ("lift: contrastive only", liftOptions with { UseTriplet = false, UseSmooth3D = false }),
            ("lift: + L_3D", liftOptions with { UseTriplet = false }),
            ("lift: + L_3D + triplet with W", liftOptions),
            ("lift: + L_3D + triplet without W", liftOptions with { TripletLinearLayer = false }),
        };
        foreach (var (name, options) in variants)
            yield return Segment(scene, options, Path.Combine(root, $"scene-{seed}-{name.GetHashCode():x8}"), ply, console, $"seed {seed} {name}") with { Seed = seed, Variant = name, Objects = objects };
    }

    private static Row Segment(Scene scene, TrainingOptions options, string outDir, string? ply, CommandConsole console, string label)
    {
        var clock = Stopwatch.StartNew();
        int every = Math.Max(1, options.Iterations / 10);
        var result = SegmentationRunner.Run(scene, options, outDir, ply, r =>
        {
            if (r.Step % every == 0)
                console.ErrorWriter.WriteLine($"  [{label}] step {r.Step}/{r.Iterations} loss {r.TotalLoss:0.0000} (render {r.RenderLoss:0.0000}, cluster {r.ClusterLoss:0.0000}, triplet {r.TripletLoss:0.0000}, 3D {r.SmoothLoss:0.0000}) gaussians {r.Gaussians} {clock.Elapsed.TotalSeconds / r.Step * 1000:0} ms/it");
        });
        var s = Score(scene, v => ImageIO.ReadLabels(Path.Combine(outDir, "instance", SceneEvaluator.PredictionFileName(v))));
        return new Row(0, "", 0, s.Pq, s.Things, s.ThingsNoRobust, result.Seconds, result.Iterations, result.Gaussians);
    }

    private static (double Pq, double Things, double ThingsNoRobust) Score(Scene scene, Func<SceneView, LabelMap?> predict)
    {
        var robust = SceneEvaluator.Evaluate(scene, "test", new PanopticOptions(), predict).Result;
        var all = SceneEvaluator.Evaluate(scene, "test", new PanopticOptions { Robust = false }, predict).Result;
        return (robust.Pq, robust.PqThings, all.PqThings);
    }

    private static void Report(List<Row> rows, bool json, CommandConsole console)
    {
        if (json)
        {
            console.OutWriter.WriteLine(JsonSerializer.Serialize(new { rows }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            return;
        }
        var table = new Table().AddColumns("seed", "objects", "variant", "PQ^scene", "PQ things", "PQ things (no robust)", "time s", "iterations", "Gaussians");
        foreach (var r in rows)
            table.AddRow(r.Seed.ToString(), r.Objects.ToString(), r.Variant, $"{r.Pq:0.00}", $"{r.PqThings:0.00}", $"{r.PqThingsNoRobust:0.00}",
                $"{r.Seconds:0.0}", r.Iterations.ToString(), r.Gaussians.ToString());
        console.Out.Write(table);
        foreach (var g in rows.GroupBy(r => r.Variant))
            console.OutWriter.WriteLine($"{g.Key}: mean PQ_things={g.Average(r => r.PqThings):0.00} min PQ_things={g.Min(r => r.PqThings):0.00} mean time={g.Average(r => r.Seconds):0.0}s");
    }
}
