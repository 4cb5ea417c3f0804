namespace UniCLift.Compute.Synthetic;

/// <summary>Semantic classes of the synthetic room. 0 = void (open sky, missed objects in predicted semantics).</summary>
public static class SyntheticClasses
{
    public const int Void = 0;
    public const int Floor = 1;
    public const int Wall = 2;
    /// <summary>Thing classes follow the stuff classes, one per <see cref="ShapeKind"/> (sphere = 3 ... capsule = 7).</summary>
    public static int Of(ShapeKind shape) => 3 + (int)shape;
    public static readonly int[] Stuff = [Floor, Wall];
    public static readonly int[] Things = [3, 4, 5, 6, 7];
    public static string Name(int cls) => cls switch
    {
        Void => "void",
        Floor => "floor",
        Wall => "wall",
        >= 3 and <= 7 => ((ShapeKind)(cls - 3)).ToString().ToLowerInvariant(),
        _ => $"class{cls}",
    };
}
