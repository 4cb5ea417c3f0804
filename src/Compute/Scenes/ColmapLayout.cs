namespace UniCLift.Compute.Scenes;

using System.Globalization;
using UniCLift.Compute.IO;

/// <summary>
/// A COLMAP model, text (cameras.txt, images.txt, points3D.txt) or binary (cameras.bin, images.bin, points3D.bin, what
/// COLMAP writes by default; see <see cref="ColmapBinary"/>), in sparse/0/, sparse/ or the scene folder: the first of
/// those folders holding a complete model wins, and within one folder the text model is preferred when both are there
/// (text is what a user exports or edits on purpose with `colmap model_converter`). Images in images/.
/// Camera models SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV, OPENCV_FISHEYE and FULL_OPENCV; a model with
/// distortion gives the view a pinhole camera with the same fx fy cx cy plus a <see cref="Distortion"/>, and
/// <see cref="SceneData"/> undistorts its image and label maps when it loads them. Poses (QW QX QY QZ TX TY TZ) are
/// world-to-camera in OpenCV axes.
/// <para>points3D becomes the initial point cloud: the reader writes points3D.ply next to it (atomically) when that
/// file is absent or older than the model's points file, falling back to a cache folder under the system temp dir
/// when the model folder is not writable or its points3D.ply is not one this reader wrote (graphdeco's loader writes
/// one there too; a user's own file is never overwritten). Masks and ground truth as for <see cref="NerfstudioLayout"/>, matched by the
/// image's stem; splits.json if present, else every view in both splits.</para>
/// </summary>
public static class ColmapLayout
{
    private static readonly string[] ModelFolders = ["sparse/0", "sparse", "."];

    public static bool Detect(string dir) => FindModel(dir) is not null;

    /// <summary>The first of sparse/0, sparse, the folder itself that holds a COLMAP model (text or binary).</summary>
    public static string? ModelFolder(string dir) => FindModel(dir)?.Folder;

    /// <summary>The model folder and whether its model is binary (text preferred when a folder has both).</summary>
    public static (string Folder, bool Binary)? FindModel(string dir)
    {
        foreach (var d in ModelFolders.Select(f => Path.GetFullPath(Path.Combine(dir, f))))
        {
            if (File.Exists(Path.Combine(d, "cameras.txt")) && File.Exists(Path.Combine(d, "images.txt"))) return (d, false);
            if (File.Exists(Path.Combine(d, ColmapBinary.CamerasFile)) && File.Exists(Path.Combine(d, ColmapBinary.ImagesFile))) return (d, true);
        }
        return null;
    }

    public static Scene Read(string dir) => Read(dir, null);

