namespace UniCLift.Compute.Export;

using UniCLift.Compute.IO;
using UniCLift.Compute.Segmentation;

/// <summary>One instance of a segmentation result: its Gaussians, their bounding box, and the views where it covers the most pixels.</summary>
public sealed record InstanceSummary(int Id, int Gaussians, float[] Min, float[] Max, IReadOnlyList<(string View, int Pixels)> LargestViews);

/// <summary>
/// Exports from a segmentation result folder (written by SceneSegmentation): labels.ply (graphdeco PLY with float
/// `instance` and emb_0..emb_{d-1}) and instance/&lt;frame&gt;.png (16-bit per-view instance maps).
/// </summary>
public static class ResultExport
{
    public const string LabelsFile = "labels.ply", InstanceDir = "instance";

    public static string LabelsPath(string resultDir)
    {
        if (!Directory.Exists(resultDir)) throw new DirectoryNotFoundException($"Result folder not found: {resultDir}");
        var p = Path.Combine(resultDir, LabelsFile);
        if (!File.Exists(p)) throw new FileNotFoundException($"{p}: not found (a segmentation result folder holds labels.ply).", p);
        return p;
    }

    /// <summary>Per-Gaussian instance ids [N] of a labels.ply; the error names the file when the property is missing.</summary>
    public static int[] Instances(GaussianCloud cloud, string source)
    {
        if (!cloud.Extra.TryGetValue("instance", out var inst))
            throw new InvalidDataException($"{source}: no 'instance' property (expected a UniCLift labels.ply).");
        var r = new int[inst.Length];
        for (int i = 0; i < r.Length; i++)
        {
            if (!float.IsFinite(inst[i]) || inst[i] < 0 || inst[i] != MathF.Round(inst[i]))
                throw new InvalidDataException($"{source}: 'instance' of Gaussian {i} is {inst[i]}, expected a non-negative integer.");
            r[i] = (int)inst[i];
        }
        return r;
    }

    /// <summary>The rows of <paramref name="cloud"/> whose flag is set, every property kept.</summary>
    public static GaussianCloud Select(GaussianCloud cloud, bool[] keep)
    {
        int n = keep.Count(k => k), k1 = cloud.ShCoefficients - 1;
        float[] Rows(float[] src, int per)
        {
            var dst = new float[n * per];
            int j = 0;
            for (int i = 0; i < keep.Length; i++)
                if (keep[i]) { Array.Copy(src, i * per, dst, j * per, per); j++; }
            return dst;
        }
        return new GaussianCloud
        {
            Count = n,
            Means = Rows(cloud.Means, 3),
            Normals = Rows(cloud.Normals, 3),
            ShDc = Rows(cloud.ShDc, 3),
            ShRest = Rows(cloud.ShRest, 3 * k1),
            ShDegree = cloud.ShDegree,
            Opacity = Rows(cloud.Opacity, 1),
            LogScales = Rows(cloud.LogScales, 3),
            Rotations = Rows(cloud.Rotations, 4),
            Extra = cloud.Extra.ToDictionary(kv => kv.Key, kv => Rows(kv.Value, 1)),
        };
    }

    /// <summary>Writes instance <paramref name="id"/>'s Gaussians as a standalone graphdeco PLY; returns how many.</summary>
    public static int ExportInstance(string resultDir, int id, string outPath)
    {
        var path = LabelsPath(resultDir);
        var cloud = GaussianPly.Read(path);
        var inst = Instances(cloud, path);
        var keep = inst.Select(i => i == id).ToArray();
        int n = keep.Count(k => k);
        if (n == 0)
        {
            var ids = inst.Distinct().Order().ToList();
            throw new ArgumentException($"{path}: no Gaussian has instance {id} (instances: {string.Join(", ", ids.Take(30))}{(ids.Count > 30 ? ", ..." : "")}).");
        }
        GaussianPly.Write(outPath, Select(cloud, keep));
        return n;
    }

    /// <summary>The name of an instance's PLY in an <see cref="ExportAll"/> folder: instance_&lt;id&gt;.ply, the background's background.ply.</summary>
    public static string InstanceFileName(int id) =>
        id == 0 ? "background.ply" : $"instance_{id.ToString("D4", System.Globalization.CultureInfo.InvariantCulture)}.ply";

