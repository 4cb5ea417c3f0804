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
        var height = new Option<int?>("--height") { Description = "Image height (default: 3/4 of the width)." }.InRange(8, 8192);
        // Defaults: what fits the time targets (train 10 min, lift 2 min per scene) on a 2-core CPU.
        var iterations = new Option<int>("--iterations") { Description = "Train-mode iterations.", DefaultValueFactory = _ => 2000 };
        var liftIterations = new Option<int>("--lift-iterations") { Description = "Lift-mode iterations.", DefaultValueFactory = _ => 500 };
        var ablation = new Option<bool>("--ablation") { Description = "Also run the loss ablation (lift mode)." };
        var noLift = new Option<bool>("--no-lift") { Description = "Skip lift mode." };
        var outDir = new Option<string>("--out") { Description = "Working directory for scenes and results.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "uniclift-bench-segment") };
        var json = new Option<bool>("--json") { Description = "Print one JSON object with every row." };
        var decodeOnly = new Option<bool>("--decode-only") { Description = "Skip training: re-decode the train-mode result already in --out (its labels.ply holds the embeddings) with the current decoding." };
        var decodeSet = new Option<string[]>("--decode")
        {
            Description = "Decode option Name=Value for every run and --decode-only (repeatable), e.g. --decode SurfaceSpread=0.2, --decode Blend=Probabilities, "
                + "--decode SpatialSplit=false. Known (DecodeOptionOverrides): " + string.Join(", ", DecodeOptionOverrides.Describe(new DecodeOptions())),
        };
        var diagnose = new Option<bool>("--diagnose") { Description = "Print, per scene, how the decoded codes of the train-mode result cover the ground-truth objects (to stderr: the table or --json on stdout stays as it is)." };
        var liftOnly = new Option<bool>("--lift-only") { Description = "Skip train mode: lift from the train-mode result already in --out (and run the ablation if asked)." };
        var set = new Option<string[]>("--set")
        {
            Description = "Training option Name=Value for every run (repeatable), e.g. --set ClusterPushWeight=2. Known: "
                + string.Join(", ", TrainingOptionOverrides.Describe(new TrainingOptions())),
        };
        var device = new Option<string>("--device")
        {
            Description = "cpu, cuda or cuda:N: where the scenes train (their whole state lives there; decoding renders there too).",
            DefaultValueFactory = _ => "cpu",
        };
        var profile = new Option<bool>("--profile")
        {
            Description = "Print the training step's time per phase (render, each loss, backward, Adam, density). With --device cuda every phase ends with a device synchronise, so the phases are device times and the run is slower.",
        };
        var profileHost = new Option<bool>("--profile-host")
        {
            Description = "As --profile, without the synchronises: with --device cuda the phases are the host's time to issue them (what a host-bound step spends; the wait at the rasteriser's pair-count read-back lands in render).",
        };
        var styles = new Option<string>("--styles")
        {
            Description = "Comma-separated generator styles, each run on every seed: " + string.Join("; ", SceneStyles.All.Select(s => $"{s.Name} ({s.Description})")) + ".",
            DefaultValueFactory = _ => "classic",
        };
        var objectCounts = new Option<string?>("--objects")
        {
            Description = $"Comma-separated object counts (1..{SyntheticSceneOptions.MaxObjects}), each run on every seed and style, e.g. 25,50,100; default 8 + seed % 7.",
        };
        var command = new Command("segment", "Benchmark segmentation quality (PQ^scene) and time on generated scenes (8-14 objects by default, m2f-corrupted masks; --styles and --objects widen it).");
        foreach (var o in new Option[] { seeds, styles, objectCounts, views, width, height, iterations, liftIterations, ablation, noLift, liftOnly, outDir, json, decodeOnly, diagnose, decodeSet, set, device, profile, profileHost }) command.Options.Add(o);
        // Asynchronous so that Ctrl-C / SIGTERM cancel ct: a training run stops at its next step, and the command exits 130 / 143.
        CommandAction.Set(command, (parse, console, ct) =>
        {
            var seedList = parse.GetValue(seeds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out var v) ? v : throw new ArgumentException($"--seeds: '{s}' is not an integer.")).ToList();
            // An empty list (--seeds "" or --styles ",") ran nothing and printed an empty table, exit 0.
            if (seedList.Count == 0) throw new ArgumentException($"--seeds '{parse.GetValue(seeds)}' names no seed; give comma-separated integers, e.g. 1,2,3.");
            var benchOut = BatchConsole.OutputFolder(parse.GetValue(outDir));
            var rows = new List<Row>();
            var settings = BatchConsole.Settings(parse, set) ?? [];
            // A bad setting or iteration count fails before any scene is made.
            var trainSettings = TrainingOptions.From(TrainingMode.Train, parse.GetValue(iterations), null, settings);
            trainSettings.Validate();
            var decodeSettings = BatchConsole.Settings(parse, decodeSet) ?? [];
            var decode = DecodeOptionOverrides.Apply(new DecodeOptions { StuffAsBackground = trainSettings.StuffAsBackground }, decodeSettings);
            if (!parse.GetValue(noLift) || parse.GetValue(ablation))
                TrainingOptions.From(TrainingMode.Lift, parse.GetValue(liftIterations), null, settings).Validate();
            var dev = Compute.Cuda.CudaRuntime.ParseDevice(parse.GetValue(device) ?? "cpu");
            if (dev.type == TorchSharp.DeviceType.CUDA) Compute.Cuda.CudaRuntime.EnsureAvailable(Compute.Cuda.CudaRuntime.Ordinal(dev));
            var run = new RunContext(console, dev, parse.GetValue(profile) || parse.GetValue(profileHost), ct)
                { SynchronisePhases = parse.GetValue(profile), DecodeSettings = decodeSettings };
            var styleList = parse.GetValue(styles)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            if (styleList.Count == 0) throw new ArgumentException($"--styles '{parse.GetValue(styles)}' names no style; expected some of {string.Join(", ", SceneStyles.Names)}.");
            foreach (var st in styleList)
            {
                // An unknown style, a size out of range or a scene without a test view (every TestEvery-th view is one:
                // --views 4 wrote its scene, then found nothing to score) fails before any scene is made.
                var probe = SceneStyles.Apply(st, new SyntheticSceneOptions { Views = parse.GetValue(views), Width = parse.GetValue(width), Height = parse.GetValue(height) ?? MakeSceneCommand.FourThirds(parse.GetValue(width)) }).Validate();
                if (probe.TestEvery == 0 || probe.Views < probe.TestEvery)
                    throw new ArgumentException($"--views {probe.Views}: every {probe.TestEvery}th view is a test view, so a bench scene needs at least {probe.TestEvery} views to be scored.");
            }
            var countList = parse.GetValue(objectCounts) is { } counts
                ? counts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(s => int.TryParse(s, out var v) && v >= 1 && v <= SyntheticSceneOptions.MaxObjects ? (int?)v
                        : throw new ArgumentException($"--objects: '{s}' is not a count in 1..{SyntheticSceneOptions.MaxObjects}.")).ToList()
                : [null];
            foreach (var style in styleList)
            foreach (var count in countList)
            foreach (var seed in seedList)
            foreach (var row in RunScene(new BenchScene(seed, style, count), parse.GetValue(views), parse.GetValue(width), parse.GetValue(height) ?? MakeSceneCommand.FourThirds(parse.GetValue(width)), parse.GetValue(iterations),
                    parse.GetValue(liftIterations), !parse.GetValue(noLift), parse.GetValue(ablation), benchOut, console,
                    parse.GetValue(decodeOnly), parse.GetValue(diagnose), decode, settings, parse.GetValue(liftOnly), run))
            {
                // Each row as soon as it is measured: a long run that fails later keeps what it has.
                rows.Add(row);
                console.ErrorWriter.WriteLine($"row: {row.Style} seed {row.Seed} objects {row.Objects} {row.Variant}: PQ^scene {row.Pq:0.00} things {row.PqThings:0.00} " +
                    $"(no robust {row.PqThingsNoRobust:0.00}) instances {row.Instances} TP/FP/FN {row.ThingsTp}/{row.ThingsFp}/{row.ThingsFn} {row.Seconds:0.0} s" +
                    (row.MaskAgreement is double a ? $" masks {a:0.00}" : ""));
            }
            Report(rows, parse.GetValue(json), console);
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    /// <summary>One generated benchmark scene: its seed, generator style and object count (null = 8 + seed % 7).</summary>
    public sealed record BenchScene(int Seed, string Style = "classic", int? ObjectCount = null)
    {
        public int Objects => ObjectCount ?? 8 + Seed % 7;
        /// <summary>Directory name prefix; the classic default keeps "scene-SEED" so earlier runs stay usable.</summary>
        public string Tag => Style == "classic" && ObjectCount is null ? $"scene-{Seed}" : $"scene-{Style}-{Objects}-{Seed}";
        public string Label => Style == "classic" && ObjectCount is null ? $"seed {Seed}" : $"{Style} {Objects} objects seed {Seed}";
    }

    public sealed record Row(int Seed, string Variant, int Objects, double Pq, double PqThings, double PqThingsNoRobust,
        double Seconds, int Iterations, int Gaussians)
    {
        public string Style { get; init; } = "classic";
        /// <summary>Predicted instances (distinct ids in the views' maps); thing-class TP / FP / FN of the robust PQ.</summary>
        public int Instances { get; init; }
        public int ThingsTp { get; init; }
        public int ThingsFp { get; init; }
        public int ThingsFn { get; init; }
        /// <summary>With --decode-only: the decoded training views' agreement with their input masks (MaskAgreement, 0-100).</summary>
        public double? MaskAgreement { get; init; }
    }

    private static IEnumerable<Row> RunScene(BenchScene bench, int views, int width, int height, int iterations, int liftIterations,
        bool lift, bool ablation, string root, CommandConsole console, bool decodeOnly = false, bool diagnose = false, DecodeOptions? decode = null,
        IReadOnlyList<string>? settings = null, bool liftOnly = false, RunContext? run = null)
    {
        run ??= new RunContext(console, TorchSharp.torch.CPU, false, default);
        int seed = bench.Seed, objects = bench.Objects;
        string tag = bench.Tag, label = bench.Label;
        var sceneDir = Path.Combine(root, tag);
        var trainOut = Path.Combine(root, $"{tag}-train");
        if (decodeOnly)
        {
            var existing = SceneInspector.Read(sceneDir); // any layout: a scene made elsewhere re-decodes too
            yield return Existing(sceneDir, existing, bench, Redecode(existing, Path.Combine(trainOut, "labels.ply"), Path.Combine(root, $"{tag}-redecode"), console, diagnose, decode)
                with { Seed = seed, Variant = "train (re-decoded)" });
            yield break;
        }
        var ply = Path.Combine(trainOut, "labels.ply");
        var liftOptions = TrainingOptions.From(TrainingMode.Lift, liftIterations, (ulong)seed, settings);
        if (liftOnly)
        {
            if (!File.Exists(ply)) throw new FileNotFoundException($"--lift-only: no train-mode result {ply}; run without --lift-only first.", ply);
            var existing = SceneInspector.Read(sceneDir); // any layout: a scene made elsewhere re-decodes too
            foreach (var row in LiftRows(existing, bench, root, ply, liftOptions, lift || !ablation, ablation, run)) yield return Existing(sceneDir, existing, bench, row);
            yield break;
        }
        var synthetic = SyntheticSceneGenerator.Generate(SceneStyles.Apply(bench.Style,
            new SyntheticSceneOptions { Seed = seed, Objects = objects, Views = views, Width = width, Height = height, Corruption = CorruptionLevel.M2F }));
        SyntheticSceneWriter.Write(sceneDir, synthetic);
        var scene = PanopticLiftingLayout.Read(sceneDir);

        var raw = Score(scene, v => SceneData.LoadMask(scene, v));
        yield return new Row(seed, $"raw {synthetic.Options.Corruption.ToString().ToLowerInvariant()} masks", objects, raw.Pq, raw.Things, raw.ThingsNoRobust, 0, 0, 0)
            { ThingsTp = raw.Tp, ThingsFp = raw.Fp, ThingsFn = raw.Fn, Style = bench.Style };

        var trainOptions = TrainingOptions.From(TrainingMode.Train, iterations, (ulong)seed, settings);
        var trained = Segment(scene, trainOptions, trainOut, null, $"{label} train", run);
        yield return trained with { Seed = seed, Variant = "train", Objects = objects, Style = bench.Style };
        if (diagnose) Redecode(scene, Path.Combine(trainOut, "labels.ply"), Path.Combine(root, $"{tag}-redecode"), console, true, decode);
        foreach (var row in LiftRows(scene, bench, root, ply, liftOptions, lift, ablation, run)) yield return row;
    }

    /// <summary>
    /// A row of a scene read from disk (--decode-only, --lift-only): one this generator made (its scene.json) keeps
    /// the style and object count asked for; one made elsewhere is named by its layout, with the objects its test
    /// views' ground truth holds (thing TP + FN), not the defaults of a generated scene of that seed.
    /// </summary>
    private static Row Existing(string sceneDir, Scene scene, BenchScene bench, Row row) =>
        File.Exists(Path.Combine(sceneDir, SyntheticSceneWriter.SceneFile))
            ? row with { Objects = bench.Objects, Style = bench.Style }
            : row with { Objects = row.ThingsTp + row.ThingsFn, Style = scene.Layout.ToString().ToLowerInvariant() };

    private static IEnumerable<Row> LiftRows(Scene scene, BenchScene bench, string root, string ply, TrainingOptions liftOptions,
        bool lift, bool ablation, RunContext? run)
    {
        if (lift)
            yield return Segment(scene, liftOptions, Path.Combine(root, $"{bench.Tag}-lift"), ply, $"{bench.Label} lift", run) with { Seed = bench.Seed, Variant = "lift", Objects = bench.Objects, Style = bench.Style };
        if (!ablation) yield break;
        var variants = new (string Name, TrainingOptions Options)[]
        {
            ("lift: contrastive only", liftOptions with { UseTriplet = false, UseSmooth3D = false }),
            ("lift: + L_3D", liftOptions with { UseTriplet = false }),
            ("lift: + L_3D + triplet with W", liftOptions),
            ("lift: + L_3D + triplet without W", liftOptions with { TripletLinearLayer = false }),
        };
        foreach (var (name, options) in variants)
            yield return Segment(scene, options, Path.Combine(root, $"{bench.Tag}-{name.GetHashCode():x8}"), ply, $"{bench.Label} {name}", run) with { Seed = bench.Seed, Variant = name, Objects = bench.Objects, Style = bench.Style };
    }

    /// <summary>What every run of one invocation shares: where to report, the device, --profile, the stop token.</summary>
    internal sealed record RunContext(CommandConsole Console, TorchSharp.torch.Device Device, bool ProfilePhases, CancellationToken Stop)
    {
        /// <summary>--profile (not --profile-host): CUDA phases end with a device synchronise.</summary>
        public bool SynchronisePhases { get; init; }
        /// <summary>--decode: every run decodes with these settings on top of what its training implies.</summary>
        public IReadOnlyList<string> DecodeSettings { get; init; } = [];
    }

    private static Row Segment(Scene scene, TrainingOptions options, string outDir, string? ply, string label, RunContext? run)
    {
        var console = run!.Console;
        var device = run.Device;
        var clock = Stopwatch.StartNew();
        int every = Math.Max(1, options.Iterations / 10);
        bool cuda = device.type == TorchSharp.DeviceType.CUDA;
        long peak = 0;
        var decode = DecodeOptionOverrides.Apply(new DecodeOptions { StuffAsBackground = options.StuffAsBackground }, run.DecodeSettings);
        var result = SegmentationRunner.Run(scene, options, outDir, ply, r =>
        {
            // The device's memory in use, sampled every 100 steps (cuMemGetInfo: no synchronisation).
            if (cuda && r.Step % 100 == 0) peak = Math.Max(peak, Compute.Cuda.CudaRuntime.Memory(Compute.Cuda.CudaRuntime.Ordinal(device)).Used);
            if (r.Step % every == 0)
                console.ErrorWriter.WriteLine($"  [{label}] step {r.Step}/{r.Iterations} loss {r.TotalLoss:0.0000} (render {r.RenderLoss:0.0000}, cluster {r.ClusterLoss:0.0000}, triplet {r.TripletLoss:0.0000}, 3D {r.SmoothLoss:0.0000}) gaussians {r.Gaussians} {clock.Elapsed.TotalSeconds / r.Step * 1000:0.0} ms/it");
        }, run.Stop, device, run.SynchronisePhases, decode);
        if (run.ProfilePhases && result.PhaseMilliseconds is { Count: > 0 } phases)
            console.ErrorWriter.WriteLine($"  [{label}] ms per iteration by phase{(device.type != TorchSharp.DeviceType.CUDA ? "" : run.SynchronisePhases ? " (device-synchronised)" : " (host time to issue, not synchronised)")}: " +
                string.Join(", ", phases.Select(kv => $"{kv.Key} {kv.Value / Math.Max(1, result.Iterations):F2}")));
        if (run.ProfilePhases && result.PhaseTensors is { Count: > 0 } tensors)
            console.ErrorWriter.WriteLine($"  [{label}] tensors created per iteration by phase (host calls into libtorch; in-place ones not counted): " +
                string.Join(", ", tensors.Select(kv => $"{kv.Key} {(double)kv.Value / Math.Max(1, result.Iterations):F1}")) +
                $"; total {(double)tensors.Values.Sum() / Math.Max(1, result.Iterations):F1}");
        if (cuda)
        {
            var (used, total) = Compute.Cuda.CudaRuntime.Memory(Compute.Cuda.CudaRuntime.Ordinal(device));
            console.ErrorWriter.WriteLine($"  [{label}] {device}: GPU memory in use at the end {used >> 20} MiB, at most {Math.Max(peak, used) >> 20} MiB (sampled every 100 steps), of {total >> 20} MiB (device-wide, torch's cache included); " +
                $"{result.Seconds:F1} s in all ({result.Seconds / Math.Max(1, result.Iterations) * 1000:F2} ms per iteration, decoding and outputs included)");
        }
        var s = Score(scene, v => ImageIO.ReadLabels(Path.Combine(outDir, "instance", SceneEvaluator.PredictionFileName(v))));
        return new Row(0, "", 0, s.Pq, s.Things, s.ThingsNoRobust, result.Seconds, result.Iterations, result.Gaussians)
            { Instances = InstancesInViews(scene, outDir), ThingsTp = s.Tp, ThingsFp = s.Fp, ThingsFn = s.Fn };
    }

    /// <summary>Distinct non-zero ids in the predicted maps of all views (the codebook also holds codes only Gaussians carry).</summary>
    private static int InstancesInViews(Scene scene, string outDir)
    {
        var ids = new HashSet<int>();
        foreach (var v in scene.Views)
            foreach (var id in ImageIO.ReadLabels(Path.Combine(outDir, "instance", SceneEvaluator.PredictionFileName(v))).Labels)
                if (id != 0) ids.Add(id);
        return ids.Count;
    }

    /// <summary>
    /// Decodes a finished run again from its labels.ply (geometry + emb_k columns) with the current decoding, so decoding
    /// changes can be measured without retraining. With <paramref name="diagnose"/>, prints how the codes cover the GT.
    /// </summary>
    private static Row Redecode(Scene scene, string ply, string outDir, CommandConsole console, bool diagnose, DecodeOptions? decode = null)
    {
        decode ??= new DecodeOptions(); // the diagnostics below read what the decoding used
        var clock = Stopwatch.StartNew();
        var cloud = GaussianPly.Read(ply);
        var emb = TrainedGaussians.ReadEmbeddings(cloud, out int d);
        if (d == 0) throw new InvalidDataException($"{ply} has no emb_k columns to decode.");
        using var trainer = SceneTrainer.Create(scene, new TrainingOptions { Mode = TrainingMode.Lift, Iterations = 1, EmbeddingDim = d }, ply);
        using (TorchSharp.torch.no_grad())
        using (var t = TorchSharp.torch.tensor(emb, new long[] { cloud.Count, d }))
            trainer.Model[GaussianModel.Embeddings].copy_(t);
        if (diagnose) Diagnose(scene, trainer, console, decode);
        var result = SceneSegmentation.Finish(scene, trainer, outDir, 0, decode);
        var s = Score(scene, v => ImageIO.ReadLabels(Path.Combine(outDir, "instance", SceneEvaluator.PredictionFileName(v))));
        if (diagnose)
        {
            foreach (var split in new[] { scene.TestViews, scene.TrainViews })
                DiagnoseObjects(scene, split, v => ImageIO.ReadLabels(Path.Combine(outDir, "instance", SceneEvaluator.PredictionFileName(v))), console);
            var stuff = StuffBackground.For(scene, decode.StuffAsBackground);
            DiagnoseBoundaries(scene, "raw masks (matched per view)", v => v.MaskPath is null ? null : StuffBackground.LoadMask(scene, v, stuff), true, console);
            DiagnoseBoundaries(scene, "decoded", v => ImageIO.ReadLabels(Path.Combine(outDir, "instance", SceneEvaluator.PredictionFileName(v))), false, console);
            DiagnoseMargins(scene, trainer, v => ImageIO.ReadLabels(Path.Combine(outDir, "instance", SceneEvaluator.PredictionFileName(v))), decode.Blend, console);
        }
        var agreement = new MaskAgreement();
        var stuffClasses = StuffBackground.For(scene, decode.StuffAsBackground);
        foreach (var name in scene.TrainViews)
        {
            var v = scene.View(name);
            if (v.MaskPath is null) continue;
            agreement.AddView(ImageIO.ReadLabels(Path.Combine(outDir, "instance", SceneEvaluator.PredictionFileName(v))).Labels,
                StuffBackground.LoadMask(scene, v, stuffClasses).Labels);
        }
        return new Row(0, "", 0, s.Pq, s.Things, s.ThingsNoRobust, clock.Elapsed.TotalSeconds, 0, result.Gaussians)
            { Instances = InstancesInViews(scene, outDir), ThingsTp = s.Tp, ThingsFp = s.Fp, ThingsFn = s.Fn,
              MaskAgreement = agreement.Views > 0 ? 100 * agreement.Score : null };
    }

    /// <summary>
    /// Test views: where the prediction is wrong by distance to the GT instance boundary (spill / shrink / wrong object)
    /// and the per-object IoU, ids matched over all test views (or within each view, for the raw masks).
    /// </summary>
    private static void DiagnoseBoundaries(Scene scene, string what, Func<SceneView, LabelMap?> predict, bool perView, CommandConsole console)
    {
        var profile = new BoundaryErrorProfile();
        int n = 0;
        foreach (var name in scene.TestViews)
        {
            var v = scene.View(name);
            if (v.GtInstancePath is null || predict(v) is not { } pred) continue;
            var gt = SceneData.LoadGtInstance(scene, v);
            if (pred.Width != gt.Width || pred.Height != gt.Height) continue;
            if (perView) profile.AddMatchedPerView(gt.Labels, pred.Labels, gt.Width, gt.Height);
            else profile.Add(gt.Labels, pred.Labels, gt.Width, gt.Height);
            n++;
        }
        foreach (var line in profile.Summarise().Lines())
            console.ErrorWriter.WriteLine($"  [boundaries {what}, {n} test views] {line}");
    }

    /// <summary>
    /// Test views: how ambiguous the rendered embedding is (min over channels of the thresholded blend's distance from
    /// the threshold) at spill and shrink pixels, against correct pixels beside a GT boundary and far from one.
    /// </summary>
    private static void DiagnoseMargins(Scene scene, SceneTrainer trainer, Func<SceneView, LabelMap> predict, PixelBlend blend, CommandConsole console)
    {
        var rasterizer = new UniCLift.Compute.Rendering.GaussianRasterizer();
        var groups = new Dictionary<string, List<float>> { ["spill"] = [], ["shrink"] = [], ["edge ok"] = [], ["far ok"] = [] };
        long spillPixels = 0, spillOwnCode = 0;
        foreach (var name in scene.TestViews)
        {
            var v = scene.View(name);
            if (v.GtInstancePath is null) continue;
            var gt = SceneData.LoadGtInstance(scene, v);
            var pred = predict(v).Labels;
            var dist = BoundaryErrorProfile.DistanceToBoundary(gt.Labels, gt.Width, gt.Height);
            float[] margin;
            int[] codes;
            using (TorchSharp.torch.NewDisposeScope())
            using (TorchSharp.torch.no_grad())
            {
                var features = EmbeddingDecoder.RenderEmbedding(rasterizer, trainer.Model.ToGaussianTensors(), trainer.ActiveShDegree, v.Camera, trainer.NearPlane, blend);
                margin = features.abs().min(2).values.reshape(-1).cpu().data<float>().ToArray();
                codes = EmbeddingDecoder.DecodePixels(features);
            }
            // The code most of each predicted label's pixels carry in this view: spill pixels with another code got
            // their label from the codebook's merges or the fragment cleanup, not from their own code.
            var main = pred.Select((l, i) => (l, codes[i])).GroupBy(t => t.l)
                .ToDictionary(gr => gr.Key, gr => gr.GroupBy(t => t.Item2).OrderByDescending(c => c.Count()).First().Key);
            for (int i = 0; i < pred.Length; i++)
                if (gt.Labels[i] == 0 && pred[i] != 0) { spillPixels++; if (codes[i] == main[pred[i]]) spillOwnCode++; }
            for (int i = 0; i < margin.Length; i++)
            {
                int g = gt.Labels[i], p = pred[i];
                string? key = g == 0 && p != 0 ? "spill" : g != 0 && p == 0 ? "shrink" : dist[i] <= 1 ? "edge ok" : dist[i] > 8 ? "far ok" : null;
                if (key is not null) groups[key].Add(margin[i]);
            }
        }
        static string Q(List<float> x)
        {
            if (x.Count == 0) return "none";
            x.Sort();
            return $"{x.Count} px: q10 {x[x.Count / 10]:0.00} q50 {x[x.Count / 2]:0.00} q90 {x[x.Count * 9 / 10]:0.00}, <0.5 {100.0 * x.Count(m => m < 0.5f) / x.Count:0}%";
        }
        console.ErrorWriter.WriteLine($"  [margins min over channels of |rendered {(blend == PixelBlend.Raw ? "v" : "sigmoid(v) - 1/2")}|, test views] " + string.Join("; ", groups.Select(kv => $"{kv.Key} {Q(kv.Value)}"))
            + $"; spill pixels carrying their label's main code {100.0 * spillOwnCode / Math.Max(1, spillPixels):0}%");
    }

    /// <summary>Per GT object on the test views (native size): the predicted id overlapping it most and their IoU.</summary>
    private static void DiagnoseObjects(Scene scene, IReadOnlyList<string> views, Func<SceneView, LabelMap> predict, CommandConsole console)
    {
        var overlap = new Dictionary<(int Gt, int Pred), long>();
        var gtArea = new Dictionary<int, long>();
        var predArea = new Dictionary<int, long>();
        foreach (var name in views)
        {
            var v = scene.View(name);
            var gt = SceneData.LoadGtInstance(scene, v).Labels;
            var pred = predict(v).Labels;
            for (int i = 0; i < gt.Length; i++)
            {
                overlap[(gt[i], pred[i])] = overlap.GetValueOrDefault((gt[i], pred[i])) + 1;
                gtArea[gt[i]] = gtArea.GetValueOrDefault(gt[i]) + 1;
                predArea[pred[i]] = predArea.GetValueOrDefault(pred[i]) + 1;
            }
        }
        var parts = new List<string>();
        foreach (var (g, area) in gtArea.OrderBy(kv => kv.Key))
        {
            var best = overlap.Where(kv => kv.Key.Gt == g).OrderByDescending(kv => kv.Value).First();
            double iou = best.Value / (double)(area + predArea[best.Key.Pred] - best.Value);
            parts.Add($"gt{g}->{best.Key.Pred} IoU {iou:0.00} ({area} px)");
        }
        console.ErrorWriter.WriteLine($"  [diagnose {views.Count} views] {string.Join("; ", parts)}; predicted ids on test views: {predArea.Count}");
    }

    /// <summary>
    /// How the raw decoded codes (all views) cover the ground-truth objects: per code with at least 0.05% of the pixels,
    /// its share, its majority GT object and purity; per GT object, the codes holding at least 5% of it.
    /// </summary>
    private static void Diagnose(Scene scene, SceneTrainer trainer, CommandConsole console, DecodeOptions decode)
    {
        var rasterizer = new UniCLift.Compute.Rendering.GaussianRasterizer();
        var overlap = new Dictionary<(int Code, int Gt), long>();
        var codeArea = new Dictionary<int, long>();
        var gtArea = new Dictionary<int, long>();
        var statistics = new CodeStatistics();
        var stuff = StuffBackground.For(scene, decode.StuffAsBackground);
        long pixels = 0;
        var model = TrainedGaussians.FromTrainer(trainer);
        var split = model.SpatialParts(model.GaussianCodes(decode.GaussianCodes), decode.SpatialSplit);
        console.ErrorWriter.WriteLine($"  [diagnose] spatial split (cells of {split.CellSize:0.###}): " +
            (split.IsEmpty ? "no code split" : string.Join(", ", split.SplitCodes.OrderBy(kv => kv.Key).Select(kv => $"code {kv.Key} in {kv.Value} parts"))));
        // How well the geometry renders views it was not trained on (a test view far below the training views' PSNR
        // is floaters or overfitting: a decoding rule cannot help there).
        var psnr = new[] { new List<double>(), new List<double>() }; // train, test
        var objectError = new (double Se, long N)[2]; // over the ground-truth objects' pixels
        var testViews = scene.TestViews.ToHashSet();
        foreach (var v in scene.Views)
        {
            if (v.GtInstancePath is null) continue;
            var view = SceneSegmentation.RenderView(rasterizer, trainer.Model, trainer.ActiveShDegree, v.Camera, trainer.NearPlane, decode.Blend, split);
            var codes = view.Codes;
            var gt = SceneData.LoadGtInstance(scene, v).Labels;
            statistics.AddView(codes, v.MaskPath is null ? null : StuffBackground.LoadMask(scene, v, stuff).Labels, v.Camera.Width, view.Points, view.Depth);
            pixels += codes.Length;
            for (int i = 0; i < codes.Length; i++)
            {
                overlap[(codes[i], gt[i])] = overlap.GetValueOrDefault((codes[i], gt[i])) + 1;
                codeArea[codes[i]] = codeArea.GetValueOrDefault(codes[i]) + 1;
                gtArea[gt[i]] = gtArea.GetValueOrDefault(gt[i]) + 1;
            }

            float[] rgb;
            using (TorchSharp.torch.no_grad())
            using (TorchSharp.torch.NewDisposeScope())
                rgb = rasterizer.Render(trainer.Model.ToGaussianTensors(), v.Camera,
                    new UniCLift.Compute.Rendering.RasterSettings(trainer.ActiveShDegree, NearPlane: trainer.NearPlane)).Rgb.clamp(0, 1).cpu().contiguous().reshape(-1).data<float>().ToArray();
            var image = SceneData.LoadImage(scene, v).Pixels;
            int which = testViews.Contains(v.Name) ? 1 : 0;
            double se = 0;
            for (int i = 0; i < rgb.Length; i++)
            {
                double d = rgb[i] - image[i] / 255.0;
                se += d * d;
                if (gt[i / 3] > 0) objectError[which] = (objectError[which].Se + d * d, objectError[which].N + 1);
            }
            psnr[which].Add(10 * Math.Log10(rgb.Length / Math.Max(se, 1e-12)));
        }
        var w = console.ErrorWriter;
        static double Psnr((double Se, long N) e) => e.N == 0 ? double.NaN : 10 * Math.Log10(e.N / Math.Max(e.Se, 1e-12));
        w.WriteLine($"  [diagnose] RGB PSNR: training views {(psnr[0].Count > 0 ? psnr[0].Average() : double.NaN):0.00} dB, test views {(psnr[1].Count > 0 ? psnr[1].Average() : double.NaN):0.00} dB" +
            (psnr[1].Count > 0 ? $" (worst {psnr[1].Min():0.00})" : "") + $"; on the objects' pixels {Psnr(objectError[0]):0.00} / {Psnr(objectError[1]):0.00} dB");
        int above01 = codeArea.Count(kv => kv.Value >= 0.001 * pixels);
        w.WriteLine($"  [diagnose] {codeArea.Count} distinct codes, {above01} with >= 0.1% of {pixels} px; {gtArea.Count} GT ids (incl. 0)");
        var book = LabelCodebook.Build(statistics, null, decode.Codebook);
        double sceneSpread = statistics.SceneSurface.Spread().First; // codes' and instances' spreads are shown against it
        foreach (var (code, area) in codeArea.Where(kv => kv.Value >= 0.0005 * pixels || book.Codes.Contains(kv.Key)).OrderByDescending(kv => kv.Value))
        {
            var best = overlap.Where(kv => kv.Key.Code == code).OrderByDescending(kv => kv.Value).First();
            int merged = Array.IndexOf(book.MergedCodes, code);
            string fate = code == book.BackgroundCode ? "background" : book.Codes.Contains(code) ? "kept"
                : merged >= 0 ? (book.MergedIds[merged] == 0 ? "joined the background" : $"joined {book.Codes[book.MergedIds[merged] - 1]}") : "dropped";
            int bits = book.BackgroundCode is int bg ? SpatialParts.Distance(code, bg) : 0;
            var spread = statistics.Surface.GetValueOrDefault(code).Spread();
            w.WriteLine($"    code {code,5} ({Convert.ToString(SpatialParts.BaseCode(code), 2).PadLeft(trainer.Model.EmbeddingDim, '0')}{(SpatialParts.Part(code) > 0 ? $" part {SpatialParts.Part(code)}" : "")}) {100.0 * area / pixels,6:0.000}% interior {100.0 * statistics.Interior.GetValueOrDefault(code) / area,5:0.0}% " +
                $"mask background {100.0 * statistics.BackgroundVotes.GetValueOrDefault(code) / area,5:0.0}% {bits,2} bits from it -> gt {best.Key.Gt,3} purity {100.0 * best.Value / area,5:0.0}% covers {100.0 * best.Value / gtArea[best.Key.Gt],5:0.0}% of it; " +
                $"spread {spread.First / sceneSpread:0.00} {spread.Second / sceneSpread:0.00} {spread.Third / sceneSpread:0.00} of the scene's; {fate}");
        }
        w.WriteLine($"  [diagnose] codebook: background {book.BackgroundCode}, kept {string.Join(" ", book.Codes)}; merged {string.Join(" ", book.MergedCodes.Select((c, k) => $"{c}->{(book.MergedIds[k] == 0 ? book.BackgroundCode : book.Codes[book.MergedIds[k] - 1])}"))}");
        var occlusion = book.InstanceOcclusion(statistics);
        var border = book.InstanceBorder(statistics);
        foreach (var (id, m) in book.InstanceSurfaces(statistics).OrderBy(kv => kv.Key))
        {
            var sp = m.Spread();
            var (front, behind) = occlusion.GetValueOrDefault(id);
            var (seen, touching) = border.GetValueOrDefault(id);
            w.WriteLine($"    instance {id,3} ({(id == 0 ? book.BackgroundCode : book.Codes[id - 1])}): {100.0 * m.N / pixels:0.000}% placed, spread {sp.First / sceneSpread:0.00} {sp.Second / sceneSpread:0.00} {sp.Third / sceneSpread:0.00} of the scene's ({sceneSpread:0.00}); " +
                $"in front on {(front + behind > 0 ? 100.0 * front / (front + behind) : double.NaN):0}% of {front + behind} depth edges; " +
                $"reaches the border in {touching} of {seen} views");
        }
        foreach (var c in book.Codes.Concat(book.MergedCodes).Where(c => statistics.Area[c] >= 0.001 * pixels))
        {
            var into = statistics.Absorbed.Where(kv => kv.Key.Code == c).OrderByDescending(kv => kv.Value).Take(3).Select(kv => $"{kv.Key.Into}:{100.0 * kv.Value / statistics.Area[c]:0}%");
            w.WriteLine($"    code {c}: absorbed {100.0 * statistics.Absorbed.Where(kv => kv.Key.Code == c).Sum(kv => kv.Value) / statistics.Area[c]:0}% ({string.Join(" ", into)})");
        }
        // GT objects whose largest code is the same: are they ever visible together (GT, >= 20 px each) in one view?
        var dominant = gtArea.Keys.Where(g => g != 0).ToDictionary(g => g, g => overlap.Where(kv => kv.Key.Gt == g).OrderByDescending(kv => kv.Value).First().Key.Code);
        var visible = new List<HashSet<int>>();
        foreach (var v in scene.Views)
        {
            if (v.GtInstancePath is null) continue;
            var count = new Dictionary<int, int>();
            foreach (var l in SceneData.LoadGtInstance(scene, v).Labels) count[l] = count.GetValueOrDefault(l) + 1;
            visible.Add(count.Where(kv => kv.Value >= 20).Select(kv => kv.Key).ToHashSet());
        }
        foreach (var group in dominant.GroupBy(kv => kv.Value).Where(g => g.Count() > 1))
        {
            var members = group.Select(kv => kv.Key).Order().ToArray();
            var pairs = new List<string>();
            for (int a = 0; a < members.Length; a++)
                for (int b = a + 1; b < members.Length; b++)
                    pairs.Add($"gt{members[a]}+gt{members[b]} together in {visible.Count(s => s.Contains(members[a]) && s.Contains(members[b]))} views");
            w.WriteLine($"  [diagnose] code {group.Key} is the largest code of {members.Length} GT objects: {string.Join(", ", pairs)}; background code {book.BackgroundCode}");
        }
        foreach (var (g, area) in gtArea.OrderBy(kv => kv.Key))
        {
            var parts = overlap.Where(kv => kv.Key.Gt == g && kv.Value >= 0.05 * area).OrderByDescending(kv => kv.Value)
                .Select(kv => $"{kv.Key.Code}:{100.0 * kv.Value / area:0}%");
            w.WriteLine($"    gt {g,3} {100.0 * area / pixels,6:0.00}%: {string.Join(" ", parts)}");
        }
    }

    private static (double Pq, double Things, double ThingsNoRobust, int Tp, int Fp, int Fn) Score(Scene scene, Func<SceneView, LabelMap?> predict)
    {
        var robust = SceneEvaluator.Evaluate(scene, "test", new PanopticOptions(), predict).Result;
        var all = SceneEvaluator.Evaluate(scene, "test", new PanopticOptions { Robust = false }, predict).Result;
        var things = robust.Classes.Where(c => c.IsThing).ToList();
        return (robust.Pq, robust.PqThings, all.PqThings, things.Sum(c => c.TruePositives), things.Sum(c => c.FalsePositives), things.Sum(c => c.FalseNegatives));
    }

    private static void Report(List<Row> rows, bool json, CommandConsole console)
    {
        if (json)
        {
            console.OutWriter.WriteLine(JsonSerializer.Serialize(new { rows }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            return;
        }
        var table = new Table().AddColumns("style", "seed", "objects", "variant", "PQ^scene", "PQ things", "PQ things (no robust)", "instances", "TP/FP/FN things", "time s", "iterations", "Gaussians");
        foreach (var r in rows)
            table.AddRow(r.Style, r.Seed.ToString(), r.Objects.ToString(), r.Variant, $"{r.Pq:0.00}", $"{r.PqThings:0.00}", $"{r.PqThingsNoRobust:0.00}",
                r.Instances.ToString(), $"{r.ThingsTp}/{r.ThingsFp}/{r.ThingsFn}", $"{r.Seconds:0.0}", r.Iterations.ToString(), r.Gaussians.ToString());
        console.Out.Write(table);
        foreach (var g in rows.GroupBy(r => (r.Style, r.Objects > 14 ? r.Objects : 0, r.Variant)))
            console.OutWriter.WriteLine($"{g.Key.Style}{(g.Key.Item2 > 0 ? $" {g.Key.Item2} objects" : "")} {g.Key.Variant}: mean PQ_things={g.Average(r => r.PqThings):0.00} min PQ_things={g.Min(r => r.PqThings):0.00} mean time={g.Average(r => r.Seconds):0.0}s");
    }
}