    public static Scene Read(string dir, string? maskDir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Scene directory not found: {dir}");
        if (maskDir is not null && !Directory.Exists(maskDir)) throw new DirectoryNotFoundException($"Mask folder not found: {maskDir}");
        var root = Path.GetFullPath(dir);
        var (model, binary) = FindModel(root) ?? throw new InvalidDataException(
            $"{root}: no COLMAP model (cameras.txt and images.txt, or cameras.bin and images.bin, in sparse/0/, sparse/ or the folder).");
        var imagesFile = Path.Combine(model, binary ? ColmapBinary.ImagesFile : "images.txt");
        var images = binary ? ReadBinaryImages(model) : ReadImages(imagesFile, ReadCameras(Path.Combine(model, "cameras.txt")));
        var imgDir = Path.Combine(root, "images");
        if (!Directory.Exists(imgDir)) throw new InvalidDataException($"{imgDir}: missing image folder for the COLMAP model in {model}.");

        // A view is named by its image's stem; a rig's cameras that write into folders of their own (cam1/0000.png,
        // cam2/0000.png) repeat stems, and their views are named by the path instead (cam1_0000). Label files are looked
        // up by the view's name (masks/0000.png, masks/cam1_0000.png) or by the image's path (masks/cam1/0000.png).
        var ordered = images.OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
        bool byPath = ordered.Select(e => Path.GetFileNameWithoutExtension(e.Name)).Distinct(StringComparer.Ordinal).Count() < ordered.Count;
        var entries = new List<(string Name, string Stem, string Image, Camera Camera, Distortion? Distortion)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, cam, dist) in ordered)
        {
            var image = Path.Combine(imgDir, name);
            if (!File.Exists(image)) throw new InvalidDataException($"{image}: image '{name}' of {imagesFile} not found.");
            var stem = Path.ChangeExtension(name.Replace('\\', '/'), null)!;
            var view = byPath ? stem.Replace('/', '_') : Path.GetFileNameWithoutExtension(name);
            if (!seen.Add(view)) throw new InvalidDataException($"{imagesFile}: two images have the {(byPath ? "name" : "stem")} '{view}'.");
            entries.Add((view, stem, image, LayoutFiles.FitToImage(cam, image), dist));
        }
        var frames = entries.Select(e => (e.Name, e.Stem)).ToList();
        string?[] roots = [root];
        var labels = LayoutFiles.FindLabels(roots, maskDir, frames);
        var views = entries.Select(e => labels.View(e.Name, e.Camera, e.Image, e.Distortion)).ToList();
        var (train, test) = LayoutFiles.ReadSplits(Path.Combine(root, "splits.json"), views.Select(v => v.Name).ToList());

        var pointsFile = Path.Combine(model, binary ? ColmapBinary.Points3DFile : "points3D.txt");
        string? cloud = LayoutFiles.Optional(pointsFile) ? EnsurePointCloud(pointsFile) : null;
        return new Scene(root, SceneLayout.Colmap, views, train, test, cloud);
    }

    /// <summary>images.bin with cameras.bin: name, camera with pose, distortion per image.</summary>
    private static List<(string Name, Camera Camera, Distortion? Distortion)> ReadBinaryImages(string model)
    {
        var camPath = Path.Combine(model, ColmapBinary.CamerasFile);
        var imgPath = Path.Combine(model, ColmapBinary.ImagesFile);
        var cams = new Dictionary<int, (Camera, Distortion?)>();
        foreach (var c in ColmapBinary.ReadCameras(camPath))
        {
            var name = ColmapModels.ById(c.ModelId)!.Value.Name;
            cams[c.Id] = ColmapModels.ToCamera(name, c.Width, c.Height, c.Params, $"{camPath}: camera {c.Id}");
        }
        if (cams.Count == 0) throw new InvalidDataException($"{camPath}: no cameras.");
        var r = new List<(string, Camera, Distortion?)>();
        foreach (var im in ColmapBinary.ReadImages(imgPath))
        {
            string where = $"{imgPath}: image {im.Id} '{im.Name}'";
            if (!cams.TryGetValue(im.CameraId, out var cd)) throw new InvalidDataException($"{where}: camera id {im.CameraId} is not in {ColmapBinary.CamerasFile}.");
            var c2w = ColmapModels.CameraToWorld(im.Qw, im.Qx, im.Qy, im.Qz, im.Tx, im.Ty, im.Tz, where);
            r.Add((im.Name, cd.Item1 with { CameraToWorld = c2w }, cd.Item2));
        }
        if (r.Count == 0) throw new InvalidDataException($"{imgPath}: no images.");
        return r;
    }

    /// <summary>Data lines (comments and blank lines dropped) with their 1-based line numbers.</summary>
    private static IEnumerable<(int Line, string[] Tokens)> DataLines(string path)
    {
        int n = 0;
        foreach (var raw in DataFile.ReadLines(path))
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

    /// <summary>cameras.txt: CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]; returns id -> intrinsics with an identity pose and distortion.</summary>
    internal static Dictionary<int, (Camera Camera, Distortion? Distortion)> ReadCameras(string path)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: file not found.");
        var r = new Dictionary<int, (Camera, Distortion?)>();
        foreach (var (line, t) in DataLines(path))
        {
            if (t.Length < 4) throw new InvalidDataException($"{path}:{line}: expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS[], found {t.Length} fields.");
            int id = Int(t[0], path, line, "CAMERA_ID");
            string model = t[1].ToUpperInvariant();
            int w = Int(t[2], path, line, "WIDTH"), h = Int(t[3], path, line, "HEIGHT");
            var p = t.Skip(4).Select((s, i) => Num(s, path, line, $"parameter {i}")).ToArray();
            if (!ColmapModels.Supported.Contains(model))
                throw new InvalidDataException($"{path}:{line}: camera model '{t[1]}' is not supported ({string.Join(", ", ColmapModels.Supported)}).");
            int need = ColmapModels.ByName(model)!.Value.Params;
            if (p.Length != need) throw new InvalidDataException($"{path}:{line}: camera model {model} needs {need} parameters, found {p.Length}.");
            if (!r.TryAdd(id, ColmapModels.ToCamera(model, w, h, p, $"{path}:{line}")))
                throw new InvalidDataException($"{path}:{line}: camera id {id} appears twice.");
        }
        if (r.Count == 0) throw new InvalidDataException($"{path}: no cameras.");
        return r;
    }

    /// <summary>images.txt: per image a line IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME and a line of 2D points (may be empty).</summary>
    internal static List<(string Name, Camera Camera, Distortion? Distortion)> ReadImages(string path, Dictionary<int, (Camera Camera, Distortion? Distortion)> cameras)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: file not found.");
        var lines = DataFile.ReadAllLines(path);
        var r = new List<(string, Camera, Distortion?)>();
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
            var c2w = ColmapModels.CameraToWorld(v[0], v[1], v[2], v[3], v[4], v[5], v[6], $"{path}:{line}");
            r.Add((name, cam.Camera with { CameraToWorld = c2w }, cam.Distortion));
            i++; // the POINTS2D line that follows (possibly empty): X Y POINT3D_ID triples, numbers only
            if (i < lines.Length && lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) is { Length: > 0 } points
                && !points[0].StartsWith('#') && (points.Length % 3 != 0 || points.Any(x => !double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out _))))
                throw new InvalidDataException($"{path}:{i + 1}: expected the POINTS2D line of image '{name}' (X Y POINT3D_ID triples, or an empty line), " +
                                               $"found '{Shorten(lines[i].Trim())}': every image takes two lines, its pose and then its 2D points.");
        }
        if (r.Count == 0) throw new InvalidDataException($"{path}: no images.");
        return r;
    }

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";

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

    /// <summary>points3D.bin: positions [N*3] and colours [N*3].</summary>
    internal static (float[] Positions, byte[] Colors) ReadBinaryPoints(string path)
    {
        var pts = ColmapBinary.ReadPoints3D(path);
        var pos = new float[pts.Count * 3];
        var col = new byte[pts.Count * 3];
        for (int i = 0; i < pts.Count; i++)
        {
            var p = pts[i];
            if (!double.IsFinite(p.X) || !double.IsFinite(p.Y) || !double.IsFinite(p.Z))
                throw new InvalidDataException($"{path}: point {p.Id} has a non-finite coordinate.");
            (pos[i * 3], pos[i * 3 + 1], pos[i * 3 + 2]) = ((float)p.X, (float)p.Y, (float)p.Z);
            (col[i * 3], col[i * 3 + 1], col[i * 3 + 2]) = (p.R, p.G, p.B);
        }
        return (pos, col);
    }

    /// <summary>The header comment that marks a points3D.ply as this reader's conversion, which it may replace.</summary>
    internal const string ConvertedComment = "uniclift: converted from the COLMAP model's points3D";

    /// <summary>Path of a PLY with the points of points3D.txt or points3D.bin, written next to it when absent or stale
    /// (and, when stale, only over this reader's own conversion), else in a cache folder.</summary>
    internal static string EnsurePointCloud(string pointsFile)
    {
        var ply = Path.Combine(Path.GetDirectoryName(pointsFile)!, "points3D.ply");
        bool exists = File.Exists(ply);
        if (exists && File.GetLastWriteTimeUtc(ply) >= File.GetLastWriteTimeUtc(pointsFile)) return ply;
        // The model's points are parsed only when a conversion is written, and once.
        (float[] Positions, byte[] Colors)? points = null;
        void WriteConversion(string target)
        {
            points ??= pointsFile.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) ? ReadBinaryPoints(pointsFile) : ReadPoints(pointsFile);
            PointCloudPly.Write(target, points.Value.Positions, points.Value.Colors, [ConvertedComment]);
        }
        if (!exists || IsOwnConversion(ply))
        {
            try
            {
                WriteConversion(ply);
                return ply;
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException) { } // a read-only dataset
        }
        // Kept in a cache keyed by the model path instead.
        var key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(pointsFile))))[..16];
        var cached = Path.Combine(Path.GetTempPath(), "uniclift-colmap", key, "points3D.ply");
        if (!File.Exists(cached) || File.GetLastWriteTimeUtc(cached) < File.GetLastWriteTimeUtc(pointsFile)) WriteConversion(cached);
        return cached;
    }

    private static bool IsOwnConversion(string ply)
    {
        try { return Ply.Comments(ply).Contains(ConvertedComment); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { return false; }
    }
}
