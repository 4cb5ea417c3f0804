namespace UniCLift.Compute.Segmentation;

using System.Text.Json;
using System.Text.Json.Nodes;
using UniCLift.Compute.IO;
using UniCLift.Compute.Metrics;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Training;
using static TorchSharp.torch;

/// <summary>
/// After training: Embedding-to-Label decoding of the trained embeddings (per Gaussian and per rendered pixel, codes
/// mapped to compact ids consistently across the scene), then the scene's outputs: instance/&lt;frame&gt;.png (16-bit,
/// 0 = background), labels.ply, overlays/, metrics.json; PQ^scene when the scene has ground truth.
/// The stages are separate so the cluster runs them where the data lives: <see cref="TrainedGaussians.RenderCodes"/>
/// and <see cref="WriteView"/> per view (view grains), the codebook from summed <see cref="CodeStatistics"/> and
/// <see cref="Summarize"/> per scene (the coordinator). <see cref="Finish"/> runs them all in this thread.
/// </summary>
public static class SceneSegmentation
{
    public const string LabelsFolder = "instance", OverlaysFolder = "overlays", LabelsPly = "labels.ply", MetricsFile = "metrics.json";

    /// <summary>What a run writes into its output directory (the report too): a folder holding one of them is a result.</summary>
    public static readonly string[] ResultEntries =
        [TrainedGaussians.FileName, TrainingSummary.FileName, LabelsPly, MetricsFile, LabelsFolder, OverlaysFolder, "report.html"];

