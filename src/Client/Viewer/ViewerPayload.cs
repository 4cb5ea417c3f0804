namespace UniCLift.Client.Viewer;

using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using UniCLift.Compute.Export;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;

/// <summary>
/// What the browser viewer (Viewer/web/viewer.js) loads for one result folder: <see cref="MetaJson"/> (instance list,
/// training cameras, counts, a note) and <see cref="Payload"/>: Shown x 32-byte .splat rows (position float32 x3,
/// linear scale float32 x3, RGBA bytes with alpha = sigmoid(opacity), rotation bytes w,x,y,z as q*128+128; the format
/// gaussian-splats-3d and most web splat viewers read), then Shown x int32 instance ids. Little-endian.
/// </summary>
public sealed record ViewerPayload(string ResultDirectory, string Source, int Total, int Shown, IReadOnlyList<InstanceSummary> Instances,
    int Cameras, string? Note, string MetaJson, byte[] Payload)
{
    public const int RowBytes = 32;
    /// <summary>report.html inlines at most this many Gaussians (evenly subsampled), so the page stays under ~10 MB.</summary>
    public const int ReportMaxGaussians = 200_000;
    private const double ShC0 = 0.28209479177387814;

    /// <summary>
    /// Reads RESULT/labels.ply (or, when a folder holds only the trained model, RESULT/model.ply with every Gaussian in
    /// instance 0), the instance list exactly as `export --list` gives it, and the scene's training cameras (the scene
    /// that metrics.json names). At most <paramref name="maxGaussians"/> Gaussians go into the payload, evenly spaced.
    /// </summary>
    public static ViewerPayload Build(string resultDirectory, int maxGaussians = int.MaxValue)
    {
        if (maxGaussians < 1) throw new ArgumentOutOfRangeException(nameof(maxGaussians), maxGaussians, "at least one Gaussian");
        var dir = Path.GetFullPath(resultDirectory);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Result folder not found: {dir}");
        var labels = Path.Combine(dir, SceneSegmentation.LabelsPly);
        var model = Path.Combine(dir, TrainedGaussians.FileName);
        var notes = new List<string>();
        GaussianCloud cloud;
        int[] ids;
        IReadOnlyList<InstanceSummary> instances;
        string source;
        if (File.Exists(labels))
        {
            source = labels;
            cloud = GaussianPly.Read(labels);
            ids = ResultExport.Instances(cloud, labels);
            instances = ResultExport.ListInstances(dir, topViews: 0);
        }
        else if (File.Exists(model))
        {
            source = model;
            cloud = GaussianPly.Read(model);
            ids = new int[cloud.Count];
            instances = [new InstanceSummary(0, cloud.Count, [], [], [])];
            notes.Add($"no {SceneSegmentation.LabelsPly} in this folder (not decoded yet): showing {TrainedGaussians.FileName} without instances");
        }
        else throw new FileNotFoundException($"{labels}: not found (nor {TrainedGaussians.FileName}): `uniclift view` needs a segmentation result folder.", labels);

        int n = cloud.Count, shown = Math.Min(n, maxGaussians);
        if (shown < n) notes.Add($"showing {shown:N0} of {n:N0} Gaussians (evenly subsampled to keep the page small)");
        var payload = new byte[shown * (RowBytes + 4)];
        for (int j = 0; j < shown; j++)
        {
            int i = shown == n ? j : (int)((long)j * n / shown);
            WriteRow(cloud, i, payload.AsSpan(j * RowBytes, RowBytes));
            BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(shown * RowBytes + j * 4, 4), ids[i]);
        }

        var (cameras, cameraNote) = TrainingCameras(dir);
        if (cameraNote is not null) notes.Add(cameraNote);
        string? note = notes.Count == 0 ? null : string.Join("; ", notes) + ".";
        var meta = new JsonObject
        {
            ["result"] = dir,
            ["source"] = Path.GetFileName(source),
            ["total"] = n,
            ["shown"] = shown,
            ["note"] = note,
            ["instances"] = new JsonArray(instances.Select(s => (JsonNode)new JsonObject { ["id"] = s.Id, ["gaussians"] = s.Gaussians }).ToArray()),
            ["cameras"] = cameras,
        };
        // The default encoder escapes <, > and &: the JSON can sit inside a <script> element as it is.
        return new ViewerPayload(dir, source, n, shown, instances, cameras.Count, note, meta.ToJsonString(), payload);
    }

    /// <summary>One .splat row of Gaussian <paramref name="i"/>.</summary>
    internal static void WriteRow(GaussianCloud g, int i, Span<byte> row)
    {
        for (int k = 0; k < 3; k++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(row.Slice(k * 4, 4), g.Means[i * 3 + k]);
            BinaryPrimitives.WriteSingleLittleEndian(row.Slice(12 + k * 4, 4), MathF.Exp(g.LogScales[i * 3 + k]));
            row[24 + k] = Byte((0.5 + ShC0 * g.ShDc[i * 3 + k]) * 255);
        }
        row[27] = Byte(255 / (1 + Math.Exp(-g.Opacity[i])));
        double w = g.Rotations[i * 4], x = g.Rotations[i * 4 + 1], y = g.Rotations[i * 4 + 2], z = g.Rotations[i * 4 + 3];
        double norm = Math.Sqrt(w * w + x * x + y * y + z * z);
        if (!(norm > 0)) (w, x, y, z, norm) = (1, 0, 0, 0, 1);
        row[28] = Byte(w / norm * 128 + 128);
        row[29] = Byte(x / norm * 128 + 128);
        row[30] = Byte(y / norm * 128 + 128);
        row[31] = Byte(z / norm * 128 + 128);
    }

    private static byte Byte(double v) => double.IsNaN(v) ? (byte)0 : (byte)Math.Clamp(Math.Round(v), 0, 255);

    /// <summary>The training cameras of the scene metrics.json names (all views when the scene has no split), or none and why.</summary>
    private static (JsonArray Cameras, string? Note) TrainingCameras(string dir)
    {
        var metricsPath = Path.Combine(dir, SceneSegmentation.MetricsFile);
        if (!File.Exists(metricsPath)) return ([], $"no {SceneSegmentation.MetricsFile}: training cameras not shown");
        string? scenePath;
        try { scenePath = (JsonNode.Parse(File.ReadAllText(metricsPath)) as JsonObject)?["scene"]?.GetValue<string>(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{metricsPath}: not valid metrics JSON ({e.Message}).", e);
        }
        if (scenePath is null) return ([], $"{SceneSegmentation.MetricsFile} names no scene: training cameras not shown");
        if (!Directory.Exists(scenePath)) return ([], $"scene folder {scenePath} not found: training cameras not shown");
        Scene scene;
        try { scene = SceneInspector.Read(scenePath); }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
        {
            return ([], $"scene {scenePath} could not be read ({e.Message}): training cameras not shown");
        }
        var train = scene.TrainViews.ToHashSet(StringComparer.Ordinal);
        var views = train.Count > 0 ? scene.Views.Where(v => train.Contains(v.Name)) : scene.Views;
        var result = new JsonArray();
        foreach (var v in views)
        {
            var c = v.Camera;
            result.Add(new JsonObject
            {
                ["name"] = v.Name,
                ["c2w"] = new JsonArray(c.CameraToWorld.Select(x => (JsonNode)Math.Round(x, 6)).ToArray()),
                ["fx"] = c.Fx, ["fy"] = c.Fy, ["cx"] = c.Cx, ["cy"] = c.Cy, ["width"] = c.Width, ["height"] = c.Height,
            });
        }
        return (result, null);
    }
}
