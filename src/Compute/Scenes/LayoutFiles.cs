namespace UniCLift.Compute.Scenes;

using System.Globalization;
using System.Text.Json;
using UniCLift.Compute.IO;

/// <summary>
/// Shared pieces of the layout readers: folder search by file stem, JSON access that names the file on errors,
/// quaternions, and the optional splits.json.
/// </summary>
internal static class LayoutFiles
{
    public static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];
    public static readonly string[] LabelExtensions = [".png", ".npy"];

    /// <summary>Predicted instance masks: label maps, or Segment Anything's automatic masks (<see cref="IO.SamMasks"/>) as
    /// amg.py writes them, a .json per image or a folder per image (a frame's file wins over its folder).</summary>
    public static readonly string[] MaskExtensions = [".png", ".npy", ".json"];

    /// <summary>Predicted per-view instance masks, searched in this order (first existing folder wins).</summary>
    public static readonly string[] MaskFolders = ["masks", "m2f_instance", "detic_instance", "instance"];
    public static readonly string[] MaskSemanticFolders = ["m2f_semantics", "detic_semantic"];
    public static readonly string[] GtInstanceFolders = ["gt_instance", "rs_instance"];
    public static readonly string[] GtSemanticFolders = ["gt_semantic", "rs_semantics"];

    /// <summary>First of <paramref name="names"/> that is a folder under any of <paramref name="roots"/> (roots in order),
    /// passing over the full paths in <paramref name="except"/>.</summary>
    public static string? FindFolder(IEnumerable<string?> roots, IEnumerable<string> names, IReadOnlySet<string>? except = null)
    {
        foreach (var root in roots)
        {
            if (root is null) continue;
            foreach (var n in names)
            {
                var p = Path.Combine(root, n);
                if (Directory.Exists(p) && except?.Contains(Path.TrimEndingDirectorySeparator(Path.GetFullPath(p))) != true) return p;
            }
        }
        return null;
    }

    /// <summary>Files of <paramref name="dir"/> with one of the extensions, by stem (first extension in the list wins a tie).</summary>
    public static Dictionary<string, string> ByStem(string dir, string[] extensions)
    {
        var r = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(dir).OrderBy(f => Array.IndexOf(extensions, Path.GetExtension(f).ToLowerInvariant())))
            if (extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                r.TryAdd(Path.GetFileNameWithoutExtension(f), f);
        return r;
    }

    /// <summary>The per-frame files of the label folders found under <paramref name="roots"/>: predicted instance masks
    /// (<paramref name="maskDir"/> when given), predicted semantics, ground-truth instances and semantics. The search for
    /// instance masks passes over <paramref name="notInstanceMasks"/> (full paths of folders known to hold something else).</summary>
    public static FrameLabels FindLabels(string?[] roots, string? maskDir, IReadOnlyList<(string Frame, string Stem)> frames,
        IReadOnlySet<string>? notInstanceMasks = null) => new(
        Cover(maskDir ?? FindFolder(roots, MaskFolders, notInstanceMasks), frames, MaskExtensions, "instance mask", folders: true),
        Cover(FindFolder(roots, MaskSemanticFolders), frames, LabelExtensions, "semantic mask"),
        Cover(FindFolder(roots, GtInstanceFolders), frames, LabelExtensions, "ground-truth instance map"),
        Cover(FindFolder(roots, GtSemanticFolders), frames, LabelExtensions, "ground-truth semantic map"));

    /// <summary>
    /// Frame -> file in an optional folder (null when <paramref name="dir"/> is null). A folder that exists must hold a
    /// file for every frame (or, with <paramref name="folders"/>, a sub-folder named by the frame's stem; a stem with a
    /// folder in it, also a file named as the frame), else the error names the file that is missing.
    /// </summary>
    public static Dictionary<string, string>? Cover(string? dir, IReadOnlyList<(string Frame, string Stem)> frames, string[] extensions, string what, bool folders = false)
    {
        if (dir is null) return null;
        var byStem = ByStem(dir, extensions);
        var r = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (frame, stem) in frames)
        {
            // A stem with a folder in it (an image in a sub-folder, cam1/0000): the file named as the frame, or at that path.
            bool path = stem.Contains('/');
            string[] names = path ? [frame, stem] : [stem];
            var f = byStem.GetValueOrDefault(names[0]);
            if (f is null && folders) f = names.Select(n => Path.Combine(dir, n)).FirstOrDefault(Directory.Exists);
            if (f is null && path) f = extensions.Select(e => Path.Combine(dir, stem + e)).FirstOrDefault(File.Exists);
            if (f is null)
                throw new InvalidDataException($"{Path.Combine(dir, stem)}{string.Join("|", extensions)}{(folders ? " (or a folder of SAM masks)" : "")}: missing {what} for frame '{frame}' ({Path.GetFileName(dir)}/ exists, so it must cover every frame).");
            r[frame] = f;
        }
        return r;
    }

    /// <summary>Whether an optional file of a layout (splits.json, a point cloud, cfg_args) is there: false when nothing
    /// is at <paramref name="path"/>; something else by that name (a folder) is an error naming it, not a file to
    /// pass over in silence (the scene would load without it).</summary>
    public static bool Optional(string path)
    {
        if (File.Exists(path)) return true;
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a folder; the layout reads a file by this name (move the folder, or put the file there).");
        return false;
    }

    /// <summary>An empty "train" list in splits.json: nothing to train on (and every frame would train, the test ones too).</summary>
    public static void CheckTrainSplit(string path, IReadOnlyCollection<string> train)
    {
        if (train.Count == 0)
            throw new InvalidDataException($"{path}: \"train\" is empty; list the frames to train on (without splits.json every frame trains and is tested).");
    }

    public static JsonDocument ReadJson(string path)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: file not found.");
        try { return JsonDocument.Parse(DataFile.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e); }
    }

    public static JsonElement Get(JsonElement e, string key, string path, string where)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(key, out var v))
            throw new InvalidDataException($"{path}: {where} has no \"{key}\".");
        return v;
    }

    public static double Number(JsonElement e, string path, string what)
    {
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var d) && double.IsFinite(d)) return d;
        throw new InvalidDataException($"{path}: {what} must be a finite number, found {e.GetRawText()}.");
    }

    public static double[] Numbers(JsonElement e, string path, string what, int count)
    {
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != count)
            throw new InvalidDataException($"{path}: {what} must be a list of {count} numbers, found {Short(e)}.");
        return e.EnumerateArray().Select((x, i) => Number(x, path, $"{what}[{i}]")).ToArray();
    }

    /// <summary>A matrix given as a list of rows (or one flat list) of rows x cols numbers, row-major.</summary>
    public static double[] Matrix(JsonElement e, string path, string what, int rows, int cols)
    {
        if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == rows * cols) return Numbers(e, path, what, rows * cols);
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != rows)
            throw new InvalidDataException($"{path}: {what} must be a {rows}x{cols} matrix (list of {rows} rows), found {Short(e)}.");
        var r = new double[rows * cols];
        int i = 0;
        foreach (var row in e.EnumerateArray())
        {
            var v = Numbers(row, path, $"{what} row {i}", cols);
            Array.Copy(v, 0, r, i * cols, cols);
            i++;
        }
        return r;
    }

    public static string Short(JsonElement e)
    {
        var s = e.GetRawText();
        return s.Length > 60 ? s[..60] + "..." : s;
    }

    /// <summary>Row-major 3x3 rotation of a unit quaternion (w, x, y, z); the quaternion is normalised first.</summary>
    public static double[] QuaternionToMatrix(double w, double x, double y, double z, string source)
    {
        double n = Math.Sqrt(w * w + x * x + y * y + z * z);
        if (!(n > 1e-12) || !double.IsFinite(n)) throw new InvalidDataException($"{source}: quaternion ({w}, {x}, {y}, {z}) has no direction.");
        var r = new double[9];
        Rotation.FromUnitQuaternion(w / n, x / n, y / n, z / n, out r[0], out r[1], out r[2], out r[3], out r[4], out r[5], out r[6], out r[7], out r[8]);
        return r;
    }

    /// <summary>4x4 row-major rigid transform from a row-major 3x3 rotation and a translation.</summary>
    public static double[] Rigid(double[] r, double tx, double ty, double tz) =>
        [r[0], r[1], r[2], tx, r[3], r[4], r[5], ty, r[6], r[7], r[8], tz, 0, 0, 0, 1];

    /// <summary>Camera-to-world in OpenGL/Blender camera axes (y up, looking along -z) to OpenCV axes: negate the y and z columns.</summary>
    public static double[] GlToCv(double[] c2w)
    {
        var m = (double[])c2w.Clone();
        for (int r = 0; r < 3; r++) { m[r * 4 + 1] = -m[r * 4 + 1]; m[r * 4 + 2] = -m[r * 4 + 2]; }
        return m;
    }

    /// <summary>Checks the 3x3 block of a camera-to-world is a rotation (loose tolerance), naming the source otherwise.</summary>
    public static double[] CheckRotation(double[] m, string source)
    {
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double dot = m[i] * m[j] + m[4 + i] * m[4 + j] + m[8 + i] * m[8 + j];
                if (Math.Abs(dot - (i == j ? 1 : 0)) > 1e-2)
                    throw new InvalidDataException($"{source}: the camera rotation is not a rotation matrix (columns {i},{j} have dot product {dot:G4}).");
            }
        double det = m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8]);
        if (det < 0)
            throw new InvalidDataException($"{source}: the camera rotation is a reflection (determinant {det:G4}), not a rotation: an axis is flipped (a left-handed convention?).");
        return m;
    }

    /// <summary>
    /// The camera for the image actually on disk: a camera file may describe another resolution (3DGS downscales
    /// large images, nerfstudio keeps images_2/ etc.), so intrinsics are scaled to the image size.
    /// </summary>
    public static Camera FitToImage(Camera camera, string imagePath)
    {
        var (w, h) = ImageIO.ReadSize(imagePath);
        if (w == camera.Width && h == camera.Height) return camera;
        // A downscaled image keeps the aspect ratio up to rounding each side to whole pixels; another ratio is another
        // image (or a crop), and stretching the intrinsics to it would train on wrong rays.
        double sx = (double)w / camera.Width, sy = (double)h / camera.Height;
        if (Math.Abs(sx - sy) > 1.0 / Math.Min(w, h) + 1.5 / Math.Min(camera.Width, camera.Height))
            throw new InvalidDataException($"{imagePath}: image is {w}x{h}, but its camera describes {camera.Width}x{camera.Height}, another aspect ratio " +
                                           "(a downscaled image keeps it); a cropped or rotated image needs its own intrinsics.");
        return camera.Resized(w, h);
    }

    /// <summary>
    /// Optional splits.json {"train": [...], "test": [...]} (frame names or file names); without it every frame is in
    /// both splits.
    /// </summary>
    public static (List<string> Train, List<string> Test) ReadSplits(string path, IReadOnlyList<string> frames)
    {
        if (!Optional(path)) return (frames.ToList(), frames.ToList());
        using var doc = ReadJson(path);
        var byName = frames.ToHashSet(StringComparer.Ordinal);
        List<string> Split(string key)
        {
            var arr = Get(doc.RootElement, key, path, "the splits object");
            if (arr.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{path}: \"{key}\" must be a list of frame names.");
            var r = new List<string>();
            foreach (var e in arr.EnumerateArray())
            {
                string s = e.ValueKind == JsonValueKind.Number ? e.GetRawText() : e.ValueKind == JsonValueKind.String ? e.GetString()! :
                    throw new InvalidDataException($"{path}: \"{key}\" entry {e.GetRawText()} is not a frame name.");
                string? f = byName.Contains(s) ? s : byName.Contains(Path.GetFileNameWithoutExtension(s)) ? Path.GetFileNameWithoutExtension(s) : null;
                if (f is null) throw new InvalidDataException($"{path}: \"{key}\" names frame '{s}', which the scene does not have.");
                if (!r.Contains(f)) r.Add(f);
            }
            return r;
        }
        var train = Split("train");
        CheckTrainSplit(path, train);
        return (train, Split("test"));
    }

    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Label files per frame name (null: the layout has no such folder).</summary>
internal sealed record FrameLabels(
    Dictionary<string, string>? Mask, Dictionary<string, string>? MaskSemantic,
    Dictionary<string, string>? GtInstance, Dictionary<string, string>? GtSemantic)
{
    public SceneView View(string name, Camera camera, string image, Distortion? distortion = null) =>
        new(name, camera, image, null, Mask?[name], GtInstance?[name], GtSemantic?[name], MaskSemantic?[name], distortion);
}
