namespace UniCLift.Compute.Synthetic;

using UniCLift.Compute.Scenes;

/// <summary>Object shapes; each is its own semantic ("thing") class. The first five are the basic convex set; pole and
/// slab are thin, table (a top on four legs) and L-block are concave and made of several parts.</summary>
public enum ShapeKind { Sphere, Box, Cylinder, Cone, Capsule, Pole, Slab, Table, LBlock }

/// <summary>Semantic classes of the synthetic room. 0 = void (open sky, missed objects in predicted semantics).</summary>
public static class SyntheticClasses
{
    public const int Void = 0;
    public const int Floor = 1;
    public const int Wall = 2;
    /// <summary>Thing classes follow the stuff classes, one per <see cref="ShapeKind"/> (sphere = 3 ... capsule = 7, pole = 8 ... L-block = 11).</summary>
    public static int Of(ShapeKind shape) => 3 + (int)shape;
    public static readonly int[] Stuff = [Floor, Wall];
    /// <summary>The thing classes of the basic shapes (what Mask2Former-style spurious detections are drawn from).</summary>
    public static readonly int[] Things = [3, 4, 5, 6, 7];
    private static readonly int LastThing = 3 + Enum.GetValues<ShapeKind>().Length - 1;
    public static string Name(int cls) => cls switch
    {
        Void => "void",
        Floor => "floor",
        Wall => "wall",
        _ when cls >= 3 && cls <= LastThing => ((ShapeKind)(cls - 3)).ToString().ToLowerInvariant(),
        _ => $"class{cls}",
    };
}

/// <summary>
/// One object standing on the floor (z = 0, z up) or, when <paramref name="StandsOn"/> is not 0, on top of that
/// object. Centre is the centre of its bounding box (world metres); Size is the full bounding-box extent in its own
/// frame (x, y, z); Yaw rotates it about the vertical axis (radians). Radius/height per shape: sphere radius =
/// Size.X/2; cylinder, cone, capsule, pole radius = Size.X/2, height = Size.Z.
/// </summary>
public sealed record SyntheticObject(
    int InstanceId,
    ShapeKind Shape,
    int SemanticClass,
    double[] Centre,
    double[] Size,
    double Yaw,
    byte[] Colour,
    string Texture,
    int StandsOn = 0);

/// <summary>What the mask corruption did in one view (in ground-truth instance ids).</summary>
public sealed record ViewCorruption(
    string View,
    IReadOnlyList<int[]> Merged,
    IReadOnlyList<int> Split,
    IReadOnlyList<int> Missed,
    int Spurious,
    int Dropped,
    int AdjacentPairs,
    int BackgroundPieces = 0)
{
    public static ViewCorruption Empty(string view) => new(view, [], [], [], 0, 0, 0);
}

/// <summary>
/// A generated scene in memory. Points: [N*3] world xyz, PointColors: [N*3] RGB. Views carry the image, depth
/// (along the optical axis, metres), predicted mask (ids permuted per view), predicted semantics, and ground truth.
/// </summary>
public sealed record SyntheticScene(
    SyntheticSceneOptions Options,
    IReadOnlyList<ViewData> Views,
    float[] Points,
    byte[] PointColors,
    IReadOnlyList<string> TrainViews,
    IReadOnlyList<string> TestViews,
    IReadOnlyList<SyntheticObject> Objects,
    IReadOnlyList<(int A, int B)> TouchingPairs,
    IReadOnlyList<ViewCorruption> Corruption,
    double[] LightPosition);
