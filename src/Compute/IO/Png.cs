namespace UniCLift.Compute.IO;

using System.Buffers.Binary;
using System.IO.Compression;

/// <summary>
/// PNG codec on System.IO.Compression: decodes every standard PNG (bit depths 1/2/4/8/16; gray, gray+alpha, RGB,
/// RGBA, palette; all five filters; Adam7; several IDAT chunks; CRC checked) and encodes 8-bit gray/RGB/RGBA and
/// 16-bit gray/RGB (big-endian samples, per-row adaptive filter).
/// </summary>
public static class Png
{
    internal static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    // ---------------------------------------------------------------- decoding

    public static PngImage Decode(string path, bool expandPalette = true)
    {
        byte[] bytes;
        try { bytes = DataFile.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"PNG file not found: {path}", path); }
        return Decode(bytes, path, expandPalette);
    }

    /// <summary>Decodes a PNG held in memory; <paramref name="source"/> names it in error messages.</summary>
    public static PngImage Decode(ReadOnlySpan<byte> png, string source, bool expandPalette = true)
    {
        if (png.Length < 8 || !png[..8].SequenceEqual(Signature))
            throw new InvalidDataException($"{source}: not a PNG file (bad signature).");

        Header? hdr = null;
        byte[]? palette = null;
        var idat = new MemoryStream();
        bool sawIend = false;
        int pos = 8;
        while (pos < png.Length)
        {
            if (pos + 8 > png.Length) throw new InvalidDataException($"{source}: truncated PNG (chunk header cut at byte {pos}).");
            uint len = BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            var typeBytes = png.Slice(pos + 4, 4);
            string type = System.Text.Encoding.ASCII.GetString(typeBytes);
            if (len > int.MaxValue || pos + 12 + (long)len > png.Length)
                throw new InvalidDataException($"{source}: truncated PNG (chunk '{type}' of {len} bytes at byte {pos} runs past the end of the file, {png.Length} bytes).");
            var data = png.Slice(pos + 8, (int)len);
            uint storedCrc = BinaryPrimitives.ReadUInt32BigEndian(png[(pos + 8 + (int)len)..]);
            uint crc = Crc32.Compute(png.Slice(pos + 4, 4 + (int)len));
            if (crc != storedCrc)
                throw new InvalidDataException($"{source}: CRC mismatch in PNG chunk '{type}' at byte {pos} (stored 0x{storedCrc:X8}, computed 0x{crc:X8}); the file is corrupt.");
            pos += 12 + (int)len;

            switch (type)
            {
                case "IHDR":
                    hdr = Header.Parse(data, source);
                    break;
                case "PLTE":
                    if (len % 3 != 0 || len == 0 || len > 768) throw new InvalidDataException($"{source}: PLTE chunk has {len} bytes, expected a multiple of 3 up to 768.");
                    palette = data.ToArray();
                    break;
                case "IDAT":
                    if (hdr is null) throw new InvalidDataException($"{source}: IDAT before IHDR.");
                    idat.Write(data);
                    break;
                case "IEND":
                    sawIend = true;
                    break;
                default:
                    // Critical chunks (upper-case first letter) we do not know cannot be skipped safely.
                    if (char.IsUpper(type[0]))
                        throw new InvalidDataException($"{source}: unknown critical PNG chunk '{type}'.");
                    break; // ancillary (tRNS, gAMA, tEXt, ...) ignored
            }
            if (sawIend) break;
        }
        if (hdr is null) throw new InvalidDataException($"{source}: PNG has no IHDR chunk.");
        if (!sawIend) throw new InvalidDataException($"{source}: truncated PNG (no IEND chunk; file ends at byte {png.Length}).");
        if (idat.Length == 0) throw new InvalidDataException($"{source}: PNG has no IDAT chunk.");
        if (hdr.ColorType == PngColorType.Palette && palette is null) throw new InvalidDataException($"{source}: palette PNG without a PLTE chunk.");

        return DecodePixels(hdr, palette, idat, source, expandPalette);
    }

    private sealed record Header(int Width, int Height, int BitDepth, PngColorType ColorType, bool Interlaced)
    {
        public int Channels => ColorType switch
        {
            PngColorType.Gray or PngColorType.Palette => 1,
            PngColorType.GrayAlpha => 2,
            PngColorType.Rgb => 3,
            _ => 4,
        };

        public static Header Parse(ReadOnlySpan<byte> d, string source)
        {
            if (d.Length != 13) throw new InvalidDataException($"{source}: IHDR has {d.Length} bytes, expected 13.");
            uint w = BinaryPrimitives.ReadUInt32BigEndian(d), h = BinaryPrimitives.ReadUInt32BigEndian(d[4..]);
            int depth = d[8], ct = d[9], comp = d[10], filter = d[11], interlace = d[12];
            if (w == 0 || h == 0 || w > 1 << 24 || h > 1 << 24) throw new InvalidDataException($"{source}: PNG size {w}x{h} is not supported.");
            bool ok = ct switch
            {
                0 => depth is 1 or 2 or 4 or 8 or 16,
                3 => depth is 1 or 2 or 4 or 8,
                2 or 4 or 6 => depth is 8 or 16,
                _ => false,
            };
            if (!ok) throw new InvalidDataException($"{source}: invalid PNG colour type {ct} with bit depth {depth}.");
            if (comp != 0 || filter != 0 || interlace > 1)
                throw new InvalidDataException($"{source}: unsupported PNG compression {comp} / filter method {filter} / interlace {interlace}.");
            if ((long)w * h > 1L << 30) throw new InvalidDataException($"{source}: PNG of {w}x{h} pixels is too large.");
            return new Header((int)w, (int)h, depth, (PngColorType)ct, interlace == 1);
        }
    }

    // Adam7 passes: x start, y start, x step, y step.
    private static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7 =
        [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    private static PngImage DecodePixels(Header h, byte[]? palette, MemoryStream idat, string source, bool expandPalette)
    {
        int ch = h.Channels, depth = h.BitDepth;
        var passes = h.Interlaced ? Adam7 : [(0, 0, 1, 1)];

        // Size of the decompressed stream: per non-empty pass, rows of (1 filter byte + packed samples).
        long expected = 0;
        foreach (var p in passes)
        {
            int pw = PassSize(h.Width, p.X0, p.Dx), ph = PassSize(h.Height, p.Y0, p.Dy);
            if (pw == 0 || ph == 0) continue;
            expected += (long)ph * (1 + RowBytes(pw, ch, depth));
        }
        var raw = new byte[expected];
        idat.Position = 0;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            int got = 0;
            while (got < raw.Length)
            {
                int read = z.Read(raw, got, raw.Length - got);
                if (read == 0) break;
                got += read;
            }
            if (got < raw.Length)
                throw new InvalidDataException($"{source}: truncated PNG image data ({got} of {raw.Length} decompressed bytes).");
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(source, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{source}: corrupt PNG image data ({e.Message}).", e);
        }

        int n = h.Width * h.Height * ch;
        bool sixteen = depth == 16;
        var s8 = sixteen ? null : new byte[n];
        var s16 = sixteen ? new ushort[n] : null;
        int filterBpp = Math.Max(1, ch * depth / 8);

        int offset = 0;
        foreach (var p in passes)
        {
            int pw = PassSize(h.Width, p.X0, p.Dx), ph = PassSize(h.Height, p.Y0, p.Dy);
            if (pw == 0 || ph == 0) continue;
            int rb = RowBytes(pw, ch, depth);
            var prev = new byte[rb];
            for (int j = 0; j < ph; j++)
            {
                int ft = raw[offset];
                var row = raw.AsSpan(offset + 1, rb);
                Unfilter(ft, row, prev, filterBpp, source, j);
                int y = p.Y0 + j * p.Dy;
                if (sixteen)
                {
                    for (int i = 0; i < pw; i++)
                    {
                        int dst = (y * h.Width + p.X0 + i * p.Dx) * ch;
                        for (int c = 0; c < ch; c++)
                            s16![dst + c] = BinaryPrimitives.ReadUInt16BigEndian(row[((i * ch + c) * 2)..]);
                    }
                }
                else if (depth == 8)
                {
                    if (p.Dx == 1) row.CopyTo(s8.AsSpan(y * h.Width * ch, pw * ch));
                    else
                        for (int i = 0; i < pw; i++)
                        {
                            int dst = (y * h.Width + p.X0 + i * p.Dx) * ch;
                            for (int c = 0; c < ch; c++) s8![dst + c] = row[i * ch + c];
                        }
                }
                else
                {
                    // Sub-byte samples (gray or palette, one channel): most significant bits first.
                    int perByte = 8 / depth, mask = (1 << depth) - 1;
                    for (int i = 0; i < pw; i++)
                    {
                        int b = row[i / perByte];
                        int shift = 8 - depth * (i % perByte + 1);
                        s8![y * h.Width + p.X0 + i * p.Dx] = (byte)((b >> shift) & mask);
                    }
                }
                row.CopyTo(prev);
                offset += 1 + rb;
            }
        }

        if (h.ColorType != PngColorType.Palette)
            return new PngImage(h.Width, h.Height, ch, depth, h.ColorType, s8, s16);

        int entries = palette!.Length / 3;
        for (int i = 0; i < s8!.Length; i++)
            if (s8[i] >= entries)
                throw new InvalidDataException($"{source}: palette index {s8[i]} at pixel {i} is outside the {entries}-entry palette.");
        if (!expandPalette)
            return new PngImage(h.Width, h.Height, 1, depth, h.ColorType, s8, null);
        var rgb = new byte[h.Width * h.Height * 3];
        for (int i = 0; i < s8.Length; i++)
        {
            int e = s8[i] * 3;
            rgb[i * 3] = palette[e];
            rgb[i * 3 + 1] = palette[e + 1];
            rgb[i * 3 + 2] = palette[e + 2];
        }
        return new PngImage(h.Width, h.Height, 3, 8, h.ColorType, rgb, null);
    }

    private static int PassSize(int full, int start, int step) => full <= start ? 0 : (full - start + step - 1) / step;

    private static int RowBytes(int width, int channels, int depth) => (int)(((long)width * channels * depth + 7) / 8);

    private static void Unfilter(int type, Span<byte> row, ReadOnlySpan<byte> prev, int bpp, string source, int rowIndex)
    {
        int n = row.Length;
        switch (type)
        {
            case 0: break;
            case 1:
                for (int i = bpp; i < n; i++) row[i] += row[i - bpp];
                break;
            case 2:
                for (int i = 0; i < n; i++) row[i] += prev[i];
                break;
            case 3:
                for (int i = 0; i < bpp; i++) row[i] += (byte)(prev[i] >> 1);
                for (int i = bpp; i < n; i++) row[i] += (byte)((row[i - bpp] + prev[i]) >> 1);
                break;
            case 4:
                for (int i = 0; i < bpp; i++) row[i] += prev[i];
                for (int i = bpp; i < n; i++) row[i] += Paeth(row[i - bpp], prev[i], prev[i - bpp]);
                break;
            default:
                throw new InvalidDataException($"{source}: unknown PNG filter type {type} in row {rowIndex}.");
        }
    }

    private static byte Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc) return (byte)a;
        return pb <= pc ? (byte)b : (byte)c;
    }

    // ---------------------------------------------------------------- header only

    /// <summary>Reads width and height from the IHDR of a PNG without decoding it.</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        Span<byte> head = stackalloc byte[24];
        using (var fs = DataFile.OpenRead(path))
        {
            int got = fs.ReadAtLeast(head, 24, throwOnEndOfStream: false);
            if (got < 24) throw new InvalidDataException($"{path}: truncated PNG ({got} bytes, no complete IHDR).");
        }
        if (!head[..8].SequenceEqual(Signature) || !head.Slice(12, 4).SequenceEqual("IHDR"u8))
            throw new InvalidDataException($"{path}: not a PNG file (bad signature or first chunk is not IHDR).");
        return ((int)BinaryPrimitives.ReadUInt32BigEndian(head[16..]), (int)BinaryPrimitives.ReadUInt32BigEndian(head[20..]));
    }

    // ---------------------------------------------------------------- encoding

    /// <summary>Compression level for encoding. Fastest is several times quicker than Optimal for a few % larger files.</summary>
    public static CompressionLevel Compression { get; set; } = CompressionLevel.Fastest;

    /// <summary>Encodes 8-bit samples (gray: 1 channel, gray+alpha: 2, RGB: 3, RGBA: 4).</summary>
    public static void Encode8(Stream output, int width, int height, int channels, ReadOnlySpan<byte> samples)
    {
        CheckSize(width, height, channels, samples.Length);
        int rb = width * channels;
        Encode(output, width, height, 8, ColorTypeOf(channels), rb, channels, samples);
    }

    /// <summary>Encodes 16-bit samples (1..4 channels), stored big-endian as PNG requires.</summary>
    public static void Encode16(Stream output, int width, int height, int channels, ReadOnlySpan<ushort> samples)
    {
        CheckSize(width, height, channels, samples.Length);
        int rb = width * channels * 2;
        var bytes = new byte[(long)width * height * channels * 2];
        for (int i = 0; i < samples.Length; i++) BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(i * 2), samples[i]);
        Encode(output, width, height, 16, ColorTypeOf(channels), rb, channels * 2, bytes);
    }

    public static void EncodeRgb8(Stream output, int width, int height, ReadOnlySpan<byte> rgb) => Encode8(output, width, height, 3, rgb);
    public static void EncodeGray8(Stream output, int width, int height, ReadOnlySpan<byte> gray) => Encode8(output, width, height, 1, gray);
    public static void EncodeGray16(Stream output, int width, int height, ReadOnlySpan<ushort> gray) => Encode16(output, width, height, 1, gray);

    private static void CheckSize(int width, int height, int channels, int length)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"PNG size {width}x{height} must be positive.");
        if (channels is < 1 or > 4) throw new ArgumentException($"PNG channel count {channels} must be 1..4.");
        if ((long)width * height * channels != length)
            throw new ArgumentException($"PNG of {width}x{height}x{channels} needs {(long)width * height * channels} samples, got {length}.");
    }

    private static PngColorType ColorTypeOf(int channels) => channels switch
    {
        1 => PngColorType.Gray,
        2 => PngColorType.GrayAlpha,
        3 => PngColorType.Rgb,
        _ => PngColorType.Rgba,
    };

    // `packed` holds the unfiltered rows back to back (row bytes rb each).
    private static void Encode(Stream output, int width, int height, int depth, PngColorType ct, int rb, int bpp, ReadOnlySpan<byte> packed)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = (byte)depth;
        ihdr[9] = (byte)ct;

        var compressed = new MemoryStream(packed.Length / 2 + 1024);
        using (var z = new ZLibStream(compressed, Compression, leaveOpen: true))
        {
            var filtered = new byte[1 + rb];
            var best = new byte[1 + rb];
            for (int y = 0; y < height; y++)
            {
                var row = packed.Slice(y * rb, rb);
                var prev = y == 0 ? ReadOnlySpan<byte>.Empty : packed.Slice((y - 1) * rb, rb);
                FilterRow(row, prev, bpp, filtered, best);
                z.Write(best);
            }
        }

        output.Write(Signature);
        WriteChunk(output, "IHDR", ihdr);
        WriteChunk(output, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(output, "IEND", ReadOnlySpan<byte>.Empty);
    }

    /// <summary>
    /// Picks the filter per row with the usual "minimum sum of absolute signed differences" heuristic over None,
    /// Sub, Up and Paeth (Average rarely wins and costs as much as Paeth); the filtered row is computed and scored
    /// in one pass per filter. Writes filter byte + filtered row into best.
    /// </summary>
    private static unsafe void FilterRow(ReadOnlySpan<byte> row, ReadOnlySpan<byte> prev, int bpp, byte[] scratch, byte[] best)
    {
        int n = row.Length;
        long bestScore = long.MaxValue;
        int candidates = prev.IsEmpty ? 2 : 4;
        fixed (byte* r = row, p = prev, sc = scratch, bs = best)
        {
            for (int k = 0; k < candidates; k++)
            {
                int ft = k == 3 ? 4 : k;
                byte* d = sc + 1;
                long score = 0;
                switch (ft)
                {
                    case 0:
                        for (int i = 0; i < n; i++) { byte v = r[i]; d[i] = v; score += Abs8(v); }
                        break;
                    case 1:
                        for (int i = 0; i < bpp && i < n; i++) { byte v = r[i]; d[i] = v; score += Abs8(v); }
                        for (int i = bpp; i < n; i++) { byte v = (byte)(r[i] - r[i - bpp]); d[i] = v; score += Abs8(v); }
                        break;
                    case 2:
                        for (int i = 0; i < n; i++) { byte v = (byte)(r[i] - p[i]); d[i] = v; score += Abs8(v); }
                        break;
                    default:
                        for (int i = 0; i < bpp && i < n; i++) { byte v = (byte)(r[i] - p[i]); d[i] = v; score += Abs8(v); }
                        for (int i = bpp; i < n; i++)
                        {
                            int a = r[i - bpp], b = p[i], c = p[i - bpp];
                            int pa = b - c, pb = a - c, pc = pa + pb;
                            pa = pa < 0 ? -pa : pa; pb = pb < 0 ? -pb : pb; pc = pc < 0 ? -pc : pc;
                            int pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                            byte v = (byte)(r[i] - pred);
                            d[i] = v;
                            score += Abs8(v);
                        }
                        break;
                }
                if (score < bestScore)
                {
                    bestScore = score;
                    sc[0] = (byte)ft;
                    Buffer.MemoryCopy(sc, bs, n + 1, n + 1);
                }
            }
        }
    }

    // |v| of the byte read as signed, without a branch (noisy rows mispredict badly otherwise).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int Abs8(byte v)
    {
        int s = (sbyte)v, m = s >> 31;
        return (s ^ m) - m;
    }

    /// <summary>Writes one chunk: length, type, data, CRC of type+data.</summary>
    internal static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(head, (uint)data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, head[4..]);
        output.Write(head);
        output.Write(data);
        uint crc = Crc32.Append(Crc32.Append(0xFFFFFFFFu, head[4..]), data) ^ 0xFFFFFFFFu;
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        output.Write(tail);
    }

    /// <summary>CRC-32 (ISO-HDLC, the PNG and zlib polynomial 0xEDB88320).</summary>
    internal static class Crc32
    {
        private static readonly uint[] Table = MakeTable();

        private static uint[] MakeTable()
        {
            var t = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                t[n] = c;
            }
            return t;
        }

        public static uint Append(uint crc, ReadOnlySpan<byte> data)
        {
            foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }

        public static uint Compute(ReadOnlySpan<byte> data) => Append(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;
    }
}
