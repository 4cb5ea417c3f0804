namespace UniCLift.Compute.IO;

using UniCLift.Compute.Scenes;

/// <summary>
/// Image files in and out. CONTRACT (implemented by the IO work): PNG (own codec on System.IO.Compression:
/// 8/16-bit gray, RGB, RGBA, palette; Adam7), JPEG (StbImageSharp decode, StbImageWriteSharp encode), NPY label arrays.
/// Every error names the file and what was expected. Writes are atomic (<see cref="AtomicFile"/>).
/// </summary>
public static class ImageIO
{
    /// <summary>Reads a colour image (.png or .jpg/.jpeg); gray or RGBA is converted to RGB.</summary>
    public static RgbImage ReadRgb(string path) => throw new NotImplementedException();

    /// <summary>Writes .png (8-bit RGB) or .jpg (quality 95), chosen by extension.</summary>
    public static void WriteRgb(string path, RgbImage image) => throw new NotImplementedException();

    /// <summary>Reads a label map: single-channel 8- or 16-bit PNG, or an integer .npy (2-D, or 3-D with a trailing 1).</summary>
    public static LabelMap ReadLabels(string path) => throw new NotImplementedException();

    /// <summary>Writes a 16-bit single-channel PNG; labels must be in 0..65535.</summary>
    public static void WriteLabels16(string path, LabelMap labels) => throw new NotImplementedException();

    /// <summary>Reads a 16-bit depth PNG; value / unitsPerMeter = metres; 0 = no depth.</summary>
    public static DepthMap ReadDepth(string path, double unitsPerMeter) => throw new NotImplementedException();

    /// <summary>Writes depth as a 16-bit PNG in the given units per metre (Panoptic Lifting: 1000, i.e. mm).</summary>
    public static void WriteDepth16(string path, DepthMap depth, double unitsPerMeter) => throw new NotImplementedException();
}
