namespace UniCLift.Compute.Scenes;

/// <summary>8-bit RGB image, row-major, interleaved: Pixels[(y * Width + x) * 3 + c].</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    public RgbImage(int width, int height) : this(width, height, new byte[width * height * 3]) { }
}

/// <summary>Integer label map (instance or semantic ids), row-major: Labels[y * Width + x]. 0 = background / void.</summary>
public sealed record LabelMap(int Width, int Height, int[] Labels)
{
    public LabelMap(int width, int height) : this(width, height, new int[width * height]) { }
}

/// <summary>Depth along the optical axis in metres, row-major; 0 = no depth.</summary>
public sealed record DepthMap(int Width, int Height, float[] Meters)
{
    public DepthMap(int width, int height) : this(width, height, new float[width * height]) { }
}
