namespace UniCLift.Compute.IO;

/// <summary>
/// A decoded PNG with its samples at full precision, interleaved, row-major: sample (x, y, c) is at
/// (y * Width + x) * Channels + c. <see cref="Samples16"/> is set for 16-bit images, <see cref="Samples8"/> otherwise.
/// Bit depths 1/2/4 keep their raw values (0..2^BitDepth-1, not rescaled), so a 4-bit label map reads as labels.
/// A palette image is expanded to 8-bit RGB (Channels 3, BitDepth 8) unless decoded with expandPalette: false, in
/// which case Samples8 holds the palette indices (Channels 1, BitDepth the index depth).
/// </summary>
public sealed record PngImage(int Width, int Height, int Channels, int BitDepth, PngColorType ColorType, byte[]? Samples8, ushort[]? Samples16)
{
    /// <summary>Sample value at flat index i, whatever the storage.</summary>
    public int Sample(int i) => Samples16 is not null ? Samples16[i] : Samples8![i];

    /// <summary>Largest value a sample can take (255 for 8-bit, 65535 for 16-bit, 15 for 4-bit, ...).</summary>
    public int MaxValue => (1 << BitDepth) - 1;
}
