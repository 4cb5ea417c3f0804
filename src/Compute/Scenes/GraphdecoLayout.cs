namespace UniCLift.Compute.Scenes;

using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using UniCLift.Compute.IO;

/// <summary>
/// A graphdeco 3DGS output folder: cameras.json (list of {id, img_name, width, height, position, rotation, fx, fy};
/// rotation is the camera-to-world 3x3 as rows, position the camera centre, OpenCV/COLMAP axes; the principal point is
/// the image centre) and point_cloud/iteration_N/point_cloud.ply (the largest N becomes
/// <see cref="Scene.PointCloudPath"/>, for lift mode).
/// <para>Images are searched in: the explicit image folder, then images/, color/, input/ under the output folder, then
/// the same under the training data folder named by cfg_args (source_path='...'). Files are matched by stem with
/// img_name. Masks: the explicit mask folder, else the first of masks/, m2f_instance/, detic_instance/, instance/
/// under the output folder, then under source_path. Ground truth: gt_instance/ or rs_instance/ (and gt_semantic/ or
/// rs_semantics/). When an image's size differs from cameras.json (3DGS downscales large images), the intrinsics are
/// scaled to the image. Splits: splits.json in the folder if present, else every view in both.</para>
/// </summary>
public static class GraphdecoLayout
{
    public const string CamerasFile = "cameras.json", PointCloudDir = "point_cloud";
    public static readonly string[] ImageFolders = ["images", "color", "input"];

    public static bool Detect(string dir) => File.Exists(Path.Combine(dir, CamerasFile)) && Directory.Exists(Path.Combine(dir, PointCloudDir));

    public static Scene Read(string dir) => Read(dir, null, null);

    /// <param name="imageDir">Folder of the training images (overrides the search).</param>
    /// <param name="maskDir">Folder of per-view instance masks (.png/.npy named as the images; overrides the search).</param>
    public static Scene Read(string dir, string? imageDir, string? maskDir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Scene directory not found: {dir}");
        var root = Path.GetFullPath(dir);
        var camPath = Path.Combine(root, CamerasFile);
        var entries = ReadCameras(camPath);
        var source = SourcePath(root);
        string?[] roots = [root, source];

        if (imageDir is not null && !Directory.Exists(imageDir)) throw new DirectoryNotFoundException($"Image folder not found: {imageDir}");
        if (maskDir is not null && !Directory.Exists(maskDir)) throw new DirectoryNotFoundException($"Mask folder not found: {maskDir}");
        var imgDir = imageDir ?? LayoutFiles.FindFolder(roots, ImageFolders)
            ?? throw new InvalidDataException($"{root}: no image folder found next to {CamerasFile} (searched {string.Join(", ", ImageFolders.Select(f => f + "/"))} here" +
                                              (source is null ? "" : $" and in source_path {source}") + "); pass the image folder explicitly.");
        var images = LayoutFiles.ByStem(imgDir, LayoutFiles.ImageExtensions);
        var frames = entries.Select(e => (e.Name, Stem: Path.GetFileNameWithoutExtension(e.Name))).ToList();
        foreach (var (name, stem) in frames)
            if (!images.ContainsKey(stem)) throw new InvalidDataException($"{Path.Combine(imgDir, stem + ".png")}: missing image for camera '{name}' of {camPath}.");

        var labels = LayoutFiles.FindLabels(roots, maskDir, frames);

        var views = new List<SceneView>();
        foreach (var e in entries)
        {
            var stem = Path.GetFileNameWithoutExtension(e.Name);
            var cam = LayoutFiles.FitToImage(e.Camera, images[stem]);
            views.Add(labels.View(e.Name, cam, images[stem]));
        }
        var names = views.Select(v => v.Name).ToList();
        var (train, test) = LayoutFiles.ReadSplits(Path.Combine(root, "splits.json"), names);
        return new Scene(root, SceneLayout.Graphdeco, views, train, test, LatestPointCloud(root));
    }

