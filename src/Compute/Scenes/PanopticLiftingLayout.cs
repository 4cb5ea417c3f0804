namespace UniCLift.Compute.Scenes;

/// <summary>In-memory data of one view, as the synthetic generator makes it and a layout writer stores it.</summary>
public sealed record ViewData(
    string Name,
    Camera Camera,
    RgbImage Image,
    DepthMap? Depth = null,
    LabelMap? Mask = null,
    LabelMap? MaskSemantic = null,
    LabelMap? GtInstance = null,
    LabelMap? GtSemantic = null);

/// <summary>
/// The Panoptic Lifting preprocessed layout (Replica, ScanNet): color/*.jpg|png, depth/*.png (uint16 mm),
/// pose/&lt;frame&gt;.txt (4x4 camera-to-world, OpenCV axes), intrinsic/intrinsic_color.txt (4x4),
/// m2f_instance/*.png, m2f_semantics/*.png, rs_instance/*.png, rs_semantics/*.png, splits.json {train, test}.
/// CONTRACT: implemented by the IO/scene-reader work.
/// </summary>
public static class PanopticLiftingLayout
{
    /// <summary>True when <paramref name="dir"/> looks like this layout (color/ and pose/ present).</summary>
    public static bool Detect(string dir) => Directory.Exists(Path.Combine(dir, "color")) && Directory.Exists(Path.Combine(dir, "pose"));

    /// <summary>Reads the scene; throws <see cref="InvalidDataException"/> naming the missing or malformed file.</summary>
    public static Scene Read(string dir) => throw new NotImplementedException();

    /// <summary>Writes the layout (PNG colour, 16-bit depth/masks). Writes are atomic per file.</summary>
    public static void Write(string dir, IReadOnlyList<ViewData> views, IReadOnlyList<string> trainViews, IReadOnlyList<string> testViews) =>
        throw new NotImplementedException();
}
