namespace UniCLift.Tests.IO;

using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;

public class ImageIOTests
{
    private static RgbImage Smooth(int w, int h)
    {
        var img = new RgbImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = (y * w + x) * 3;
                img.Pixels[i] = (byte)(x * 255 / (w - 1));
                img.Pixels[i + 1] = (byte)(y * 255 / (h - 1));
                img.Pixels[i + 2] = (byte)((x + y) * 2);
            }
        return img;
    }

    [Fact]
    public void Png_Rgb_RoundTripsExactly()
    {
        using var dir = new TempDir();
        var img = Smooth(33, 17);
        ImageIO.WriteRgb(dir.File("a.png"), img);
        var back = ImageIO.ReadRgb(dir.File("a.png"));
        Assert.Equal((33, 17), (back.Width, back.Height));
        Assert.Equal(img.Pixels, back.Pixels);
        Assert.Equal((33, 17), ImageIO.ReadSize(dir.File("a.png")));
    }

    [Fact]
    public void Jpeg_RoundTripsApproximately_AndItsHeaderGivesTheSize()
    {
        using var dir = new TempDir();
        var img = Smooth(64, 40);
        ImageIO.WriteRgb(dir.File("a.jpg"), img);
        Assert.Equal((64, 40), ImageIO.ReadSize(dir.File("a.jpg")));
        var back = ImageIO.ReadRgb(dir.File("a.jpg"));
        Assert.Equal((64, 40), (back.Width, back.Height));
        double mae = img.Pixels.Zip(back.Pixels, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(mae < 3, $"mean abs error {mae}");
        Assert.NotEqual(img.Pixels, back.Pixels); // it really went through a lossy codec
    }

    [Fact]
    public void A_Truncated_Jpeg_Is_An_Error_And_Data_After_Its_End_Is_Not()
    {
        // stb_image decodes a JPEG cut off in its image data as noise; training on it fails nowhere and learns nothing.
        using var dir = new TempDir();
        ImageIO.WriteRgb(dir.File("a.jpg"), Smooth(64, 40));
        var bytes = File.ReadAllBytes(dir.File("a.jpg"));
        foreach (var keep in new[] { bytes.Length * 2 / 3, bytes.Length - 2 })
        {
            File.WriteAllBytes(dir.File("cut.jpg"), bytes[..keep]);
            var e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadRgb(dir.File("cut.jpg")));
            Assert.Contains(dir.File("cut.jpg"), e.Message);
            Assert.Contains("truncated JPEG", e.Message);
        }
        // Cameras and tools append data after the end marker (padding, a second image's index): still the image.
        File.WriteAllBytes(dir.File("padded.jpg"), [.. bytes, 0, 0, 0, 0, 0xFF, 0xFF]);
        Assert.Equal(ImageIO.ReadRgb(dir.File("a.jpg")).Pixels, ImageIO.ReadRgb(dir.File("padded.jpg")).Pixels);
        Assert.True(Jpeg.EndsAfterScan(bytes));
    }

    /// <summary>A JPEG as a phone writes one: an APP1 "Exif" segment after SOI whose IFD0 has a Make and an
    /// Orientation entry, in Intel (II) or Motorola (MM) byte order.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, int orientation, bool little)
    {
        var tiff = new List<byte>();
        void U16(int v) => tiff.AddRange(little ? [(byte)v, (byte)(v >> 8)] : [(byte)(v >> 8), (byte)v]);
        void U32(int v) => tiff.AddRange(little ? [(byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24)] : [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);
        tiff.AddRange(little ? "II"u8.ToArray() : "MM"u8.ToArray());
        U16(42); U32(8);                        // TIFF header, IFD0 at 8
        U16(2);                                 // two entries
        U16(0x010F); U16(2); U32(4); tiff.AddRange("Cam\0"u8.ToArray()); // Make, ASCII, 4 bytes inline
        U16(0x0112); U16(3); U32(1); U16(orientation); U16(0); // Orientation, SHORT
        U32(0);                                 // no next IFD
        var body = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        int len = body.Length + 2;
        return [0xFF, 0xD8, 0xFF, 0xE1, (byte)(len >> 8), (byte)len, .. body, .. jpeg[2..]];
    }

    [Fact]
    public void The_Exif_Orientation_Of_A_Jpeg_Is_Read_And_Its_Pixels_Are_Used_As_Stored()
    {
        using var dir = new TempDir();
        ImageIO.WriteRgb(dir.File("a.jpg"), Smooth(64, 40));
        var bytes = File.ReadAllBytes(dir.File("a.jpg"));
        Assert.Null(Jpeg.ReadExifOrientation(dir.File("a.jpg")));
        foreach (var (orientation, little) in new[] { (6, true), (8, false), (3, true), (1, false) })
        {
            File.WriteAllBytes(dir.File("tagged.jpg"), WithExifOrientation(bytes, orientation, little));
            Assert.Equal(orientation, Jpeg.ReadExifOrientation(dir.File("tagged.jpg")));
            Assert.Equal(ImageIO.ReadRgb(dir.File("a.jpg")).Pixels, ImageIO.ReadRgb(dir.File("tagged.jpg")).Pixels); // as stored
        }
        File.WriteAllBytes(dir.File("b.png"), [0x89, 0x50, 0x4E, 0x47]);
        Assert.Null(Jpeg.ReadExifOrientation(dir.File("b.png")));
    }

    [Fact]
    public void A_Scene_Whose_Images_Declare_A_Turn_Is_Noted_And_A_Mask_Turned_By_90_Degrees_Is_Refused_Saying_So()
    {
        // Mask tools that apply the tag (OpenCV's imread) make masks turned against the stored pixels UniCLift trains on.
        using var dir = new TempDir();
        ImageIO.WriteRgb(dir.File("a.jpg"), Smooth(64, 40));
        var plain = File.ReadAllBytes(dir.File("a.jpg"));
        File.WriteAllBytes(dir.File("b.jpg"), WithExifOrientation(plain, 6, little: true));
        ImageIO.WriteLabels16(dir.File("b_mask.png"), new LabelMap(40, 64));
        var camera = UniCLift.Compute.Rendering.SyntheticGaussians.LookAt(64, 40, 60, (0, 0, 0), (0, 0, 1));
        SceneView View(string name) => new(name, camera, dir.File($"{name}.jpg"), MaskPath: dir.File("b_mask.png"));
        var scene = new Scene(dir.Path, SceneLayout.Nerfstudio, [View("a"), View("b")], ["a", "b"], []);

        var note = SceneInspector.OrientationNote(scene);
        Assert.NotNull(note);
        Assert.StartsWith("1 of 2 images declare an EXIF orientation other than 1 ('b.jpg': 6, to be turned 90 degrees clockwise)", note);
        Assert.Null(SceneInspector.OrientationNote(scene with { Views = [View("a")] }));
        var e = Assert.Throws<InvalidDataException>(() => SceneData.LoadMask(View("b")));
        Assert.Contains("instance mask is 40x64, but view 'b' has a 64x40 camera (turned by 90 degrees", e.Message);
    }

    [Fact]
    public void ReadRgb_ConvertsGray16_And_Composites_Alpha_Over_Black()
    {
        using var dir = new TempDir();
        using (var f = File.Create(dir.File("g.png"))) Png.EncodeGray16(f, 2, 1, new ushort[] { 65535, 257 * 10 });
        var g = ImageIO.ReadRgb(dir.File("g.png"));
        Assert.Equal(new byte[] { 255, 255, 255, 10, 10, 10 }, g.Pixels);
        // Alpha composites over black, as graphdeco's trainer takes a transparent render: what is under it is not the scene.
        using (var f = File.Create(dir.File("a.png"))) Png.Encode8(f, 3, 1, 4, new byte[] { 255, 0, 255, 0, 200, 100, 50, 128, 7, 8, 9, 255 });
        Assert.Equal(new byte[] { 0, 0, 0, 100, 50, 25, 7, 8, 9 }, ImageIO.ReadRgb(dir.File("a.png")).Pixels);
        using (var f = File.Create(dir.File("ga.png"))) Png.Encode8(f, 2, 1, 2, new byte[] { 90, 255, 90, 51 });
        Assert.Equal(new byte[] { 90, 90, 90, 18, 18, 18 }, ImageIO.ReadRgb(dir.File("ga.png")).Pixels);
    }

    [Fact]
    public void Labels16_RoundTrip_WithValuesAbove255()
    {
        using var dir = new TempDir();
        var m = new LabelMap(4, 3, [0, 1, 2, 300, 65535, 40000, 7, 7, 7, 0, 256, 1000]);
        ImageIO.WriteLabels16(dir.File("m.png"), m);
        var back = ImageIO.ReadLabels(dir.File("m.png"));
        Assert.Equal(m.Labels, back.Labels);
        Assert.Equal((4, 3), (back.Width, back.Height));
    }

    [Fact]
    public void Labels_FromGray8_Palette_AndNpy()
    {
        using var dir = new TempDir();
        using (var f = File.Create(dir.File("g8.png"))) Png.EncodeGray8(f, 3, 1, new byte[] { 0, 5, 255 });
        Assert.Equal(new[] { 0, 5, 255 }, ImageIO.ReadLabels(dir.File("g8.png")).Labels);

        // Palette PNG: the index is the label, not the colour.
        var pal = PngTestWriter.Make(3, 1, PngColorType.Palette, 4, [2, 0, 1], false, [0], [9, 9, 9, 50, 50, 50, 200, 0, 0]);
        File.WriteAllBytes(dir.File("p.png"), pal);
        Assert.Equal(new[] { 2, 0, 1 }, ImageIO.ReadLabels(dir.File("p.png")).Labels);

        Npy.Write(dir.File("l.npy"), [2, 3], new[] { 1, 2, 3, 4, 5, 6 });
        var n = ImageIO.ReadLabels(dir.File("l.npy"));
        Assert.Equal((3, 2), (n.Width, n.Height));
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, n.Labels);
        Npy.Write(dir.File("l3.npy"), [2, 1, 1], new ushort[] { 9, 8 });
        Assert.Equal((1, 2), (ImageIO.ReadLabels(dir.File("l3.npy")).Width, ImageIO.ReadLabels(dir.File("l3.npy")).Height));
        Npy.Write(dir.File("bad.npy"), [2, 1, 2], new[] { 1, 2, 3, 4 });
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadLabels(dir.File("bad.npy")));
        Assert.Contains(dir.File("bad.npy"), e.Message);
        Assert.Contains("(2, 1, 2)", e.Message);
    }

    [Fact]
    public void Labels_FromRgbPng_AreRejectedNamingFileAndChannels()
    {
        using var dir = new TempDir();
        var path = dir.File("rgb_mask.png");
        ImageIO.WriteRgb(path, new RgbImage(2, 2, new byte[12])); // gray-looking, still 3 channels
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadLabels(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("3 channels", e.Message);
    }

    [Fact]
    public void WriteLabels16_RejectsOutOfRangeLabels()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ArgumentException>(() => ImageIO.WriteLabels16(dir.File("x.png"), new LabelMap(2, 1, [1, 70000])));
        Assert.Contains("x.png", e.Message);
        Assert.Contains("70000", e.Message);
        Assert.False(File.Exists(dir.File("x.png")));
    }

    [Fact]
    public void Depth16_RoundTripsInMillimetres()
    {
        using var dir = new TempDir();
        var d = new DepthMap(3, 1, [0f, 1.2345f, 65.535f]);
        ImageIO.WriteDepth16(dir.File("d.png"), d, 1000);
        var back = ImageIO.ReadDepth(dir.File("d.png"), 1000);
        Assert.Equal(0f, back.Meters[0]);
        Assert.InRange(back.Meters[1], 1.2339f, 1.2351f); // stored to the nearest millimetre
        Assert.Equal(65.535f, back.Meters[2], 5);
        var png = Png.Decode(dir.File("d.png"));
        Assert.Equal(16, png.BitDepth);
        Assert.Equal(65535, png.Samples16![2]);
        Assert.Throws<ArgumentException>(() => ImageIO.WriteDepth16(dir.File("e.png"), new DepthMap(1, 1, [70f]), 1000));
    }

    [Fact]
    public void MissingFile_IsFileNotFoundNamingIt()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ImageIO.ReadRgb("/nonexistent/dir/x.png"));
        Assert.Contains("/nonexistent/dir/x.png", e.Message);
    }

    [Fact]
    public async Task A_Named_Pipe_Is_Refused_Naming_It_Instead_Of_Waiting_For_A_Writer()
    {
        Assert.True(OperatingSystem.IsLinux(), "the suite runs on Linux");
        using var dir = new TempDir();
        var pipe = dir.File("0000.png");
        NamedPipe.Make(pipe);
        var read = Task.Run(() => ImageIO.ReadLabels(pipe));
        bool finished = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(20))) == read;
        if (!finished)
        {
            using (new FileStream(pipe, FileMode.Open, FileAccess.Write)) { } // releases the blocked reader
            Assert.Fail("reading a named pipe blocked waiting for a writer");
        }
        var e = Assert.IsType<InvalidDataException>(FailurePolicyUnwrap(read.Exception));
        Assert.Contains(pipe, e.Message);
        Assert.Contains("not a regular file", e.Message);
    }

    [Fact]
    public void A_Loop_Of_Symbolic_Links_Is_Bad_Input_Naming_The_File()
    {
        using var dir = new TempDir();
        File.CreateSymbolicLink(dir.File("a.png"), dir.File("b.png"));
        File.CreateSymbolicLink(dir.File("b.png"), dir.File("a.png"));
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadRgb(dir.File("a.png")));
        Assert.Contains(dir.File("a.png"), e.Message);
        Assert.True(UniCLift.Compute.FailurePolicy.IsBadInput(e));
    }

    private static Exception? FailurePolicyUnwrap(Exception? e) => e is null ? null : UniCLift.Compute.FailurePolicy.Unwrap(e);
}
