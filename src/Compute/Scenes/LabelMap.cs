namespace UniCLift.Compute.Scenes;

/// <summary>Integer label map (instance or semantic ids), row-major: Labels[y * Width + x]. 0 = background / void.</summary>
public sealed record LabelMap(int Width, int Height, int[] Labels)
{
    public LabelMap(int width, int height) : this(width, height, new int[width * height]) { }
}