    /// <summary>A run writes its outputs over what <paramref name="directory"/> holds: a new or empty folder, or an earlier
    /// result's. A folder of other files (a scene, someone's notes) is refused, naming one of them, before anything is
    /// trained or written there (its metrics.json or report.html would be overwritten).</summary>
    public static void CheckOutputFolder(string directory)
    {
        if (!Directory.Exists(directory)) return;
        var entries = Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).ToList();
        if (entries.Count == 0 || entries.Any(e => ResultEntries.Contains(e, StringComparer.Ordinal))) return;
        // Our own hidden files (a write check, a temporary file a killed write left) are not someone else's.
        var other = entries.FirstOrDefault(e => !(e!.StartsWith('.') && (e == IO.OutputFolder.ProbeName || e.EndsWith(".tmp", StringComparison.Ordinal))));
        if (other is null) return;
        throw new ArgumentException($"output directory {directory} holds other files ('{other}' among them) and no result of a run; name a new or empty folder, or an earlier result's.");
    }

    /// <summary>metrics.json marks a finished result: the decoding pass writes it last. A run into an earlier result's
    /// folder calls this when it starts replacing that result's files (a train or lift run before its new model.ply, a
    /// decoding again before its first label map), not before: a run that fails or stops earlier leaves the earlier
    /// result whole, and one that fails later leaves a folder that does not look finished.</summary>
    /// <remarks>
    /// The earlier result's label maps and overlays go too: a run over fewer views (or a scene that lost some) left
    /// the old run's maps of views it no longer has beside its own, and `export --list` named those views.</remarks>
    public static void ReplacingResult(string outputDirectory)
    {
        var metrics = Path.Combine(outputDirectory, MetricsFile);
        if (File.Exists(metrics)) File.Delete(metrics);
        foreach (var folder in new[] { LabelsFolder, OverlaysFolder })
        {
            var path = Path.Combine(outputDirectory, folder);
            if (Directory.Exists(path) && (File.GetAttributes(path) & FileAttributes.ReparsePoint) == 0) Directory.Delete(path, recursive: true);
        }
    }

    public static SceneSegmentationResult Finish(Scene scene, SceneTrainer trainer, string outputDirectory, double trainingSeconds,
        DecodeOptions? options = null, IReadOnlyList<TrainingStepReport>? lossCurve = null, CancellationToken cancellation = default)
    {
        options ??= new DecodeOptions();
        var model = TrainedGaussians.FromTrainer(trainer, cancellation);
        using var rasterizer = new GaussianRasterizer();
        // 0. Codes whose Gaussians lie apart in space split into one code per part, on the Gaussians and in every view.
        var baseCodes = model.GaussianCodes(options.GaussianCodes);
        var parts = model.SpatialParts(baseCodes, options.SpatialSplit);
        var gaussianCodes = parts.ExtendGaussians(baseCodes, model.Cloud.Means);
        // 1. Render every frame's embedding image and threshold it to codes; sum the scene's code statistics.
        var codes = new int[scene.Views.Count][];
        var statistics = new CodeStatistics();
        var stuff = StuffBackground.For(scene, options.StuffAsBackground);
        for (int i = 0; i < scene.Views.Count; i++)
        {
            var v = scene.Views[i];
            // From the trainer's own tensors, on its device (a GPU trainer decodes on the GPU); the host copy
            // (TrainedGaussians) renders the same codes, SH degree aside, which codes do not depend on.
            var view = RenderView(rasterizer, trainer.Model, trainer.Model.ShDegree, v.Camera, trainer.NearPlane, options.Blend, parts);
            codes[i] = view.Codes;
            statistics.AddView(codes[i], v.MaskPath is null ? null : StuffBackground.LoadMask(scene, v, stuff).Labels, v.Camera.Width, view.Points, view.Depth);
        }
        // 2. One codebook for the scene: the same code is the same instance in every view and on the Gaussians.
        var codebook = LabelCodebook.Build(statistics, gaussianCodes, options.Codebook);
        // 3. Outputs (over an earlier result's, which go first).
        ReplacingResult(outputDirectory);
        var overlays = OverlayViews(scene.Views.Count, options.Overlays);
        var predictions = new Dictionary<string, LabelMap>();
        for (int i = 0; i < scene.Views.Count; i++)
        {
            var v = scene.Views[i];
            predictions[v.Name] = WriteView(codebook, codes[i], v.Camera.Width, v.Camera.Height, LabelPath(outputDirectory, v), options.Cleanup,
                overlays.Contains(i) ? OverlayPath(outputDirectory, v) : null, () => SceneData.LoadImage(scene, v));
        }
        // The same files the cluster leaves: the trained model (a lift-mode input) and how it was trained.
        var training = TrainingSummary.Of(trainer, trainingSeconds, lossCurve);
        model.Write(Path.Combine(outputDirectory, TrainedGaussians.FileName));
        training.Write(Path.Combine(outputDirectory, TrainingSummary.FileName));
        return Summarize(scene, model, model.InstanceIds(codebook, gaussianCodes, options.Strays), codebook, outputDirectory, training,
            v => predictions.GetValueOrDefault(v.Name),
            decodeSettings: DecodeOptionOverrides.Differences(options, new DecodeOptions { StuffAsBackground = trainer.Options.StuffAsBackground }),
            gaussianCodes: options.GaussianCodes);
    }

    /// <summary>Which views (indices) get an overlay picture: <paramref name="count"/> spread evenly.</summary>
    public static IReadOnlySet<int> OverlayViews(int views, int count)
    {
        var result = new HashSet<int>();
        if (count <= 0 || views == 0) return result;
        int step = Math.Max(1, views / count);
        for (int i = 0; i < views && result.Count < count; i += step) result.Add(i);
        return result;
    }

    /// <summary>The input masks' folder a finished result in <paramref name="outputDirectory"/> was lifted from, as its
    /// metrics.json records it (<c>masks</c>: an absolute folder given with <c>--masks</c>); null when it records none
    /// (the layout's own masks) or has no readable metrics.json. Decoding a result again reads the same masks.</summary>
    public static string? RecordedMasks(string outputDirectory) => Recorded(outputDirectory, "masks");

    /// <summary>The factor a finished result in <paramref name="outputDirectory"/> was trained and decoded at
    /// (<see cref="Scene.Downscaled"/>), as its metrics.json records it (<c>downscale</c>); null when it records none (a
    /// result from before the factor: the files' size) or has no readable metrics.json. Decoding and scoring the result
    /// again use the same factor.</summary>
    public static int? RecordedDownscale(string outputDirectory) =>
        RecordedValue(outputDirectory, "downscale") is { } v && v.TryGetValue<int>(out var n) && n >= 1 ? n : null;

    /// <summary>metrics.json's <c>gaussian_codes</c> when the Gaussians were to be labelled by their view codes but
    /// model.ply has none (a model from before them, or from another tool): their own codes labelled them.</summary>
    public const string OwnCodesForLackOfViewCodes = "own: model.ply has no view_code";

    /// <summary>What labelled the Gaussians of <paramref name="model"/> decoded with <paramref name="codes"/>, as
    /// metrics.json records it: <c>views</c>, <c>own</c>, <c>own: wider than 24 bits</c> (an embedding whose codes
    /// the column cannot hold) or <see cref="OwnCodesForLackOfViewCodes"/>.</summary>
    public static string CodesLabelling(TrainedGaussians model, GaussianCodes codes) =>
        codes == GaussianCodes.Own ? "own"
        : !ViewCodes.Holds(model.Dimensions) ? $"own: wider than {ViewCodes.MaxDimensions} bits"
        : model.ViewCodes is null ? OwnCodesForLackOfViewCodes : "views";

    /// <summary>A text value of a finished result's metrics.json (<paramref name="key"/>, e.g. <c>background_from</c>);
    /// null when it has none, an empty one, or no readable metrics.json.</summary>
    public static string? Recorded(string outputDirectory, string key) => Recorded(RecordedMetrics(outputDirectory), key);

    /// <summary><see cref="Recorded(string, string)"/> of a metrics.json already read (<see cref="RecordedMetrics"/>).</summary>
    public static string? Recorded(JsonObject? metrics, string key) =>
        metrics?[key] is JsonValue v && v.TryGetValue<string>(out var text) && text.Length > 0 ? text : null;

    /// <summary>The value <paramref name="key"/> of a finished result's metrics.json; null when it has none or no
    /// readable metrics.json.</summary>
    private static JsonValue? RecordedValue(string outputDirectory, string key) => RecordedMetrics(outputDirectory)?[key] as JsonValue;

    /// <summary>A finished result's metrics.json; null when it has no readable one.</summary>
    public static JsonObject? RecordedMetrics(string outputDirectory)
    {
        try
        {
            return JsonNode.Parse(DataFile.ReadAllText(Path.Combine(outputDirectory, MetricsFile))) as JsonObject;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>What a result's PQ figure needs said beside it, from its metrics.json: why it has none (its
    /// <c>pq_missing</c>: "no ground truth", "no test views"), or that its test views also trained ("on 8 of 8 test views
    /// that also trained: not held out"); null when neither. A metrics.json from before these keys says what it can.</summary>
    public static string? PqNote(JsonObject? metrics)
    {
        if (metrics is null) return null;
        if (metrics["pq"] is not JsonObject pq)
            return metrics["pq_missing"] is JsonValue why && why.TryGetValue<string>(out var text) ? text : "no ground truth or no test views";
        // PQ is a mean over classes, none of which the test views hold (JSON has no NaN)
        if (pq["pq_scene"] is null) return "no class to score in the test views";
        return pq["trained_frames"] is JsonValue t && t.TryGetValue<int>(out var trained) && trained > 0
            && pq["frames"] is JsonValue f && f.TryGetValue<int>(out var frames)
            ? $"on {trained} of {frames} test views that also trained: not held out"
            : null;
    }

    public static string LabelPath(string outputDirectory, SceneView view) =>
        Path.Combine(outputDirectory, LabelsFolder, SceneEvaluator.PredictionFileName(view));

    public static string OverlayPath(string outputDirectory, SceneView view) => Path.Combine(outputDirectory, OverlaysFolder, view.Name + ".png");

    /// <summary>
    /// One view's outputs from its pixel codes: compact ids through the scene's codebook (tiny fragments cleaned),
    /// written as a 16-bit PNG at <paramref name="labelPath"/>, and a colourised overlay when
    /// <paramref name="overlayPath"/> is given (<paramref name="image"/> supplies the photo).
    /// </summary>
    public static LabelMap WriteView(LabelCodebook codebook, int[] codes, int width, int height, string labelPath, FragmentOptions? cleanup,
        string? overlayPath = null, Func<RgbImage>? image = null)
    {
        var map = new LabelMap(width, height, codebook.MapView(codes, width, height, cleanup));
        ImageIO.WriteLabels16(labelPath, map);
        if (overlayPath is not null && image is not null)
            ImageIO.WriteRgb(overlayPath, LabelColors.Overlay(image(), map, 0.55));
        return map;
    }

    /// <summary>
    /// The scene-level outputs once every view is written: labels.ply (the Gaussians with their instance id and
    /// embeddings), metrics.json, and PQ^scene over the test views when the scene has ground truth
    /// (<paramref name="prediction"/> gives a view's label map; null reads it back from its PNG).
    /// </summary>
    /// <param name="masks">The mask folder the scene was read with (JobOptions.Masks), recorded in metrics.json so that
    /// the report reads the same masks; null: the layout's own.</param>
    /// <param name="decodeSettings">The decode options that differ from what the training implies
    /// (<see cref="DecodeOptionOverrides.Differences"/>), recorded in metrics.json as <c>decode_settings</c>.</param>
    public static SceneSegmentationResult Summarize(Scene scene, TrainedGaussians model, int[] gaussianIds, LabelCodebook codebook,
        string outputDirectory, TrainingSummary training, Func<SceneView, LabelMap?>? prediction = null, string? masks = null,
        IReadOnlyList<string>? decodeSettings = null, GaussianCodes gaussianCodes = GaussianCodes.Views)
    {
        if (gaussianIds.Length != model.Count)
            throw new ArgumentException($"{gaussianIds.Length} Gaussian ids for {model.Count} Gaussians.", nameof(gaussianIds));
        Directory.CreateDirectory(outputDirectory);
        model.Write(Path.Combine(outputDirectory, LabelsPly), new Dictionary<string, float[]> { ["instance"] = gaussianIds.Select(i => (float)i).ToArray() });
        prediction ??= v => File.Exists(LabelPath(outputDirectory, v)) ? ImageIO.ReadLabels(LabelPath(outputDirectory, v)) : null;

        double? pq = null, pqThings = null;
        JsonNode? pqJson = null;
        if (scene.NoPqReason is null)
        {
            var eval = SceneEvaluator.Evaluate(scene, "test", new PanopticOptions(), prediction);
            // A mean over no class is NaN (PQ over things when the evaluation keeps no thing class: nothing predicted or
            // no object in the test views, say): null, as JSON has no NaN.
            static double? Finite(double v) => double.IsFinite(v) ? v : null;
            pq = Finite(eval.Result.Pq);
            pqThings = Finite(eval.Result.PqThings);
            pqJson = JsonSerializer.SerializeToNode(new { pq_scene = pq, pq_things = pqThings, sq = Finite(eval.Result.Sq), rq = Finite(eval.Result.Rq), frames = eval.Frames,
                // test frames that also trained (all of them when the layout names no splits): not held out
                trained_frames = scene.TestViewsTrained });
        }
        var metrics = new JsonObject
        {
            ["scene"] = scene.Root,
            ["masks"] = masks is null ? null : SceneInspector.MaskFolder(scene.Root, masks),
            // the views' size is the files' divided by this (--downscale); label maps and PQ are at that size
            ["downscale"] = scene.Downscale,
            ["mode"] = training.Mode,
            ["iterations"] = training.Iterations,
            ["seconds"] = Math.Round(training.Seconds, 2),
            ["settings"] = training.SettingsJson(),
            // what decoding was told beyond the defaults (--decode), as it takes them back
            ["decode_settings"] = new JsonArray((decodeSettings ?? []).Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
            ["gaussians"] = model.Count,
            ["gaussian_codes"] = CodesLabelling(model, gaussianCodes),
            ["instances"] = codebook.InstanceCount,
            ["background_code"] = codebook.BackgroundCode,
            // masks (their id 0), geometry (the masks give none: floor and walls found by where they lie), largest (the
            // largest code, nothing else to go by)
            ["background_from"] = codebook.BackgroundFrom == BackgroundSource.Unknown ? null : codebook.BackgroundFrom.ToString().ToLowerInvariant(),
            ["pq"] = pqJson,
            // why "pq" is null: no ground truth, or no test views
            ["pq_missing"] = scene.NoPqReason,
            ["loss_curve"] = training.LossCurve?.DeepClone(),
        };
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, MetricsFile), metrics.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return new SceneSegmentationResult(outputDirectory, codebook.InstanceCount, model.Count, training.Iterations, training.Seconds, pq, pqThings);
    }

    /// <summary>Per-pixel codes (row-major [H*W]) of the model's rendered embedding image for one camera.</summary>
    public static int[] RenderCodes(GaussianRasterizer rasterizer, GaussianModel model, int shDegree, Camera camera, float nearPlane,
        PixelBlend blend, SpatialParts? parts = null) => RenderView(rasterizer, model, shDegree, camera, nearPlane, blend, parts, points: false).Codes;

    /// <summary><see cref="RenderCodes"/> and, with <paramref name="points"/>, the world point each pixel shows.</summary>
    public static DecodedView RenderView(GaussianRasterizer rasterizer, GaussianModel model, int shDegree, Camera camera, float nearPlane,
        PixelBlend blend, SpatialParts? parts = null, bool points = true)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad(); // no graph to the live parameters
        return EmbeddingDecoder.RenderView(rasterizer, model.ToGaussianTensors(), shDegree, camera, nearPlane, blend, parts, points);
    }

    /// <summary>Loss curve in at most 100 points (means over equal windows), for metrics.json and the report.</summary>
    public static JsonArray LossCurveSummary(IReadOnlyList<TrainingStepReport> curve, int points = 100)
    {
        var result = new JsonArray();
        if (curve.Count == 0) return result;
        int window = Math.Max(1, (int)Math.Ceiling(curve.Count / (double)points));
        for (int start = 0; start < curve.Count; start += window)
        {
            var w = curve.Skip(start).Take(window).ToList();
            result.Add(new JsonObject
            {
                ["step"] = w[^1].Step,
                ["total"] = Math.Round(w.Average(s => s.TotalLoss), 6),
                ["render"] = Math.Round(w.Average(s => s.RenderLoss), 6),
                ["cluster"] = Math.Round(w.Average(s => s.ClusterLoss), 6),
                ["triplet"] = Math.Round(w.Average(s => s.TripletLoss), 6),
                ["smooth3d"] = Math.Round(w.Average(s => s.SmoothLoss), 6),
                ["gaussians"] = w[^1].Gaussians,
            });
        }
        return result;
    }

    public static GaussianCloud ToCloud(GaussianModel model, Dictionary<string, float[]>? extra = null) => new()
    {
        Count = model.Count,
        Means = model.Read(GaussianModel.Means),
        Normals = new float[model.Count * 3],
        ShDc = model.Read(GaussianModel.ShDc),
        ShRest = model.Read(GaussianModel.ShRest),
        ShDegree = model.ShDegree,
        Opacity = model.Read(GaussianModel.Opacity),
        LogScales = model.Read(GaussianModel.LogScales),
        Rotations = model.Read(GaussianModel.Rotations),
        Extra = extra ?? new Dictionary<string, float[]>(),
    };
}