    /// <summary>point_cloud/iteration_N/point_cloud.ply with the largest N, or null.</summary>
    public static string? LatestPointCloud(string root)
    {
        var pc = Path.Combine(root, PointCloudDir);
        if (!Directory.Exists(pc)) return null;
        return Directory.EnumerateDirectories(pc, "iteration_*")
            .Select(d => (Dir: d, Ok: int.TryParse(Path.GetFileName(d)["iteration_".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int n), N: n))
            .Where(x => x.Ok && File.Exists(Path.Combine(x.Dir, "point_cloud.ply")))
            .OrderByDescending(x => x.N)
            .Select(x => Path.Combine(x.Dir, "point_cloud.ply"))
            .FirstOrDefault();
    }

    /// <summary>source_path from the cfg_args file 3DGS writes (a Python Namespace repr), when it names an existing folder.</summary>
    internal static string? SourcePath(string root)
    {
        if (NamedSourcePath(root) is not { } p) return null;
        SceneFileGuard.Check(p, $"source_path of {Path.Combine(root, "cfg_args")}");
        return Directory.Exists(p) ? p : null;
    }

    /// <summary>The folder cfg_args names as source_path (full path; it may not exist: an output moved from where it was
    /// trained), or null when there is no cfg_args or it names none. A 3DGS output always names one outside itself.</summary>
    internal static string? NamedSourcePath(string root)
    {
        var cfg = Path.Combine(root, "cfg_args");
        if (!LayoutFiles.Optional(cfg)) return null;
        var m = Regex.Match(DataFile.ReadAllText(cfg), @"source_path\s*=\s*(['""])(?<p>.*?)\1");
        if (!m.Success) return null;
        var p = m.Groups["p"].Value;
        return Path.GetFullPath(Path.IsPathRooted(p) ? p : Path.Combine(root, p));
    }

    internal sealed record Entry(string Name, Camera Camera);

    internal static List<Entry> ReadCameras(string path)
    {
        using var doc = LayoutFiles.ReadJson(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: expected a list of cameras [{{id, img_name, width, height, position, rotation, fx, fy}}].");
        var list = new List<Entry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int i = 0;
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            string where = $"camera {i}";
            var nameEl = LayoutFiles.Get(c, "img_name", path, where);
            if (nameEl.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(nameEl.GetString()))
                throw new InvalidDataException($"{path}: {where} has an img_name that is not a non-empty string.");
            var name = nameEl.GetString()!;
            where = $"camera {i} ('{name}')";
            if (!seen.Add(name)) throw new InvalidDataException($"{path}: two cameras have img_name '{name}'.");
            int w = (int)LayoutFiles.Number(LayoutFiles.Get(c, "width", path, where), path, $"{where} width");
            int h = (int)LayoutFiles.Number(LayoutFiles.Get(c, "height", path, where), path, $"{where} height");
            double fx = LayoutFiles.Number(LayoutFiles.Get(c, "fx", path, where), path, $"{where} fx");
            double fy = LayoutFiles.Number(LayoutFiles.Get(c, "fy", path, where), path, $"{where} fy");
            var pos = LayoutFiles.Numbers(LayoutFiles.Get(c, "position", path, where), path, $"{where} position", 3);
            var rot = LayoutFiles.Matrix(LayoutFiles.Get(c, "rotation", path, where), path, $"{where} rotation", 3, 3);
            var c2w = LayoutFiles.CheckRotation(LayoutFiles.Rigid(rot, pos[0], pos[1], pos[2]), $"{path}: {where}");
            list.Add(new Entry(name, new Camera(w, h, fx, fy, w / 2.0, h / 2.0, c2w).Validate($"{path}: {where}")));
            i++;
        }
        if (list.Count == 0) throw new InvalidDataException($"{path}: the camera list is empty.");
        // 3DGS writes cameras in training order (train then test); a stable name order makes frames predictable.
        return list.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
    }
}
