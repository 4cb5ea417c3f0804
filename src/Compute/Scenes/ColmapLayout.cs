namespace UniCLift.Compute.Scenes;

using System.Globalization;
using UniCLift.Compute.IO;

/// <summary>
/// A COLMAP text model: cameras.txt, images.txt, points3D.txt in sparse/0/, sparse/ or the scene folder (first found),
/// images in images/. Camera models PINHOLE (fx fy cx cy), SIMPLE_PINHOLE (f cx cy), SIMPLE_RADIAL (f cx cy k),
/// RADIAL (f cx cy k1 k2) and OPENCV (fx fy cx cy k1 k2 p1 p2); distortion is ignored (undistort first with
/// `colmap image_undistorter` for exact results). images.txt poses (QW QX QY QZ TX TY TZ) are world-to-camera in
/// OpenCV axes.
/// <para>points3D.txt becomes the initial point cloud: the reader writes points3D.ply next to it (atomically) when that
/// file is absent or older than the text, falling back to a cache folder under the system temp dir when the model
/// folder is not writable. Masks and ground truth as for <see cref="NerfstudioLayout"/>, matched by the image's stem;
/// splits.json if present, else every view in both splits.</para>
/// </summary>
public static class ColmapLayout
{
    private static readonly string[] ModelFolders = ["sparse/0", "sparse", "."];

    public static bool Detect(string dir) => ModelFolder(dir) is not null;

