namespace UniCLift.Compute.IO;

using UniCLift.Compute.Scenes;

/// <summary>
/// Image files in and out: PNG (own codec, <see cref="Png"/>), JPEG (<see cref="Jpeg"/>), NPY label arrays
/// (<see cref="Npy"/>). Readers recognise PNG and JPEG by their signature, not their extension. Every error names
/// the file and what was expected. Writes are atomic (<see cref="AtomicFile"/>).
/// </summary>
public static class ImageIO
{
    private enum Kind { Png, Jpeg, Other }

    private static Kind Sniff(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 8 && b[..8].SequenceEqual(Png.Signature)) return Kind.Png;
        if (b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Kind.Jpeg;
        return Kind.Other;
    }

    internal static byte[] ReadBytes(string path)
    {
        try { return DataFile.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"Image file not found: {path}", path); }
        catch (DirectoryNotFoundException) { throw new FileNotFoundException($"Image file not found: {path}", path); }
    }

    /// <summary>Width and height from the file header only (PNG IHDR or JPEG SOF), without decoding.</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        Span<byte> head = stackalloc byte[8];
        int got;
        try
        {
            using var fs = DataFile.OpenRead(path);
            got = fs.ReadAtLeast(head, 8, throwOnEndOfStream: false);
        }
        catch (FileNotFoundException) { throw new FileNotFoundException($"Image file not found: {path}", path); }
        return Sniff(head[..got]) switch
        {
            Kind.Png => Png.ReadSize(path),
            Kind.Jpeg => Jpeg.ReadSize(path),
            _ => throw new InvalidDataException($"{path}: not a PNG or JPEG image."),
        };
    }

    /// <summary>Reads a colour image (.png or .jpg/.jpeg); gray is replicated, an alpha channel composited over black.</summary>
    public static RgbImage ReadRgb(string path)
    {
        var bytes = ReadBytes(path);
        switch (Sniff(bytes))
        {
            case Kind.Jpeg:
                return Jpeg.DecodeRgb(bytes, path);
            case Kind.Png:
                var png = Png.Decode(bytes, path);
                return ToRgb(png);
            default:
                throw new InvalidDataException($"{path}: not a PNG or JPEG image.");
        }
    }

    /// <summary>8-bit RGB from any decoded PNG: gray replicated, 16-bit and 1/2/4-bit rescaled to 0..255, and an alpha
    /// channel (gray+alpha, RGBA) composited over black, as graphdeco's trainer and nerfstudio's loaders take a
    /// transparent render (black: graphdeco's default background): what is under a transparent pixel is not the scene.</summary>
    public static RgbImage ToRgb(PngImage png)
    {
        int n = png.Width * png.Height, ch = png.Channels, max = png.MaxValue;
        var rgb = new byte[n * 3];
        if (png.BitDepth == 8 && ch == 3)
        {
            png.Samples8!.CopyTo(rgb, 0);
            return new RgbImage(png.Width, png.Height, rgb);
        }
        int colourChannels = ch >= 3 ? 3 : 1;
        bool alpha = ch is 2 or 4;
        long full = (long)max * max;
        for (int i = 0; i < n; i++)
        {
            long a = alpha ? png.Sample(i * ch + ch - 1) : max;
            for (int c = 0; c < 3; c++)
            {
                long v = png.Sample(i * ch + (colourChannels == 3 ? c : 0));
                rgb[i * 3 + c] = (byte)((v * a * 255 + full / 2) / full);
            }
        }
        return new RgbImage(png.Width, png.Height, rgb);
    }

    /// <summary>Writes .png (8-bit RGB) or .jpg/.jpeg (quality 95), chosen by extension.</summary>
    public static void WriteRgb(string path, RgbImage image)
    {
        if (image.Pixels.Length != image.Width * image.Height * 3)
            throw new ArgumentException($"{path}: RGB image {image.Width}x{image.Height} needs {image.Width * image.Height * 3} bytes, has {image.Pixels.Length}.");
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".png":
                AtomicFile.Write(path, s => Png.EncodeRgb8(s, image.Width, image.Height, image.Pixels));
                break;
            case ".jpg" or ".jpeg":
                AtomicFile.Write(path, s => Jpeg.EncodeRgb(s, image, 95));
                break;
            default:
                throw new ArgumentException($"{path}: cannot tell the image format from the extension (expected .png, .jpg or .jpeg).");
        }
    }

    /// <summary>
    /// Reads a label map: single-channel 8- or 16-bit (or 1/2/4-bit) PNG, a palette PNG (the index is the label), or
    /// an integer .npy (2-D, or 3-D with a trailing 1). Colour PNGs and JPEGs are rejected: a label map has one channel.
    /// A folder or a .json is Segment Anything's automatic masks (<see cref="SamMasks"/>), sized by
    /// <paramref name="width"/> x <paramref name="height"/> (the view's camera) where SAM found no mask.
    /// </summary>
    public static LabelMap ReadLabels(string path, int? width = null, int? height = null)
    {
        if (SamMasks.IsSamOutput(path)) return SamMasks.Read(path, width, height);
        if (Path.GetExtension(path).Equals(".npy", StringComparison.OrdinalIgnoreCase))
        {
            NpyArray a;
            try { a = Npy.Read(path); }
            catch (DirectoryNotFoundException) { throw new FileNotFoundException($"Label file not found: {path}", path); }
            var s = a.Shape;
            bool ok = s.Length == 2 || (s.Length == 3 && s[2] == 1);
            if (!ok || s[0] == 0 || s[1] == 0)
                throw new InvalidDataException($"{path}: a label array must have shape (H, W) or (H, W, 1), got ({string.Join(", ", s)}).");
            // Float arrays are accepted when every value is a whole number (ToInt32 names the first that is not).
            return new LabelMap(s[1], s[0], a.ToInt32());
        }

        var bytes = ReadBytes(path);
        var kind = Sniff(bytes);
        if (kind == Kind.Jpeg) throw new InvalidDataException($"{path}: a label map must be a single-channel PNG or .npy, not a JPEG (lossy compression corrupts labels).");
        if (kind != Kind.Png) throw new InvalidDataException($"{path}: a label map must be a single-channel PNG or an .npy array.");
        var png = Png.Decode(bytes, path, expandPalette: false);
        if (png.Channels != 1)
            throw new InvalidDataException($"{path}: a label map must be a single-channel PNG, this one has {png.Channels} channels ({png.ColorType}).");
        int n = png.Width * png.Height;
        var labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = png.Sample(i);
        return new LabelMap(png.Width, png.Height, labels);
    }

    /// <summary>Writes a 16-bit single-channel PNG; labels must be in 0..65535.</summary>
    public static void WriteLabels16(string path, LabelMap labels)
    {
        int n = labels.Width * labels.Height;
        if (labels.Labels.Length != n)
            throw new ArgumentException($"{path}: label map {labels.Width}x{labels.Height} needs {n} values, has {labels.Labels.Length}.");
        var s = new ushort[n];
        for (int i = 0; i < n; i++)
        {
            int v = labels.Labels[i];
            if ((uint)v > ushort.MaxValue)
                throw new ArgumentException($"{path}: label {v} at pixel ({i % labels.Width}, {i / labels.Width}) is outside 0..65535 and cannot be stored in a 16-bit PNG.");
            s[i] = (ushort)v;
        }
        AtomicFile.Write(path, st => Png.EncodeGray16(st, labels.Width, labels.Height, s));
    }

    /// <summary>Reads a single-channel (16-bit, or 8-bit) depth PNG; value / unitsPerMeter = metres; 0 = no depth.</summary>
    public static DepthMap ReadDepth(string path, double unitsPerMeter)
    {
        if (!(unitsPerMeter > 0) || !double.IsFinite(unitsPerMeter)) throw new ArgumentException($"{path}: depth units per metre must be positive, got {unitsPerMeter}.");
        var bytes = ReadBytes(path);
        if (Sniff(bytes) != Kind.Png) throw new InvalidDataException($"{path}: a depth map must be a single-channel 16-bit PNG.");
        var png = Png.Decode(bytes, path);
        if (png.Channels != 1)
            throw new InvalidDataException($"{path}: a depth map must be a single-channel PNG, this one has {png.Channels} channels ({png.ColorType}).");
        int n = png.Width * png.Height;
        var m = new float[n];
        double inv = 1.0 / unitsPerMeter;
        for (int i = 0; i < n; i++) m[i] = (float)(png.Sample(i) * inv);
        return new DepthMap(png.Width, png.Height, m);
    }

    /// <summary>
    /// Writes depth as a 16-bit PNG in the given units per metre (Panoptic Lifting: 1000, i.e. mm). Zero, negative and
    /// non-finite depths are stored as 0 (no depth); a depth beyond 65535 units is an error.
    /// </summary>
    public static void WriteDepth16(string path, DepthMap depth, double unitsPerMeter)
    {
        if (!(unitsPerMeter > 0) || !double.IsFinite(unitsPerMeter)) throw new ArgumentException($"{path}: depth units per metre must be positive, got {unitsPerMeter}.");
        int n = depth.Width * depth.Height;
        if (depth.Meters.Length != n)
            throw new ArgumentException($"{path}: depth map {depth.Width}x{depth.Height} needs {n} values, has {depth.Meters.Length}.");
        var s = new ushort[n];
        for (int i = 0; i < n; i++)
        {
            float d = depth.Meters[i];
            if (!float.IsFinite(d) || d <= 0) continue;
            double u = Math.Round(d * unitsPerMeter);
            if (u > ushort.MaxValue)
                throw new ArgumentException($"{path}: depth {d} m at pixel ({i % depth.Width}, {i / depth.Width}) exceeds the 16-bit range at {unitsPerMeter} units per metre (max {ushort.MaxValue / unitsPerMeter} m).");
            s[i] = (ushort)u;
        }
        AtomicFile.Write(path, st => Png.EncodeGray16(st, depth.Width, depth.Height, s));
    }
}
