namespace UniCLift.Tests.IO;

using UniCLift.Compute.IO;

public class PngTests
{
    private static int[] RandomSamples(int n, int max, int seed)
    {
        var r = new Random(seed);
        var s = new int[n];
        // Smooth ramps plus noise, so every filter has something to predict.
        for (int i = 0; i < n; i++) s[i] = Math.Clamp((i * 7 % (max + 1)) + r.Next(-2, 3), 0, max);
        return s;
    }

    private static byte[] Encode(Action<Stream> enc)
    {
        var ms = new MemoryStream();
        enc(ms);
        return ms.ToArray();
    }

    [Fact]
    public void Crc32_MatchesTheStandardCheckValue() =>
        Assert.Equal(0xCBF43926u, Png.Crc32.Compute("123456789"u8));

    [Fact]
    public void Rgb8_RoundTrips_AndDecodesWithAnIndependentDecoder()
    {
        int w = 37, h = 23;
        var rgb = RandomSamples(w * h * 3, 255, 1).Select(v => (byte)v).ToArray();
        var png = Encode(s => Png.EncodeRgb8(s, w, h, rgb));
        var img = Png.Decode(png, "mem.png");
        Assert.Equal((w, h, 3, 8), (img.Width, img.Height, img.Channels, img.BitDepth));
        Assert.Equal(rgb, img.Samples8);
        var stb = StbImageSharp.ImageResult.FromMemory(png, StbImageSharp.ColorComponents.RedGreenBlue);
        Assert.Equal(rgb, stb.Data);
    }

    [Fact]
    public void Gray8_RoundTrips()
    {
        int w = 16, h = 9;
        var g = RandomSamples(w * h, 255, 2).Select(v => (byte)v).ToArray();
        var img = Png.Decode(Encode(s => Png.EncodeGray8(s, w, h, g)), "mem.png");
        Assert.Equal(1, img.Channels);
        Assert.Equal(g, img.Samples8);
    }

    [Fact]
    public void Gray16_RoundTripsValuesAbove255_BigEndian()
    {
        int w = 19, h = 11;
        var g = RandomSamples(w * h, 65535, 3).Select((v, i) => (ushort)(i % 5 == 0 ? 65535 - i : v * 31 % 65536)).ToArray();
        g[0] = 0x1234;
        var png = Encode(s => Png.EncodeGray16(s, w, h, g));
        var img = Png.Decode(png, "mem.png");
        Assert.Equal(16, img.BitDepth);
        Assert.Equal(g, img.Samples16);
        Assert.Contains(g, v => v > 255);
        // The independent decoder reads 16-bit to 8-bit by the high byte: only right if we stored big-endian.
        var stb = StbImageSharp.ImageResult.FromMemory(png, StbImageSharp.ColorComponents.Grey);
        Assert.Equal(g.Select(v => (byte)(v >> 8)).ToArray(), stb.Data);
    }

    [Fact]
    public void Rgba8_And_Rgb16_RoundTrip()
    {
        int w = 5, h = 4;
        var rgba = RandomSamples(w * h * 4, 255, 4).Select(v => (byte)v).ToArray();
        Assert.Equal(rgba, Png.Decode(Encode(s => Png.Encode8(s, w, h, 4, rgba)), "m").Samples8);
        var rgb16 = RandomSamples(w * h * 3, 65535, 5).Select(v => (ushort)(v * 257 % 65536)).ToArray();
        var d = Png.Decode(Encode(s => Png.Encode16(s, w, h, 3, rgb16)), "m");
        Assert.Equal(PngColorType.Rgb, d.ColorType);
        Assert.Equal(rgb16, d.Samples16);
    }

    public static IEnumerable<object[]> CraftedCases()
    {
        foreach (bool interlace in new[] { false, true })
        {
            foreach (int depth in new[] { 1, 2, 4, 8, 16 }) yield return [PngColorType.Gray, depth, interlace];
            foreach (int depth in new[] { 1, 2, 4, 8 }) yield return [PngColorType.Palette, depth, interlace];
            yield return [PngColorType.GrayAlpha, 8, interlace];
            yield return [PngColorType.GrayAlpha, 16, interlace];
            yield return [PngColorType.Rgb, 8, interlace];
            yield return [PngColorType.Rgb, 16, interlace];
            yield return [PngColorType.Rgba, 8, interlace];
            yield return [PngColorType.Rgba, 16, interlace];
        }
    }

