namespace UniCLift.Compute.Scenes;

using System.Globalization;
using System.Text;
using System.Text.Json;
using UniCLift.Compute.IO;

/// <summary>
/// The Panoptic Lifting preprocessed layout (Replica, ScanNet): color/*.jpg|png, depth/*.png (uint16 mm),
/// pose/&lt;frame&gt;.txt (4x4 camera-to-world, OpenCV axes), intrinsic/intrinsic_color.txt (4x4),
/// m2f_instance/*.png, m2f_semantics/*.png, rs_instance/*.png, rs_semantics/*.png, splits.json {train, test}.
/// <para>Reading rules: frames are the colour images, sorted numerically when every name is an integer, else
/// ordinally. A pose file is required per frame. Each optional folder (depth, m2f_*, rs_*) that exists must hold a
/// file for every frame (.png, or .npy for masks). splits.json entries may be frame names or integers (matched
/// against the frame's numeric name); without splits.json every frame is in both train and test.
/// points3D.ply or point_cloud.ply in the root becomes the initial point cloud.</para>
/// </summary>
public static class PanopticLiftingLayout
{
    public const string ColorDir = "color", DepthDir = "depth", PoseDir = "pose", IntrinsicDir = "intrinsic";
    public const string MaskDir = "m2f_instance", MaskSemanticDir = "m2f_semantics", GtInstanceDir = "rs_instance", GtSemanticDir = "rs_semantics";
    public const string IntrinsicFile = "intrinsic_color.txt", SplitsFile = "splits.json";

    /// <summary>Every folder <see cref="Write"/> may write.</summary>
    public static readonly string[] Folders = [ColorDir, DepthDir, PoseDir, IntrinsicDir, MaskDir, MaskSemanticDir, GtInstanceDir, GtSemanticDir];

    private static readonly string[] ColorExtensions = [".png", ".jpg", ".jpeg"];

    /// <summary>True when <paramref name="dir"/> looks like this layout (color/ and pose/ present).</summary>
    public static bool Detect(string dir) => Directory.Exists(Path.Combine(dir, "color")) && Directory.Exists(Path.Combine(dir, "pose"));

