namespace UniCLift.Compute.Scenes;

/// <summary>A layout reader: how to recognise a scene directory and how to read it; <see cref="ReadWithMasks"/> reads it with
/// its input masks from a given folder, for the layouts that search for their masks (null: the layout's mask folder is
/// fixed).</summary>
public sealed record SceneLayoutReader(SceneLayout Layout, Func<string, bool> Detect, Func<string, Scene> Read,
    Func<string, string, Scene>? ReadWithMasks = null);

/// <summary>What <c>uniclift info</c> shows about a scene. Mask and ground-truth statistics come from a sample of views.</summary>
public sealed record SceneSummary(
    string Root,
    SceneLayout Layout,
    int ViewCount,
    int Width,
    int Height,
    bool UniformSize,
    int TrainCount,
    int TestCount,
    bool HasDepth,
    bool HasMasks,
    bool HasMaskSemantics,
    bool HasGroundTruth,
    string? PointCloudPath,
    int SampledViews,
    double MeanSegmentsPerView,
    int MaxMaskId,
    double UnlabelledFraction,
    double IgnoredFraction,
    double? MeanGtInstancesPerView,
    string? Model = null,
    string? Distortion = null,
    string? SamMasks = null);

/// <summary>Recognises scene layouts and summarises scenes.</summary>
public static class SceneInspector
{
    /// <summary>
    /// Known layouts, tried in order; the first whose Detect accepts the directory wins. More specific layouts go
    /// first (add new readers here).
    /// </summary>
    public static IReadOnlyList<SceneLayoutReader> Readers { get; } =
    [
        new(SceneLayout.PanopticLifting, PanopticLiftingLayout.Detect, PanopticLiftingLayout.Read),
        new(SceneLayout.MessyRooms, MessyRoomsLayout.Detect, MessyRoomsLayout.Read),
        new(SceneLayout.Graphdeco, GraphdecoLayout.Detect, GraphdecoLayout.Read, (d, m) => GraphdecoLayout.Read(d, null, m)),
        new(SceneLayout.Nerfstudio, NerfstudioLayout.Detect, NerfstudioLayout.Read, NerfstudioLayout.Read),
        new(SceneLayout.Colmap, ColmapLayout.Detect, ColmapLayout.Read, ColmapLayout.Read),
    ];

    public static SceneLayout? DetectLayout(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Scene directory not found: {dir}");
        return Readers.FirstOrDefault(r => r.Detect(dir))?.Layout;
    }

    /// <summary>Detects the layout and reads the scene; an unrecognised directory is an InvalidDataException naming it.</summary>
    public static Scene Read(string dir) => Read(dir, null);

