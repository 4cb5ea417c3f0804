namespace UniCLift.Compute.IO;

/// <summary>PNG colour types as stored in IHDR.</summary>
public enum PngColorType : byte { Gray = 0, Rgb = 2, Palette = 3, GrayAlpha = 4, Rgba = 6 }
