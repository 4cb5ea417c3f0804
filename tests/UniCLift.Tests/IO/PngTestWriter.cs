namespace UniCLift.Tests.IO;

using System.Buffers.Binary;
using System.IO.Compression;
using UniCLift.Compute.IO;

/// <summary>
/// Test-only PNG writer that can produce what our encoder never does: any colour type and bit depth, a chosen
/// filter per row, Adam7 interlacing, a palette and image data split over several IDAT chunks. Filtering here is
/// written independently of the codec.
/// </summary>
internal static class PngTestWriter
{
    private static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7 =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    /// <param name="samples">raw sample values, (y * w + x) * channels + c</param>
    /// <param name="filters">filter types used row after row, cycling</param>
    public static byte[] Make(int w, int h, PngColorType ct, int depth, int[] samples, bool interlace, int[] filters,
                              byte[]? palette = null, int idatChunk = 7)
    {
        int ch = ct switch { PngColorType.Gray or PngColorType.Palette => 1, PngColorType.GrayAlpha => 2, PngColorType.Rgb => 3, _ => 4 };
        int bpp = Math.Max(1, ch * depth / 8);
        var raw = new MemoryStream();
        int rowCounter = 0;
        var passes = interlace ? Adam7 : [(0, 0, 1, 1)];
        foreach (var p in passes)
        {
            int pw = w <= p.X0 ? 0 : (w - p.X0 + p.Dx - 1) / p.Dx;
            int ph = h <= p.Y0 ? 0 : (h - p.Y0 + p.Dy - 1) / p.Dy;
            if (pw == 0 || ph == 0) continue;
            int rb = (pw * ch * depth + 7) / 8;
            var prev = new byte[rb];
            for (int j = 0; j < ph; j++)
            {
                var row = new byte[rb];
                int bit = 0;
                for (int i = 0; i < pw; i++)
                    for (int c = 0; c < ch; c++)
                    {
                        int v = samples[((p.Y0 + j * p.Dy) * w + p.X0 + i * p.Dx) * ch + c];
                        if (depth == 16) { row[bit / 8] = (byte)(v >> 8); row[bit / 8 + 1] = (byte)v; }
                        else if (depth == 8) row[bit / 8] = (byte)v;
                        else row[bit / 8] |= (byte)(v << (8 - depth - bit % 8));
                        bit += depth;
                    }
                int ft = filters[rowCounter++ % filters.Length];
                raw.WriteByte((byte)ft);
                for (int i = 0; i < rb; i++)
                {
                    int a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                    int pred = ft switch
                    {
                        0 => 0,
                        1 => a,
                        2 => b,
                        3 => (a + b) / 2,
                        _ => PaethRef(a, b, c),
                    };
                    raw.WriteByte((byte)(row[i] - pred));
                }
                prev = row;
            }
        }
        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true)) zs.Write(raw.ToArray());
        var data = z.ToArray();

        var o = new MemoryStream();
        o.Write(Png.Signature);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)w);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)h);
        ihdr[8] = (byte)depth;
        ihdr[9] = (byte)ct;
        ihdr[12] = (byte)(interlace ? 1 : 0);
        Png.WriteChunk(o, "IHDR", ihdr);
        Png.WriteChunk(o, "tEXt", "Comment\0test fixture"u8);
        if (palette is not null)
        {
            Png.WriteChunk(o, "PLTE", palette);
            Png.WriteChunk(o, "tRNS", new byte[] { 0, 128 }); // ignored by the decoder
        }
        for (int i = 0; i < data.Length; i += idatChunk)
            Png.WriteChunk(o, "IDAT", data.AsSpan(i, Math.Min(idatChunk, data.Length - i)));
        Png.WriteChunk(o, "IEND", ReadOnlySpan<byte>.Empty);
        return o.ToArray();
    }

    // Straight from the PNG specification, section 9.4.
    private static int PaethRef(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        if (pb <= pc) return b;
        return c;
    }
}