    /// <summary>The first of sparse/0, sparse, the folder itself that holds cameras.txt and images.txt.</summary>
    public static string? ModelFolder(string dir) =>
        ModelFolders.Select(f => Path.GetFullPath(Path.Combine(dir, f)))
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "cameras.txt")) && File.Exists(Path.Combine(d, "images.txt")));

    public static Scene Read(string dir) => Read(dir, null);

    public static Scene Read(string dir, string? maskDir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Scene directory not found: {dir}");
        if (maskDir is not null && !Directory.Exists(maskDir)) throw new DirectoryNotFoundException($"Mask folder not found: {maskDir}");
        var root = Path.GetFullPath(dir);
        var model = ModelFolder(root) ?? throw new InvalidDataException($"{root}: no COLMAP text model (cameras.txt and images.txt in sparse/0/, sparse/ or the folder).");
        var cameras = ReadCameras(Path.Combine(model, "cameras.txt"));
        var images = ReadImages(Path.Combine(model, "images.txt"), cameras);
        var imgDir = Path.Combine(root, "images");
        if (!Directory.Exists(imgDir)) throw new InvalidDataException($"{imgDir}: missing image folder for the COLMAP model in {model}.");

        var entries = new List<(string Name, string Image, Camera Camera)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, cam) in images.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var image = Path.Combine(imgDir, name);
            if (!File.Exists(image)) throw new InvalidDataException($"{image}: image '{name}' of {Path.Combine(model, "images.txt")} not found.");
            var stem = Path.GetFileNameWithoutExtension(name);
            if (!seen.Add(stem)) throw new InvalidDataException($"{Path.Combine(model, "images.txt")}: two images have the stem '{stem}'.");
            entries.Add((stem, image, LayoutFiles.FitToImage(cam, image)));
        }
        var frames = entries.Select(e => (e.Name, e.Name)).ToList();
        string?[] roots = [root];
        var labels = LayoutFiles.FindLabels(roots, maskDir, frames);
        var views = entries.Select(e => labels.View(e.Name, e.Camera, e.Image)).ToList();
        var (train, test) = LayoutFiles.ReadSplits(Path.Combine(root, "splits.json"), views.Select(v => v.Name).ToList());

        var pointsTxt = Path.Combine(model, "points3D.txt");
        string? cloud = File.Exists(pointsTxt) ? EnsurePointCloud(pointsTxt) : null;
        return new Scene(root, SceneLayout.Colmap, views, train, test, cloud);
    }

    /// <summary>Data lines (comments and blank lines dropped) with their 1-based line numbers.</summary>
    private static IEnumerable<(int Line, string[] Tokens)> DataLines(string path)
    {
        int n = 0;
        foreach (var raw in File.ReadLines(path))
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            yield return (n, line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }
    }

    private static double Num(string token, string path, int line, string what)
    {
        if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)) return v;
        throw new InvalidDataException($"{path}:{line}: {what} '{token}' is not a finite number.");
    }

    private static int Int(string token, string path, int line, string what)
    {
        if (int.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) return v;
        throw new InvalidDataException($"{path}:{line}: {what} '{token}' is not an integer.");
    }

    /// <summary>cameras.txt: CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]; returns id -> intrinsics with an identity pose.</summary>
    internal static Dictionary<int, Camera> ReadCameras(string path)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: file not found.");
        var r = new Dictionary<int, Camera>();
        foreach (var (line, t) in DataLines(path))
        {
            if (t.Length < 4) throw new InvalidDataException($"{path}:{line}: expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS[], found {t.Length} fields.");
            int id = Int(t[0], path, line, "CAMERA_ID");
            string model = t[1].ToUpperInvariant();
            int w = Int(t[2], path, line, "WIDTH"), h = Int(t[3], path, line, "HEIGHT");
            var p = t.Skip(4).Select((s, i) => Num(s, path, line, $"parameter {i}")).ToArray();
            int need = model switch { "PINHOLE" => 4, "SIMPLE_PINHOLE" => 3, "SIMPLE_RADIAL" => 4, "RADIAL" => 5, "OPENCV" => 8,
                _ => throw new InvalidDataException($"{path}:{line}: camera model '{t[1]}' is not supported (PINHOLE, SIMPLE_PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV).") };
            if (p.Length != need) throw new InvalidDataException($"{path}:{line}: camera model {model} needs {need} parameters, found {p.Length}.");
            var (fx, fy, cx, cy) = model is "PINHOLE" or "OPENCV" ? (p[0], p[1], p[2], p[3]) : (p[0], p[0], p[1], p[2]);
            double[] identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
            if (!r.TryAdd(id, new Camera(w, h, fx, fy, cx, cy, identity).Validate($"{path}:{line}")))
                throw new InvalidDataException($"{path}:{line}: camera id {id} appears twice.");
        }
        if (r.Count == 0) throw new InvalidDataException($"{path}: no cameras.");
        return r;
    }

    /// <summary>images.txt: per image a line IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME and a line of 2D points (may be empty).</summary>
    internal static List<(string Name, Camera Camera)> ReadImages(string path, Dictionary<int, Camera> cameras)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: file not found.");
        var lines = File.ReadAllLines(path);
        var r = new List<(string, Camera)>();
        for (int i = 0; i < lines.Length; i++)
        {
            var s = lines[i].Trim();
            if (s.Length == 0 || s[0] == '#') continue;
            int line = i + 1;
            var t = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (t.Length < 10) throw new InvalidDataException($"{path}:{line}: expected IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME, found {t.Length} fields.");
            var v = t.Skip(1).Take(7).Select((x, k) => Num(x, path, line, "pose value")).ToArray();
            int camId = Int(t[8], path, line, "CAMERA_ID");
            if (!cameras.TryGetValue(camId, out var cam)) throw new InvalidDataException($"{path}:{line}: camera id {camId} is not in cameras.txt.");
            var name = string.Join(' ', t.Skip(9)); // names may contain spaces
            // world-to-camera R, t -> camera-to-world R^T, -R^T t
            var rw = LayoutFiles.QuaternionToMatrix(v[0], v[1], v[2], v[3], $"{path}:{line}");
            double[] rc = [rw[0], rw[3], rw[6], rw[1], rw[4], rw[7], rw[2], rw[5], rw[8]];
            double cx = -(rc[0] * v[4] + rc[1] * v[5] + rc[2] * v[6]);
            double cy = -(rc[3] * v[4] + rc[4] * v[5] + rc[5] * v[6]);
            double cz = -(rc[6] * v[4] + rc[7] * v[5] + rc[8] * v[6]);
            r.Add((name, cam with { CameraToWorld = LayoutFiles.Rigid(rc, cx, cy, cz) }));
            i++; // the POINTS2D line that follows (possibly empty)
        }
        if (r.Count == 0) throw new InvalidDataException($"{path}: no images.");
        return r;
    }

    /// <summary>points3D.txt: POINT3D_ID X Y Z R G B ERROR TRACK[]; positions [N*3] and colours [N*3].</summary>
    internal static (float[] Positions, byte[] Colors) ReadPoints(string path)
    {
        var pos = new List<float>();
        var col = new List<byte>();
        foreach (var (line, t) in DataLines(path))
        {
            if (t.Length < 8) throw new InvalidDataException($"{path}:{line}: expected POINT3D_ID X Y Z R G B ERROR TRACK[], found {t.Length} fields.");
            for (int k = 1; k <= 3; k++) pos.Add((float)Num(t[k], path, line, "coordinate"));
            for (int k = 4; k <= 6; k++)
            {
                int c = Int(t[k], path, line, "colour");
                if (c is < 0 or > 255) throw new InvalidDataException($"{path}:{line}: colour {c} is outside 0..255.");
                col.Add((byte)c);
            }
        }
        return (pos.ToArray(), col.ToArray());
    }

    /// <summary>Path of a PLY with points3D.txt's points, written next to it when absent or stale.</summary>
    internal static string EnsurePointCloud(string pointsTxt)
    {
        var ply = Path.Combine(Path.GetDirectoryName(pointsTxt)!, "points3D.ply");
        if (File.Exists(ply) && File.GetLastWriteTimeUtc(ply) >= File.GetLastWriteTimeUtc(pointsTxt)) return ply;
        var (p, c) = ReadPoints(pointsTxt);
        try
        {
            PointCloudPly.Write(ply, p, c);
            return ply;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // Read-only dataset: keep the conversion in a cache keyed by the model path.
            var key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(pointsTxt))))[..16];
            var cached = Path.Combine(Path.GetTempPath(), "uniclift-colmap", key, "points3D.ply");
            if (!File.Exists(cached) || File.GetLastWriteTimeUtc(cached) < File.GetLastWriteTimeUtc(pointsTxt)) PointCloudPly.Write(cached, p, c);
            return cached;
        }
    }
}