    /// <summary>Reads the scene; throws <see cref="InvalidDataException"/> naming the missing or malformed file.</summary>
    public static Scene Read(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Scene directory not found: {dir}");
        var root = Path.GetFullPath(dir);
        var colorDir = Path.Combine(root, ColorDir);
        if (!Directory.Exists(colorDir)) throw new InvalidDataException($"{colorDir}: missing colour folder (Panoptic Lifting layout needs color/ and pose/).");

        // Frames: colour images by stem.
        var colour = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(colorDir))
        {
            if (!ColorExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())) continue;
            var stem = Path.GetFileNameWithoutExtension(f);
            if (!colour.TryAdd(stem, f))
                throw new InvalidDataException($"{colorDir}: frame '{stem}' has two colour images ({Path.GetFileName(colour[stem])} and {Path.GetFileName(f)}).");
        }
        if (colour.Count == 0) throw new InvalidDataException($"{colorDir}: no .png or .jpg colour images.");
        var frames = SortFrames(colour.Keys);

        // Image size from file headers only; every frame must agree.
        var (width, height) = ImageIO.ReadSize(colour[frames[0]]);
        foreach (var f in frames.Skip(1))
        {
            var (w, h) = ImageIO.ReadSize(colour[f]);
            if (w != width || h != height)
                throw new InvalidDataException($"{colour[f]}: image is {w}x{h}, but {Path.GetFileName(colour[frames[0]])} is {width}x{height}; all colour images must have the same size.");
        }

        var intrinsicPath = Path.Combine(root, IntrinsicDir, IntrinsicFile);
        var (fx, fy, cx, cy) = ReadIntrinsics(intrinsicPath, width, height);

        var depth = OptionalFolder(root, DepthDir, frames, [".png"]);
        var mask = OptionalFolder(root, MaskDir, frames, [".png", ".npy"]);
        var maskSem = OptionalFolder(root, MaskSemanticDir, frames, [".png", ".npy"]);
        var gtInst = OptionalFolder(root, GtInstanceDir, frames, [".png", ".npy"]);
        var gtSem = OptionalFolder(root, GtSemanticDir, frames, [".png", ".npy"]);

        var poseDir = Path.Combine(root, PoseDir);
        var views = new List<SceneView>(frames.Count);
        foreach (var f in frames)
        {
            var posePath = Path.Combine(poseDir, f + ".txt");
            if (!File.Exists(posePath)) throw new InvalidDataException($"{posePath}: missing pose file for frame '{f}'.");
            var c2w = ReadPose(posePath);
            var cam = new Camera(width, height, fx, fy, cx, cy, c2w).Validate(posePath);
            views.Add(new SceneView(f, cam, colour[f], depth?[f], mask?[f], gtInst?[f], gtSem?[f], maskSem?[f]));
        }

        var (train, test) = ReadSplits(Path.Combine(root, SplitsFile), frames);

        string? cloud = new[] { "points3D.ply", "point_cloud.ply" }.Select(n => Path.Combine(root, n)).FirstOrDefault(LayoutFiles.Optional);
        return new Scene(root, SceneLayout.PanopticLifting, views, train, test, cloud, 1000.0);
    }

    /// <summary>Integer names sort by value ("2" before "10"), anything else ordinally.</summary>
    internal static List<string> SortFrames(IEnumerable<string> names)
    {
        var list = names.ToList();
        if (list.All(n => long.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            return list.OrderBy(n => long.Parse(n, CultureInfo.InvariantCulture)).ThenBy(n => n, StringComparer.Ordinal).ToList();
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    /// <summary>Frame name to file in an optional folder; null when the folder is absent. Every frame must have a file.</summary>
    private static Dictionary<string, string>? OptionalFolder(string root, string name, List<string> frames, string[] extensions)
    {
        var dir = Path.Combine(root, name);
        if (!Directory.Exists(dir)) return null;
        var byStem = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(dir))
            if (extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                byStem.TryAdd(Path.GetFileNameWithoutExtension(f), f);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in frames)
        {
            if (!byStem.TryGetValue(f, out var file))
                throw new InvalidDataException($"{Path.Combine(dir, f + extensions[0])}: missing file for frame '{f}' ({name}/ exists, so it must cover every frame in color/).");
            result[f] = file;
        }
        return result;
    }

    private static double[] ReadNumbers(string path)
    {
        string text;
        try { text = DataFile.ReadAllText(path); }
        catch (FileNotFoundException) { throw new InvalidDataException($"{path}: file not found."); }
        catch (DirectoryNotFoundException) { throw new InvalidDataException($"{path}: file not found."); }
        var tokens = text.Split([' ', '\t', '\r', '\n', ','], StringSplitOptions.RemoveEmptyEntries);
        var values = new double[tokens.Length];
        for (int i = 0; i < tokens.Length; i++)
        {
            // numpy writes inf/-inf/nan, which .NET does not parse; ScanNet has such poses for lost tracking.
            var t = tokens[i].TrimStart('+', '-').ToLowerInvariant();
            if (t is "inf" or "nan" or "infinity")
                throw new InvalidDataException($"{path}: non-finite value '{tokens[i]}' (invalid pose or calibration).");
            if (!double.TryParse(tokens[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                throw new InvalidDataException($"{path}: '{tokens[i]}' is not a number.");
            if (!double.IsFinite(values[i]))
                throw new InvalidDataException($"{path}: non-finite value '{tokens[i]}' (invalid pose or calibration).");
        }
        return values;
    }

    /// <summary>Camera-to-world from 16 numbers (4x4) or 12 (3x4), whitespace-separated over any number of lines.</summary>
    internal static double[] ReadPose(string path)
    {
        var v = ReadNumbers(path);
        double[] m;
        if (v.Length == 16) m = v;
        else if (v.Length == 12) m = [.. v, 0, 0, 0, 1];
        else throw new InvalidDataException($"{path}: a pose needs 16 numbers (4x4) or 12 (3x4), found {v.Length}.");
        if (Math.Abs(m[12]) > 1e-6 || Math.Abs(m[13]) > 1e-6 || Math.Abs(m[14]) > 1e-6 || Math.Abs(m[15] - 1) > 1e-6)
            throw new InvalidDataException($"{path}: the last row of a camera-to-world pose must be 0 0 0 1, found {m[12]} {m[13]} {m[14]} {m[15]}.");
        return LayoutFiles.CheckRotation(m, path); // loose tolerance for numerically drifted poses
    }

    /// <summary>
    /// fx = m00, fy = m11, cx = m02, cy = m12 of a 4x4 (or 3x3) matrix. ScanNet ships intrinsic_color.txt for its
    /// 1296x968 colour camera while preprocessed scenes often hold 640x480 images. A principal point outside the
    /// image cannot belong to it, so in that case we assume the calibration was made for an image of
    /// round(2 cx) x round(2 cy) (principal point near the centre; exact for ScanNet's 647.75/483.75 -> 1296x968)
    /// and scale fx, cx by width / that width and fy, cy by height / that height.
    /// </summary>
    internal static (double Fx, double Fy, double Cx, double Cy) ReadIntrinsics(string path, int width, int height)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: missing intrinsics file (4x4 matrix with fx, fy, cx, cy).");
        var v = ReadNumbers(path);
        int n = v.Length switch
        {
            16 => 4,
            9 => 3,
            _ => throw new InvalidDataException($"{path}: intrinsics need 16 numbers (4x4) or 9 (3x3), found {v.Length}."),
        };
        double fx = v[0], fy = v[n + 1], cx = v[2], cy = v[n + 2];
        if (!(fx > 0) || !(fy > 0)) throw new InvalidDataException($"{path}: focal lengths fx={fx}, fy={fy} must be positive.");
        if (cx > width || cy > height)
        {
            double w0 = Math.Round(2 * cx), h0 = Math.Round(2 * cy);
            double sx = width / w0, sy = height / h0;
            fx *= sx; cx *= sx; fy *= sy; cy *= sy;
        }
        if (cx <= 0 || cy <= 0) throw new InvalidDataException($"{path}: principal point ({cx}, {cy}) lies outside the {width}x{height} image.");
        return (fx, fy, cx, cy);
    }

    private static (List<string> Train, List<string> Test) ReadSplits(string path, List<string> frames)
    {
        if (!LayoutFiles.Optional(path)) return (frames.ToList(), frames.ToList());
        JsonDocument doc;
        try { doc = JsonDocument.Parse(DataFile.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: expected a JSON object {{\"train\": [...], \"test\": [...]}}.");
            var byName = frames.ToHashSet(StringComparer.Ordinal);
            var byNumber = new Dictionary<long, string>();
            foreach (var f in frames)
                if (long.TryParse(f, NumberStyles.None, CultureInfo.InvariantCulture, out long k)) byNumber.TryAdd(k, f);

            List<string> Split(string key)
            {
                if (!doc.RootElement.TryGetProperty(key, out var arr))
                    throw new InvalidDataException($"{path}: no \"{key}\" list.");
                if (arr.ValueKind != JsonValueKind.Array)
                    throw new InvalidDataException($"{path}: \"{key}\" must be a list of frame names or numbers.");
                var r = new List<string>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var e in arr.EnumerateArray())
                {
                    string? frame = e.ValueKind switch
                    {
                        JsonValueKind.String => Resolve(e.GetString()!),
                        JsonValueKind.Number when e.TryGetInt64(out long k) => byNumber.GetValueOrDefault(k),
                        _ => throw new InvalidDataException($"{path}: \"{key}\" entry {e.GetRawText()} is neither a frame name nor an integer."),
                    };
                    if (frame is null)
                        throw new InvalidDataException($"{path}: \"{key}\" names frame {e.GetRawText()}, which has no image in color/.");
                    if (seen.Add(frame)) r.Add(frame);
                }
                return r;
            }

            string? Resolve(string s)
            {
                if (byName.Contains(s)) return s;
                var stem = Path.GetFileNameWithoutExtension(s); // entries like "12.jpg"
                if (byName.Contains(stem)) return stem;
                return long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out long k) ? byNumber.GetValueOrDefault(k) : null;
            }

            var train = Split("train");
            LayoutFiles.CheckTrainSplit(path, train);
            return (train, Split("test"));
        }
    }

    /// <summary>Writes the layout (PNG colour, 16-bit depth/masks). Writes are atomic per file.</summary>
    public static void Write(string dir, IReadOnlyList<ViewData> views, IReadOnlyList<string> trainViews, IReadOnlyList<string> testViews)
    {
        if (views.Count == 0) throw new ArgumentException($"{dir}: no views to write.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        var first = views[0].Camera;
        foreach (var v in views)
        {
            if (string.IsNullOrWhiteSpace(v.Name) || v.Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || v.Name != v.Name.Trim())
                throw new ArgumentException($"{dir}: view name '{v.Name}' cannot be used as a file name.");
            if (!names.Add(v.Name)) throw new ArgumentException($"{dir}: two views are named '{v.Name}'.");
            var c = v.Camera;
            if (c.Width != first.Width || c.Height != first.Height || c.Fx != first.Fx || c.Fy != first.Fy || c.Cx != first.Cx || c.Cy != first.Cy)
                throw new ArgumentException($"{dir}: view '{v.Name}' has different intrinsics or size from '{views[0].Name}'; the layout stores one intrinsic matrix.");
            CheckSize(dir, v, "image", v.Image.Width, v.Image.Height);
            if (v.Depth is { } d) CheckSize(dir, v, "depth", d.Width, d.Height);
            if (v.Mask is { } m) CheckSize(dir, v, "mask", m.Width, m.Height);
            if (v.MaskSemantic is { } ms) CheckSize(dir, v, "semantic mask", ms.Width, ms.Height);
            if (v.GtInstance is { } gi) CheckSize(dir, v, "ground-truth instance map", gi.Width, gi.Height);
            if (v.GtSemantic is { } gs) CheckSize(dir, v, "ground-truth semantic map", gs.Width, gs.Height);
        }
        foreach (var s in trainViews.Concat(testViews))
            if (!names.Contains(s)) throw new ArgumentException($"{dir}: split names view '{s}', which is not among the views.");
        // A folder is written only if every view has that data, so the reader's "covers every frame" rule holds.
        bool all(Func<ViewData, object?> f) => views.All(v => f(v) is not null);
        bool any(Func<ViewData, object?> f) => views.Any(v => f(v) is not null);
        foreach (var (label, f) in new (string, Func<ViewData, object?>)[] { ("depth", v => v.Depth), ("mask", v => v.Mask), ("semantic mask", v => v.MaskSemantic), ("ground-truth instance map", v => v.GtInstance), ("ground-truth semantic map", v => v.GtSemantic) })
            if (any(f) && !all(f)) throw new ArgumentException($"{dir}: some views have a {label} and others not; the layout needs it for every view or none.");

        var root = Path.GetFullPath(dir);
        Directory.CreateDirectory(root);
        foreach (var sub in new[] { ColorDir, PoseDir, IntrinsicDir }) Directory.CreateDirectory(Path.Combine(root, sub));

        AtomicFile.WriteAllText(Path.Combine(root, IntrinsicDir, IntrinsicFile), FormatMatrix([first.Fx, 0, first.Cx, 0, 0, first.Fy, first.Cy, 0, 0, 0, 1, 0, 0, 0, 0, 1]));

        // Encoding dominates; two workers keep a shared 2-core machine usable.
        try
        {
            Parallel.ForEach(views, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(2, Environment.ProcessorCount) }, WriteView);
        }
        catch (AggregateException ae) when (ae.InnerExceptions.Count > 0)
        {
            // Surface the first real error (e.g. a label above 65535 naming its file), not the wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ae.InnerExceptions[0]).Throw();
        }

        void WriteView(ViewData v)
        {
            ImageIO.WriteRgb(Path.Combine(root, ColorDir, v.Name + ".png"), v.Image);
            AtomicFile.WriteAllText(Path.Combine(root, PoseDir, v.Name + ".txt"), FormatMatrix(v.Camera.CameraToWorld));
            if (v.Depth is { } d) ImageIO.WriteDepth16(Path.Combine(root, DepthDir, v.Name + ".png"), d, 1000.0);
            if (v.Mask is { } m) ImageIO.WriteLabels16(Path.Combine(root, MaskDir, v.Name + ".png"), m);
            if (v.MaskSemantic is { } ms) ImageIO.WriteLabels16(Path.Combine(root, MaskSemanticDir, v.Name + ".png"), ms);
            if (v.GtInstance is { } gi) ImageIO.WriteLabels16(Path.Combine(root, GtInstanceDir, v.Name + ".png"), gi);
            if (v.GtSemantic is { } gs) ImageIO.WriteLabels16(Path.Combine(root, GtSemanticDir, v.Name + ".png"), gs);
        }

        var splits = new Dictionary<string, IReadOnlyList<string>> { ["train"] = trainViews, ["test"] = testViews };
        AtomicFile.WriteAllText(Path.Combine(root, SplitsFile), JsonSerializer.Serialize(splits, new JsonSerializerOptions { WriteIndented = true }));
    }

    private static void CheckSize(string dir, ViewData v, string what, int w, int h)
    {
        if (w != v.Camera.Width || h != v.Camera.Height)
            throw new ArgumentException($"{dir}: view '{v.Name}': {what} is {w}x{h}, camera is {v.Camera.Width}x{v.Camera.Height}.");
    }

    /// <summary>4x4 row-major, one row per line, round-trip precision.</summary>
    private static string FormatMatrix(double[] m)
    {
        var sb = new StringBuilder();
        for (int r = 0; r < 4; r++)
        {
            for (int c = 0; c < 4; c++)
            {
                if (c > 0) sb.Append(' ');
                sb.Append(m[r * 4 + c].ToString("R", CultureInfo.InvariantCulture));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
