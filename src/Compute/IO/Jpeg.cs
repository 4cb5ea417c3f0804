namespace UniCLift.Compute.IO;

using System.Buffers.Binary;
using UniCLift.Compute.Scenes;

/// <summary>JPEG through StbImageSharp (decode) and StbImageWriteSharp (encode), plus a header-only size reader.</summary>
public static class Jpeg
{
    /// <summary>Decodes any baseline/progressive JPEG to 8-bit RGB.</summary>
    public static RgbImage DecodeRgb(byte[] bytes, string source)
    {
        // stb_image decodes a file cut off in its image data without complaint, as noise where the rest would be.
        if (!EndsAfterScan(bytes))
            throw new InvalidDataException($"{source}: truncated JPEG (no end-of-image marker after its image data; the file has {bytes.Length} bytes).");
        StbImageSharp.ImageResult r;
        try { r = StbImageSharp.ImageResult.FromMemory(bytes, StbImageSharp.ColorComponents.RedGreenBlue); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"{source}: cannot decode JPEG ({e.Message}).", e);
        }
        if (r.Data is null || r.Data.Length != r.Width * r.Height * 3)
            throw new InvalidDataException($"{source}: JPEG decoder returned no pixel data.");
        return new RgbImage(r.Width, r.Height, r.Data);
    }

    /// <summary>Whether an end-of-image marker (FF D9) follows the first start-of-scan: the segments before it are walked by
    /// their lengths (an EXIF thumbnail's own markers lie inside one), and in the entropy-coded data FF is always
    /// followed by 00 or a restart marker, so FF D9 there is the end. Data after it (padding, a camera's extras) is
    /// allowed. A file whose structure cannot be walked is left to the decoder to refuse.</summary>
    internal static bool EndsAfterScan(ReadOnlySpan<byte> b)
    {
        if (b.Length < 4 || b[0] != 0xFF || b[1] != 0xD8) return true;
        int p = 2;
        while (p + 1 < b.Length)
        {
            if (b[p] != 0xFF) return true; // not a marker where one belongs: the decoder says what is wrong
            while (p < b.Length && b[p] == 0xFF) p++; // fill bytes
            if (p >= b.Length) return false;
            int marker = b[p++];
            if (marker == 0xD9) return false; // the end before any image data
            if (marker is >= 0xD0 and <= 0xD7 || marker == 0x01) continue; // no length
            if (p + 1 >= b.Length) return false;
            int len = (b[p] << 8) | b[p + 1];
            if (len < 2) return true;
            if (marker == 0xDA) return b[Math.Min(b.Length, p + len)..].IndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]) >= 0;
            p += len;
        }
        return false;
    }

    /// <summary>Encodes 8-bit RGB at the given quality (1..100).</summary>
    public static void EncodeRgb(Stream output, RgbImage image, int quality = 95)
    {
        if (image.Pixels.Length != image.Width * image.Height * 3)
            throw new ArgumentException($"RGB image {image.Width}x{image.Height} needs {image.Width * image.Height * 3} bytes, has {image.Pixels.Length}.");
        var writer = new StbImageWriteSharp.ImageWriter();
        writer.WriteJpg(image.Pixels, image.Width, image.Height, StbImageWriteSharp.ColorComponents.RedGreenBlue, output, quality);
    }

    /// <summary>The EXIF orientation (1..8; 1 = as stored) the JPEG file at <paramref name="path"/> declares in its APP1
    /// segment, or null when it declares none (or is no JPEG, or its EXIF cannot be walked). Reads the header only.</summary>
    public static int? ReadExifOrientation(string path)
    {
        using var fs = DataFile.OpenRead(path);
        var head = new byte[Math.Min(fs.Length, 80 * 1024)]; // APP1 holds at most 64 KB and comes first (after JFIF's APP0)
        int n = fs.ReadAtLeast(head, head.Length, false);
        return ExifOrientation(head.AsSpan(0, n));
    }

    /// <summary>The EXIF orientation tag (0x0112) of IFD0 in the first APP1 "Exif" segment before the image data, or null.</summary>
    internal static int? ExifOrientation(ReadOnlySpan<byte> b)
    {
        if (b.Length < 4 || b[0] != 0xFF || b[1] != 0xD8) return null;
        int p = 2;
        while (p + 3 < b.Length && b[p] == 0xFF)
        {
            int marker = b[p + 1];
            if (marker == 0xD9 || marker == 0xDA) return null;
            if (marker == 0xFF) { p++; continue; } // fill byte
            if (marker is >= 0xD0 and <= 0xD7 || marker == 0x01) { p += 2; continue; }
            int len = (b[p + 2] << 8) | b[p + 3];
            if (len < 2) return null;
            int body = p + 4, end = Math.Min(b.Length, p + 2 + len);
            if (marker == 0xE1 && end - body >= 14 && b.Slice(body, 6).SequenceEqual("Exif\0\0"u8))
                return TiffOrientation(b[(body + 6)..end]);
            p += 2 + len;
        }
        return null;
    }

    private static int? TiffOrientation(ReadOnlySpan<byte> t)
    {
        if (t.Length < 8) return null;
        bool little = t[0] == 'I' && t[1] == 'I';
        if (!little && !(t[0] == 'M' && t[1] == 'M')) return null;
        long ifd = U32(t, 4, little);
        if (ifd < 8 || ifd + 2 > t.Length) return null;
        int count = U16(t, (int)ifd, little);
        for (int e = 0; e < count; e++)
        {
            int at = (int)ifd + 2 + 12 * e;
            if (at + 12 > t.Length) return null;
            if (U16(t, at, little) != 0x0112) continue;
            int value = U16(t, at + 8, little); // a SHORT, left-justified in the entry's value field
            return value is >= 1 and <= 8 ? value : null;
        }
        return null;
    }

    private static int U16(ReadOnlySpan<byte> t, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(t[at..]) : BinaryPrimitives.ReadUInt16BigEndian(t[at..]);
    private static long U32(ReadOnlySpan<byte> t, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(t[at..]) : BinaryPrimitives.ReadUInt32BigEndian(t[at..]);

    /// <summary>Reads width and height from the first SOF marker without decoding the image.</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        using var fs = DataFile.OpenRead(path);
        Span<byte> b = stackalloc byte[8];
        if (fs.ReadAtLeast(b[..2], 2, false) < 2 || b[0] != 0xFF || b[1] != 0xD8)
            throw new InvalidDataException($"{path}: not a JPEG file (no SOI marker).");
        while (true)
        {
            // Find the next marker (skip fill bytes 0xFF).
            int c = fs.ReadByte();
            while (c != 0xFF && c >= 0) c = fs.ReadByte();
            while (c == 0xFF) c = fs.ReadByte();
            if (c < 0) break;
            int marker = c;
            if (marker == 0xD8 || marker is >= 0xD0 and <= 0xD7 || marker == 0x01) continue; // no length
            if (marker == 0xD9 || marker == 0xDA) break; // EOI or start of scan before any SOF
            if (fs.ReadAtLeast(b[..2], 2, false) < 2) break;
            int len = BinaryPrimitives.ReadUInt16BigEndian(b);
            if (len < 2) throw new InvalidDataException($"{path}: corrupt JPEG segment length {len}.");
            bool sof = marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC);
            if (sof)
            {
                if (fs.ReadAtLeast(b[..5], 5, false) < 5) break;
                int h = BinaryPrimitives.ReadUInt16BigEndian(b[1..]), w = BinaryPrimitives.ReadUInt16BigEndian(b[3..]);
                if (w == 0 || h == 0) throw new InvalidDataException($"{path}: JPEG frame header gives size {w}x{h}.");
                return (w, h);
            }
            fs.Seek(len - 2, SeekOrigin.Current);
        }
        throw new InvalidDataException($"{path}: truncated or corrupt JPEG (no frame header with the image size).");
    }
}
