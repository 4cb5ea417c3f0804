namespace UniCLift.Compute.Scenes;

/// <summary>8-bit RGB image, row-major, interleaved: Pixels[(y * Width + x) * 3 + c].</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels)
{
    public RgbImage(int width, int height) : this(width, height, new byte[width * height * 3]) { }
}