    [Theory]
    [MemberData(nameof(CraftedCases))]
    public void Decodes_EveryColourTypeDepthFilterAndInterlace(PngColorType ct, int depth, bool interlace)
    {
        // Odd sizes so Adam7 passes have ragged edges; filters cycle through all five.
        int w = 13, h = 11;
        int ch = ct switch { PngColorType.Gray or PngColorType.Palette => 1, PngColorType.GrayAlpha => 2, PngColorType.Rgb => 3, _ => 4 };
        int max = (1 << depth) - 1;
        byte[]? palette = null;
        if (ct == PngColorType.Palette)
        {
            int entries = Math.Min(1 << depth, 200); // palette smaller than 256 entries for depth 8
            max = entries - 1;
            palette = new byte[entries * 3];
            for (int i = 0; i < palette.Length; i++) palette[i] = (byte)(i * 37 + 11);
        }
        var samples = RandomSamples(w * h * ch, max, 10 + depth);
        var file = PngTestWriter.Make(w, h, ct, depth, samples, interlace, [0, 1, 2, 3, 4], palette);

        var img = Png.Decode(file, "crafted.png", expandPalette: false);
        Assert.Equal((w, h), (img.Width, img.Height));
        var got = Enumerable.Range(0, w * h * ch).Select(img.Sample).ToArray();
        Assert.Equal(samples, got);

        if (palette is not null)
        {
            var expanded = Png.Decode(file, "crafted.png");
            Assert.Equal(3, expanded.Channels);
            var expect = samples.SelectMany(i => new[] { palette[i * 3], palette[i * 3 + 1], palette[i * 3 + 2] }).ToArray();
            Assert.Equal(expect, expanded.Samples8);
        }

        // Cross-check the 8-bit RGB view with StbImageSharp, an independent decoder (it reads 16-bit by the high byte); an
        // image with alpha against stb's RGBA composited over black, as ToRgb does.
        if (depth != 16 && ct is PngColorType.GrayAlpha or PngColorType.Rgba)
        {
            var stb = StbImageSharp.ImageResult.FromMemory(file, StbImageSharp.ColorComponents.RedGreenBlueAlpha);
            var over = new byte[stb.Width * stb.Height * 3];
            for (int i = 0; i < stb.Width * stb.Height; i++)
                for (int c = 0; c < 3; c++)
                    over[i * 3 + c] = (byte)((stb.Data[i * 4 + c] * stb.Data[i * 4 + 3] * 255 + 255 * 255 / 2) / (255 * 255));
            Assert.Equal(over, Compute.IO.ImageIO.ToRgb(Png.Decode(file, "crafted.png")).Pixels);
        }
        else if (depth != 16)
        {
            var stb = StbImageSharp.ImageResult.FromMemory(file, StbImageSharp.ColorComponents.RedGreenBlue);
            Assert.Equal(stb.Data, Compute.IO.ImageIO.ToRgb(Png.Decode(file, "crafted.png")).Pixels);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(8, 1)]
    [InlineData(1, 9)]
    public void Adam7_TinyImagesWithEmptyPasses(int w, int h)
    {
        var samples = Enumerable.Range(0, w * h).Select(i => i * 13 % 256).ToArray();
        var file = PngTestWriter.Make(w, h, PngColorType.Gray, 8, samples, true, [4, 1]);
        Assert.Equal(samples.Select(v => (byte)v).ToArray(), Png.Decode(file, "t.png").Samples8);
    }

    [Fact]
    public void CorruptCrc_IsAnErrorNamingTheFileAndChunk()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.png");
        var bytes = Encode(s => Png.EncodeGray8(s, 4, 4, new byte[16]));
        bytes[8 + 8 + 5] ^= 0x40; // inside IHDR data
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => Png.Decode(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("CRC", e.Message);
        Assert.Contains("IHDR", e.Message);
    }

    [Fact]
    public void TruncatedFile_IsAnErrorNamingTheFile()
    {
        using var dir = new TempDir();
        var path = dir.File("cut.png");
        var bytes = Encode(s => Png.EncodeRgb8(s, 20, 20, RandomSamples(1200, 255, 9).Select(v => (byte)v).ToArray()));
        File.WriteAllBytes(path, bytes[..(bytes.Length - 30)]);
        var e = Assert.Throws<InvalidDataException>(() => Png.Decode(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void NotAPng_IsAnErrorNamingTheFile()
    {
        var e = Assert.Throws<InvalidDataException>(() => Png.Decode("GIF89a........"u8, "x.gif"));
        Assert.Contains("x.gif", e.Message);
    }

    [Fact]
    public void ReadSize_ReadsTheHeaderOnly()
    {
        using var dir = new TempDir();
        var path = dir.File("s.png");
        File.WriteAllBytes(path, Encode(s => Png.EncodeGray8(s, 7, 3, new byte[21])));
        Assert.Equal((7, 3), Png.ReadSize(path));
    }
}