    /// <summary>
    /// Writes every instance of the result, the background (0) among them, as a standalone graphdeco PLY of its own into
    /// <paramref name="outDir"/> (<see cref="InstanceFileName"/>), which must be new, empty or an earlier export (its
    /// instances.json and PLYs alone: replaced, as a run replaces its own earlier result), and lists them in
    /// instances.json (id, file, Gaussians), written last. labels.ply is read once; each file is written to a temporary
    /// name and renamed. Returns the instances written, background first.
    /// </summary>
    public static IReadOnlyList<(int Id, string File, int Gaussians)> ExportAll(string resultDir, string outDir)
    {
        if (File.Exists(outDir)) throw new ArgumentException($"--out {outDir} is a file; name a new or empty folder for the instances' PLYs.");
        bool earlier = IsEarlierExport(outDir);
        if (Directory.Exists(outDir) && !earlier && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new ArgumentException($"--out {outDir} is not empty (nor an earlier export's folder); name a new or empty folder for the instances' PLYs.");
        var path = LabelsPath(resultDir);
        var cloud = GaussianPly.Read(path);
        var inst = Instances(cloud, path);
        if (earlier)
        {
            // Its index first: a folder without one is no finished export, should this stop half way.
            File.Delete(Path.Combine(outDir, IndexFile));
            foreach (var old in Directory.EnumerateFiles(outDir)) File.Delete(old);
        }
        Directory.CreateDirectory(outDir);
        var written = new List<(int, string, int)>();
        foreach (int id in inst.Distinct().Order())
        {
            var keep = inst.Select(i => i == id).ToArray();
            var file = Path.Combine(outDir, InstanceFileName(id));
            GaussianPly.Write(file, Select(cloud, keep));
            written.Add((id, file, keep.Count(k => k)));
        }
        var index = new System.Text.Json.Nodes.JsonArray(written.Select(w => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = w.Item1,
            ["background"] = w.Item1 == 0,
            ["file"] = Path.GetFileName(w.Item2),
            ["gaussians"] = w.Item3,
        }).ToArray());
        AtomicFile.WriteAllText(Path.Combine(outDir, IndexFile), index.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return written;
    }

    private const string IndexFile = "instances.json";

    /// <summary>Whether <paramref name="dir"/> holds an earlier <see cref="ExportAll"/> and nothing else: its index and
    /// instance PLYs (and no folder, link or other file).</summary>
    private static bool IsEarlierExport(string dir) =>
        File.Exists(Path.Combine(dir, IndexFile)) && Directory.EnumerateFileSystemEntries(dir).All(p =>
            File.Exists(p) && new FileInfo(p).LinkTarget is null
            && System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(p), @"^(instances\.json|background\.ply|instance_[0-9]{4,}\.ply)$"));

    /// <summary>Instances of a result (background 0 included) with counts, bounding boxes and the <paramref name="topViews"/> views where each is largest.</summary>
    public static IReadOnlyList<InstanceSummary> ListInstances(string resultDir, int topViews = 3)
    {
        var path = LabelsPath(resultDir);
        var cloud = GaussianPly.Read(path);
        var inst = Instances(cloud, path);
        var stats = new SortedDictionary<int, (int Count, float[] Min, float[] Max)>();
        for (int i = 0; i < inst.Length; i++)
        {
            if (!stats.TryGetValue(inst[i], out var s))
                s = (0, [float.MaxValue, float.MaxValue, float.MaxValue], [float.MinValue, float.MinValue, float.MinValue]);
            for (int k = 0; k < 3; k++)
            {
                float v = cloud.Means[i * 3 + k];
                s.Min[k] = Math.Min(s.Min[k], v);
                s.Max[k] = Math.Max(s.Max[k], v);
            }
            stats[inst[i]] = (s.Count + 1, s.Min, s.Max);
        }

        // Pixel counts per instance and view from the rendered instance maps.
        var pixels = new Dictionary<int, List<(string View, int Pixels)>>();
        var dir = Path.Combine(resultDir, InstanceDir);
        if (Directory.Exists(dir))
        {
            foreach (var file in Directory.EnumerateFiles(dir, "*.png").Order(StringComparer.Ordinal))
            {
                var map = ImageIO.ReadLabels(file);
                var counts = new Dictionary<int, int>();
                foreach (var id in map.Labels) counts[id] = counts.GetValueOrDefault(id) + 1;
                foreach (var (id, c) in counts)
                {
                    if (!pixels.TryGetValue(id, out var l)) pixels[id] = l = [];
                    l.Add((Path.GetFileNameWithoutExtension(file), c));
                }
            }
        }
        // Instances seen only in the views (no Gaussian carries them) are listed too, with no Gaussians.
        foreach (var id in pixels.Keys.Where(id => !stats.ContainsKey(id)).ToList())
            stats[id] = (0, [float.NaN, float.NaN, float.NaN], [float.NaN, float.NaN, float.NaN]);

        return stats.Select(kv => new InstanceSummary(kv.Key, kv.Value.Count, kv.Value.Min, kv.Value.Max,
            pixels.TryGetValue(kv.Key, out var l)
                ? l.OrderByDescending(x => x.Pixels).ThenBy(x => x.View, StringComparer.Ordinal).Take(topViews).ToList()
                : [])).ToList();
    }

    /// <summary>
    /// Writes the per-Gaussian embeddings as an [N, d] float32 NPY at <paramref name="outPath"/> and the instance ids as
    /// an [N] int32 NPY beside it (&lt;name&gt;_instances.npy); returns both paths and the shape.
    /// </summary>
    public static (string Embeddings, string Instances, int Count, int Dim) ExportEmbeddings(string resultDir, string outPath)
    {
        var path = LabelsPath(resultDir);
        var cloud = GaussianPly.Read(path);
        var inst = Instances(cloud, path);
        var data = TrainedGaussians.ReadEmbeddings(cloud, out int d); // [N, d] row-major
        if (d == 0) throw new InvalidDataException($"{path}: no {TrainedGaussians.EmbeddingPrefix}0.. properties (expected a UniCLift labels.ply with embeddings).");
        int n = cloud.Count;
        var full = Path.GetFullPath(outPath);
        var stem = full.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? full[..^4] : full;
        var embPath = stem + ".npy";
        var instPath = stem + "_instances.npy";
        Npy.Write(embPath, [n, d], data);
        Npy.Write(instPath, [n], inst);
        return (embPath, instPath, n, d);
    }
}