    /// <summary>
    /// <see cref="Read(string)"/>, with the input masks from <paramref name="masks"/> when given: a folder (relative to
    /// the scene directory, or absolute) of label maps or Segment Anything's output, named by the images' stems, in place
    /// of the layout's own search (3DGS output, nerfstudio, COLMAP). Panoptic Lifting and Messy Rooms scenes keep their
    /// masks in fixed folders; asking them for another is an error that says so.
    /// </summary>
    public static Scene Read(string dir, string? masks)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Scene directory not found: {dir}");
        var reader = Readers.FirstOrDefault(r => r.Detect(dir))
            ?? throw new InvalidDataException($"{dir}: not a recognised scene layout (known: {string.Join(", ", Readers.Select(r => r.Layout))}; " +
                "Panoptic Lifting: color/ + pose/; Messy Rooms: metadata.json + color/; 3DGS output: cameras.json + point_cloud/; " +
                "nerfstudio: transforms.json; COLMAP: cameras.txt + images.txt or cameras.bin + images.bin in sparse/0/, sparse/ or the folder).");
        if (masks is null) return reader.Read(dir);
        if (reader.ReadWithMasks is null)
            throw new ArgumentException($"{dir}: a {reader.Layout} scene reads its masks from its own folder; a mask folder ('{masks}') can be given " +
                "for 3DGS output, nerfstudio and COLMAP scenes only.");
        return reader.ReadWithMasks(dir, MaskFolder(dir, masks));
    }

    /// <summary>Folders the scene in <paramref name="dir"/> names by path outside itself, which a confined reader checks
    /// as named, whether or not they exist: a 3DGS output's source_path (cfg_args). Its files are found by reading it.</summary>
    public static IReadOnlyList<string> NamedFolders(string dir) =>
        GraphdecoLayout.NamedSourcePath(dir) is { } source ? [source] : [];

    /// <summary>The folders the layouts look for instance masks in (a scene's own, relative to it).</summary>
    public static IReadOnlyList<string> MaskFolderNames => LayoutFiles.MaskFolders;

    /// <summary>
    /// One line for a user when the scene's JPEG images declare an EXIF orientation other than "as stored" (phones and
    /// cameras held upright write 6 or 8), or null. UniCLift, as COLMAP, nerfstudio and the 3DGS trainers, uses the pixels
    /// as stored and ignores the tag; a mask tool that applies it (OpenCV's imread, detectron2's read_image: Segment
    /// Anything's and Mask2Former's scripts) makes masks rotated against their images: a 90 degree turn is refused for its
    /// size, a 180 degree one trains on wrong masks without an error.
    /// </summary>
    public static string? OrientationNote(Scene scene)
    {
        var rotated = new List<(string File, int Orientation)>();
        foreach (var v in scene.Views)
        {
            if (Path.GetExtension(v.ImagePath).ToLowerInvariant() is not (".jpg" or ".jpeg")) continue;
            int? o;
            try { o = IO.Jpeg.ReadExifOrientation(v.ImagePath); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; } // the run reports it
            if (o is { } t && t != 1) rotated.Add((Path.GetFileName(v.ImagePath), t));
        }
        if (rotated.Count == 0) return null;
        var (file, orientation) = rotated[0];
        return $"{rotated.Count} of {scene.Views.Count} images declare an EXIF orientation other than 1 ('{file}': {orientation}, {OrientationName(orientation)}): " +
               "their pixels are used as stored, as COLMAP, nerfstudio and 3DGS trainers do; masks made by a tool that applies the tag " +
               "(OpenCV's imread, detectron2's read_image) are turned against their images and must be turned back";
    }

    private static string OrientationName(int orientation) => orientation switch
    {
        2 => "mirrored", 3 => "to be turned 180 degrees", 4 => "mirrored upside down", 5 => "mirrored and turned",
        6 => "to be turned 90 degrees clockwise", 7 => "mirrored and turned", 8 => "to be turned 90 degrees anticlockwise", _ => "as stored",
    };

    /// <summary>The mask folder <paramref name="masks"/> names for the scene <paramref name="dir"/>: relative to it, or absolute.</summary>
    public static string MaskFolder(string dir, string masks)
    {
        if (string.IsNullOrWhiteSpace(masks)) throw new ArgumentException("The mask folder is empty.", nameof(masks));
        return Path.GetFullPath(Path.IsPathRooted(masks) ? masks : Path.Combine(dir, masks));
    }

    public static SceneSummary Inspect(string dir, int sampleViews = 8, string? masks = null) => Summarize(Read(dir, masks), sampleViews);

    /// <summary>Summary of a scene; loads the images, masks and ground truth of up to <paramref name="sampleViews"/> evenly spaced views.</summary>
    public static SceneSummary Summarize(Scene scene, int sampleViews = 8)
    {
        var views = scene.Views;
        if (views.Count == 0) throw new InvalidDataException($"{scene.Root}: the scene has no views.");
        var c0 = views[0].Camera;
        bool uniform = views.All(v => v.Camera.Width == c0.Width && v.Camera.Height == c0.Height);
        int k = Math.Clamp(sampleViews, 1, views.Count);
        var sample = Enumerable.Range(0, k).Select(i => views[(int)((long)i * views.Count / k)]).Distinct().ToList();

        double segSum = 0, unlabelled = 0, ignored = 0, pixels = 0;
        int maxId = 0, masked = 0;
        double gtSum = 0;
        int gtViews = 0;
        foreach (var v in sample)
        {
            // Decoded, not only its header read: a truncated or corrupt image is found here, not by segment's load.
            SceneData.LoadImage(scene, v);
            if (v.MaskPath is not null)
            {
                var m = SceneData.LoadMask(scene, v);
                var ids = new HashSet<int>();
                foreach (var id in m.Labels)
                {
                    if (id > 0) ids.Add(id);
                    else if (id == 0) unlabelled++;
                    else ignored++; // negative ids: pixels that neither loss sees (ClusterLoss, BoundaryMiner)
                    if (id > maxId) maxId = id;
                }
                pixels += m.Labels.Length;
                segSum += ids.Count;
                masked++;
            }
            if (v.GtInstancePath is not null)
            {
                var g = SceneData.LoadGtInstance(scene, v);
                gtSum += g.Labels.Where(id => id != 0).Distinct().Count();
                gtViews++;
            }
        }

        return new SceneSummary(
            scene.Root, scene.Layout, views.Count, c0.Width, c0.Height, uniform,
            scene.TrainViews.Count, scene.TestViews.Count,
            views.All(v => v.DepthPath is not null), scene.HasMasks, views.All(v => v.MaskSemanticPath is not null), scene.HasGroundTruth,
            scene.PointCloudPath, sample.Count,
            masked > 0 ? segSum / masked : 0, maxId, pixels > 0 ? unlabelled / pixels : 0, pixels > 0 ? ignored / pixels : 0,
            gtViews > 0 ? gtSum / gtViews : null,
            ModelSource(scene), DescribeDistortion(scene), DescribeSamMasks(scene));
    }

    /// <summary>How many views' masks are Segment Anything's automatic masks (<see cref="IO.SamMasks"/>), or null for none.</summary>
    private static string? DescribeSamMasks(Scene scene)
    {
        var sam = scene.Views.Select(v => v.MaskPath).OfType<string>().Where(IO.SamMasks.IsSamOutput).ToList();
        if (sam.Count == 0) return null;
        int folders = sam.Count(Directory.Exists), json = sam.Count - folders;
        var forms = string.Join(" and ", new[] { folders > 0 ? $"{folders} as folders of PNGs" : null, json > 0 ? $"{json} as RLE JSON" : null }.OfType<string>());
        return $"{sam.Count} of {scene.Views.Count} views are Segment Anything's automatic masks ({forms}), painted smallest on top";
    }

    /// <summary>For a COLMAP scene, which model was read, e.g. "sparse/0 (binary: cameras.bin, images.bin)"; else null.</summary>
    private static string? ModelSource(Scene scene)
    {
        if (scene.Layout != SceneLayout.Colmap || ColmapLayout.FindModel(scene.Root) is not { } m) return null;
        var rel = Path.GetRelativePath(scene.Root, m.Folder).Replace('\\', '/');
        return $"{(rel == "." ? "the scene folder" : rel)} ({(m.Binary ? "binary: cameras.bin, images.bin" : "text: cameras.txt, images.txt")})";
    }

    /// <summary>
    /// What the reader did about lens distortion, e.g. "OPENCV k1=-0.1 k2=0.01 on 40 views, undistorted to pinhole at load";
    /// null when no view has distortion.
    /// </summary>
    public static string? DescribeDistortion(Scene scene)
    {
        var groups = scene.Views.Where(v => v.Distortion is not null).GroupBy(v => v.Distortion!).ToList();
        if (groups.Count == 0) return null;
        int total = groups.Sum(g => g.Count());
        string what = groups.Count <= 3
            ? string.Join("; ", groups.Select(g => $"{g.Key.Describe()} on {g.Count()} view{(g.Count() == 1 ? "" : "s")}"))
            : $"{string.Join(", ", groups.Select(g => g.Key.Model).Distinct())} ({groups.Count} lenses) on {total} views";
        int pinhole = scene.Views.Count - total;
        return what + (pinhole > 0 ? $" ({pinhole} pinhole)" : "") + ", undistorted to pinhole at load";
    }
}
