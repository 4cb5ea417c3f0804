namespace UniCLift.Compute.Synthetic;

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
