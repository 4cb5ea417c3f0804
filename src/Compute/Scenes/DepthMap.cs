namespace UniCLift.Compute.Scenes;

/// <summary>Depth along the optical axis in metres, row-major; 0 = no depth.</summary>
public sealed record DepthMap(int Width, int Height, float[] Meters)
{
    public DepthMap(int width, int height) : this(width, height, new float[width * height]) { }
}
