namespace UniCLift.Compute.Segmentation;

using System.Text.Json;
using System.Text.Json.Nodes;
using UniCLift.Compute.IO;
using UniCLift.Compute.Metrics;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Training;
using static TorchSharp.torch;

/// <summary>Result of segmenting one scene.</summary>
public sealed record SceneSegmentationResult(
    string OutputDirectory,
    int Instances,
    int Gaussians,
    int Iterations,
    double Seconds,
    double? PqScene,
    double? PqThings);

/// <summary>Options of the decoding stage (Embedding-to-Label).</summary>
public sealed record DecodeOptions
{
    public CodebookOptions Codebook { get; init; } = CodebookOptions.Default;
    /// <summary>Tiny fragments per view are relabelled to a neighbour; null = no cleanup.</summary>
    public FragmentOptions? Cleanup { get; init; } = FragmentOptions.Default;
    /// <summary>How many views get a colourised overlay picture.</summary>
    public int Overlays { get; init; } = 6;
}

/// <summary>
/// After training: Embedding-to-Label decoding of the trained embeddings (per Gaussian and per rendered pixel, codes
/// mapped to compact ids consistently across the scene), then the scene's outputs: instance/&lt;frame&gt;.png (16-bit,
/// 0 = background), labels.ply, overlays/, metrics.json; PQ^scene when the scene has ground truth.
/// </summary>
public static class SceneSegmentation
{
    public static SceneSegmentationResult Finish(Scene scene, SceneTrainer trainer, string outputDirectory, double trainingSeconds,
        DecodeOptions? options = null, IReadOnlyList<TrainingStepReport>? lossCurve = null)
    {
        options ??= new DecodeOptions();
        var model = trainer.Model;
        var rasterizer = new GaussianRasterizer();
        // 1. Render every frame's feature image and threshold it to codes.
        var codes = new int[scene.Views.Count][];
        for (int i = 0; i < scene.Views.Count; i++)
            codes[i] = RenderCodes(rasterizer, model, trainer.ActiveShDegree, scene.Views[i].Camera);
        // 2. One codebook for the scene: the same code is the same instance in every view.
        var masks = new List<int[]>();
        var maskedCodes = new List<int[]>();
        for (int i = 0; i < scene.Views.Count; i++)
        {
            var v = scene.Views[i];
            if (v.MaskPath is null) continue;
            masks.Add(SceneData.LoadMask(scene, v).Labels);
            maskedCodes.Add(codes[i]);
        }
        int[] gaussianCodes;
        using (NewDisposeScope())
            gaussianCodes = EmbeddingDecoder.DecodeGaussians(model[GaussianModel.Embeddings].detach());
        var codebook = LabelCodebook.Build(maskedCodes.Count > 0 ? maskedCodes : codes, maskedCodes.Count > 0 ? masks : null, gaussianCodes, options.Codebook);

        // 3. Outputs.
        Directory.CreateDirectory(outputDirectory);
        var predictions = new Dictionary<string, LabelMap>();
        for (int i = 0; i < scene.Views.Count; i++)
        {
            var v = scene.Views[i];
            var ids = codebook.MapView(codes[i], v.Camera.Width, v.Camera.Height, options.Cleanup);
            var map = new LabelMap(v.Camera.Width, v.Camera.Height, ids);
            predictions[v.Name] = map;
            ImageIO.WriteLabels16(Path.Combine(outputDirectory, "instance", SceneEvaluator.PredictionFileName(v)), map);
        }
        WriteOverlays(scene, predictions, Path.Combine(outputDirectory, "overlays"), options.Overlays);
        WriteLabelsPly(model, codebook.MapGaussians(gaussianCodes), Path.Combine(outputDirectory, "labels.ply"));

        double? pq = null, pqThings = null;
        JsonNode? pqJson = null;
        if (scene.HasGroundTruth && scene.TestViews.Count > 0)
        {
            var eval = SceneEvaluator.Evaluate(scene, "test", new PanopticOptions(), v => predictions.GetValueOrDefault(v.Name));
            pq = eval.Result.Pq;
            pqThings = eval.Result.PqThings;
            pqJson = JsonSerializer.SerializeToNode(new { pq_scene = eval.Result.Pq, pq_things = eval.Result.PqThings, sq = eval.Result.Sq, rq = eval.Result.Rq, frames = eval.Frames });
        }
        var metrics = new JsonObject
        {
            ["scene"] = scene.Root,
            ["mode"] = trainer.Options.Mode.ToString().ToLowerInvariant(),
            ["iterations"] = trainer.CurrentStep,
            ["seconds"] = Math.Round(trainingSeconds, 2),
            ["gaussians"] = model.Count,
            ["instances"] = codebook.InstanceCount,
            ["background_code"] = codebook.BackgroundCode,
            ["pq"] = pqJson,
            ["loss_curve"] = lossCurve is null ? null : LossCurveSummary(lossCurve),
        };
        AtomicFile.WriteAllText(Path.Combine(outputDirectory, "metrics.json"), metrics.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return new SceneSegmentationResult(outputDirectory, codebook.InstanceCount, model.Count, trainer.CurrentStep, trainingSeconds, pq, pqThings);
    }

    /// <summary>Per-pixel codes (row-major [H*W]) of the model's rendered embedding image for one camera.</summary>
    public static int[] RenderCodes(GaussianRasterizer rasterizer, GaussianModel model, int shDegree, Camera camera)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var g = new GaussianTensors(model[GaussianModel.Means].detach(), model[GaussianModel.LogScales].detach(), model[GaussianModel.Rotations].detach(),
            model[GaussianModel.Opacity].detach(), model.Sh().detach(), model[GaussianModel.Embeddings].detach());
        var r = rasterizer.Render(g, camera, new RasterSettings(shDegree));
        return EmbeddingDecoder.DecodePixels(r.Features!);
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

    /// <summary>The trained Gaussians as a graphdeco PLY with an `instance` property and the embeddings (emb_0..).</summary>
    public static void WriteLabelsPly(GaussianModel model, int[] instances, string path)
    {
        var extra = new Dictionary<string, float[]> { ["instance"] = instances.Select(i => (float)i).ToArray() };
        var emb = model.Read(GaussianModel.Embeddings);
        int n = model.Count, d = model.EmbeddingDim;
        for (int k = 0; k < d; k++)
        {
            var column = new float[n];
            for (int i = 0; i < n; i++) column[i] = emb[i * d + k];
            extra[$"emb_{k}"] = column;
        }
        GaussianPly.Write(path, ToCloud(model, extra));
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

    private static void WriteOverlays(Scene scene, Dictionary<string, LabelMap> predictions, string dir, int count)
    {
        if (count <= 0) return;
        int step = Math.Max(1, scene.Views.Count / count);
        for (int i = 0; i < scene.Views.Count && i / step < count; i += step)
        {
            var v = scene.Views[i];
            var image = SceneData.LoadImage(scene, v);
            ImageIO.WriteRgb(Path.Combine(dir, v.Name + ".png"), LabelColors.Overlay(image, predictions[v.Name], 0.55));
        }
    }
}

/// <summary>Distinct, stable colours for instance ids (golden-ratio hue walk); 0 (background) stays dark.</summary>
public static class LabelColors
{
    public static (byte R, byte G, byte B) Color(int id)
    {
        if (id <= 0) return (0, 0, 0);
        double h = (id * 0.61803398875) % 1.0, s = 0.65 + 0.35 * ((id * 7) % 3) / 2.0, v = 0.95;
        int hi = (int)(h * 6) % 6;
        double f = h * 6 - Math.Floor(h * 6), p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
        var (r, g, b) = hi switch { 0 => (v, t, p), 1 => (q, v, p), 2 => (p, v, t), 3 => (p, q, v), 4 => (t, p, v), _ => (v, p, q) };
        return ((byte)(r * 255), (byte)(g * 255), (byte)(b * 255));
    }

    public static RgbImage Colorize(LabelMap labels)
    {
        var img = new RgbImage(labels.Width, labels.Height);
        for (int i = 0; i < labels.Labels.Length; i++)
        {
            var (r, g, b) = Color(labels.Labels[i]);
            img.Pixels[i * 3] = r; img.Pixels[i * 3 + 1] = g; img.Pixels[i * 3 + 2] = b;
        }
        return img;
    }

    /// <summary>The image with instance colours blended in at <paramref name="alpha"/>; background left as is.</summary>
    public static RgbImage Overlay(RgbImage image, LabelMap labels, double alpha)
    {
        var img = new RgbImage(image.Width, image.Height, (byte[])image.Pixels.Clone());
        for (int i = 0; i < labels.Labels.Length; i++)
        {
            if (labels.Labels[i] <= 0) continue;
            var (r, g, b) = Color(labels.Labels[i]);
            img.Pixels[i * 3] = (byte)(image.Pixels[i * 3] * (1 - alpha) + r * alpha);
            img.Pixels[i * 3 + 1] = (byte)(image.Pixels[i * 3 + 1] * (1 - alpha) + g * alpha);
            img.Pixels[i * 3 + 2] = (byte)(image.Pixels[i * 3 + 2] * (1 - alpha) + b * alpha);
        }
        return img;
    }
}
