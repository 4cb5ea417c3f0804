namespace UniCLift.Tests.Readers;

using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Tests.IO;

/// <summary>COLMAP binary models: writer/reader round trip, agreement with the text reader, malformed files.</summary>
public class ColmapBinaryTests
{
    // Two cameras of different models and sizes; four images (names with spaces), two per camera.
    private static readonly ColmapCamera[] Cameras =
    [
        new(1, 4, 64, 48, [70.5, 68.25, 31.7, 24.2, -0.21, 0.047, 0.0013, -0.0021]), // OPENCV
        new(7, 2, 40, 30, [45.0, 20.3, 14.9, 0.12]),                                  // SIMPLE_RADIAL
    ];

    private static double[] Quat(double angle, double ax, double ay, double az)
    {
        double n = Math.Sqrt(ax * ax + ay * ay + az * az), s = Math.Sin(angle / 2);
        return [Math.Cos(angle / 2), s * ax / n, s * ay / n, s * az / n];
    }

    private static ColmapImage Img(int id, double angle, double[] t, int cam, string name, int points)
    {
        var q = Quat(angle, 0.3, 1, -0.2);
        var pts = Enumerable.Range(0, points).Select(k => new ColmapPoint2D(1.5 + k * 3.25, 2.75 + k, k % 3 == 0 ? -1 : 100 + k)).ToArray();
        return new ColmapImage(id, q[0], q[1], q[2], q[3], t[0], t[1], t[2], cam, name, pts);
    }

    private static readonly ColmapImage[] Images =
    [
        Img(3, 0.1, [0.2, -0.1, 4.0], 1, "left view 01.png", 5),
        Img(5, -0.15, [-0.3, 0.05, 4.2], 1, "left view 02.png", 0),
        Img(11, 0.2, [0.1, 0.2, 3.8], 7, "right view 1.png", 3),
        Img(12, 0.05, [0.0, 0.0, 4.5], 7, "right view 2.png", 2),
    ];

    private static ColmapPoint3D[] Points()
    {
        var rng = new Random(5);
        return Enumerable.Range(0, 40).Select(i => new ColmapPoint3D((ulong)(1000 + i * 3),
            rng.NextDouble() * 2 - 1, rng.NextDouble() * 2 - 1, rng.NextDouble() * 2 - 1,
            (byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256), rng.NextDouble(),
            Enumerable.Range(0, i % 4).Select(k => new ColmapTrackElement(Images[k].Id, k * 2 + 1)).ToArray())).ToArray();
    }

    private static void WriteImages(string root, IEnumerable<(string Name, int W, int H)> images)
    {
        foreach (var (name, w, h) in images)
        {
            var img = new RgbImage(w, h);
            for (int i = 0; i < img.Pixels.Length; i++) img.Pixels[i] = (byte)(i * 7);
            ImageIO.WriteRgb(Path.Combine(root, "images", name), img);
        }
    }

    private static string WriteModel(string root)
    {
        var sparse = Path.Combine(root, "sparse", "0");
        Directory.CreateDirectory(sparse);
        ColmapBinary.Write(sparse, Cameras, Images, Points());
        WriteImages(root, Images.Select(i => (i.Name, (int)Cameras.First(c => c.Id == i.CameraId).Width, (int)Cameras.First(c => c.Id == i.CameraId).Height)));
        return sparse;
    }

    /// <summary>COLMAP's own projection (src/colmap/sensor/models.h), written out independently of the reader.</summary>
    internal static (double U, double V) ColmapProject(int model, double[] p, double[] q, double[] t, double X, double Y, double Z)
    {
        double w = q[0], a = q[1], b = q[2], c = q[3], n = Math.Sqrt(w * w + a * a + b * b + c * c);
        w /= n; a /= n; b /= n; c /= n;
        double xc = (1 - 2 * (b * b + c * c)) * X + 2 * (a * b - w * c) * Y + 2 * (a * c + w * b) * Z + t[0];
        double yc = 2 * (a * b + w * c) * X + (1 - 2 * (a * a + c * c)) * Y + 2 * (b * c - w * a) * Z + t[1];
        double zc = 2 * (a * c - w * b) * X + 2 * (b * c + w * a) * Y + (1 - 2 * (a * a + b * b)) * Z + t[2];
        double x = xc / zc, y = yc / zc, r2 = x * x + y * y;
        switch (model)
        {
            case 0: return (p[0] * x + p[1], p[0] * y + p[2]);
            case 1: return (p[0] * x + p[2], p[1] * y + p[3]);
            case 2: { double rad = p[3] * r2; return (p[0] * (x + x * rad) + p[1], p[0] * (y + y * rad) + p[2]); }
            case 3: { double rad = p[3] * r2 + p[4] * r2 * r2; return (p[0] * (x + x * rad) + p[1], p[0] * (y + y * rad) + p[2]); }
            case 4:
            {
                double rad = p[4] * r2 + p[5] * r2 * r2, xy = x * y;
                double dx = x * rad + 2 * p[6] * xy + p[7] * (r2 + 2 * x * x), dy = y * rad + 2 * p[7] * xy + p[6] * (r2 + 2 * y * y);
                return (p[0] * (x + dx) + p[2], p[1] * (y + dy) + p[3]);
            }
            case 6:
            {
                double r4 = r2 * r2, r6 = r4 * r2, xy = x * y;
                double rad = (1 + p[4] * r2 + p[5] * r4 + p[8] * r6) / (1 + p[9] * r2 + p[10] * r4 + p[11] * r6);
                double xd = x * rad + 2 * p[6] * xy + p[7] * (r2 + 2 * x * x), yd = y * rad + 2 * p[7] * xy + p[6] * (r2 + 2 * y * y);
                return (p[0] * xd + p[2], p[1] * yd + p[3]);
            }
            default: throw new ArgumentException($"model {model}");
        }
    }

    /// <summary>Projection through what the reader made: the view's pinhole camera and its distortion.</summary>
    internal static (double U, double V) ReadProject(SceneView v, double X, double Y, double Z)
    {
        var m = v.Camera.WorldToCamera();
        double xc = m[0] * X + m[1] * Y + m[2] * Z + m[3], yc = m[4] * X + m[5] * Y + m[6] * Z + m[7], zc = m[8] * X + m[9] * Y + m[10] * Z + m[11];
        var (x, y) = v.Distortion is { } d ? d.Apply(xc / zc, yc / zc) : (xc / zc, yc / zc);
        return (v.Camera.Fx * x + v.Camera.Cx, v.Camera.Fy * y + v.Camera.Cy);
    }

    private static void AssertProjectsLike(IReadOnlyList<ColmapCamera> cams, IReadOnlyList<ColmapImage> images, Scene s)
    {
        var rng = new Random(9);
        int checkedPoints = 0;
        foreach (var im in images)
        {
            var v = s.View(Path.GetFileNameWithoutExtension(im.Name));
            var c = cams.First(x => x.Id == im.CameraId);
            for (int k = 0; k < 20; k++)
            {
                double X = rng.NextDouble() * 2 - 1, Y = rng.NextDouble() * 2 - 1, Z = rng.NextDouble() * 2 - 1;
                var e = ColmapProject(c.ModelId, c.Params, [im.Qw, im.Qx, im.Qy, im.Qz], [im.Tx, im.Ty, im.Tz], X, Y, Z);
                var a = ReadProject(v, X, Y, Z);
                Assert.Equal(e.U, a.U, 1e-6);
                Assert.Equal(e.V, a.V, 1e-6);
                checkedPoints++;
            }
        }
        Assert.Equal(images.Count * 20, checkedPoints);
    }

    [Fact]
    public void Binary_RoundTrip_ProjectsLikeColmapAndKeepsThePointCloud()
    {
        using var dir = new TempDir();
        var sparse = WriteModel(dir.Path);

        // The raw records come back exactly.
        var cams = ColmapBinary.ReadCameras(Path.Combine(sparse, "cameras.bin"));
        Assert.Equal(Cameras.Select(c => (c.Id, c.ModelId, c.Width, c.Height)), cams.Select(c => (c.Id, c.ModelId, c.Width, c.Height)));
        for (int i = 0; i < cams.Count; i++) Assert.Equal(Cameras[i].Params, cams[i].Params);
        var imgs = ColmapBinary.ReadImages(Path.Combine(sparse, "images.bin"));
        Assert.Equal(Images.Select(i => (i.Id, i.Name, i.CameraId, i.Qw, i.Tz)), imgs.Select(i => (i.Id, i.Name, i.CameraId, i.Qw, i.Tz)));
        for (int i = 0; i < imgs.Count; i++) Assert.Equal(Images[i].Points2D, imgs[i].Points2D);
        var pts = ColmapBinary.ReadPoints3D(Path.Combine(sparse, "points3D.bin"));
        var expected = Points();
        Assert.Equal(expected.Length, pts.Count);
        for (int i = 0; i < pts.Count; i++)
        {
            Assert.Equal((expected[i].Id, expected[i].X, expected[i].R, expected[i].B, expected[i].Error), (pts[i].Id, pts[i].X, pts[i].R, pts[i].B, pts[i].Error));
            Assert.Equal(expected[i].Track, pts[i].Track);
        }

        // The scene: detected as COLMAP, views by stem (names with spaces), cameras that project like COLMAP's.
        Assert.Equal(SceneLayout.Colmap, SceneInspector.DetectLayout(dir.Path));
        Assert.Equal((sparse, true), ColmapLayout.FindModel(dir.Path)!.Value);
        var s = SceneInspector.Read(dir.Path);
        Assert.Equal(new[] { "left view 01", "left view 02", "right view 1", "right view 2" }, s.Views.Select(v => v.Name));
        Assert.Equal("OPENCV", s.View("left view 01").Distortion!.Model);
        Assert.Equal("SIMPLE_RADIAL", s.View("right view 2").Distortion!.Model);
        Assert.Equal((40, 30), (s.View("right view 1").Camera.Width, s.View("right view 1").Camera.Height));
        AssertProjectsLike(Cameras, Images, s);

        // The point cloud comes through as points3D.ply beside the model.
        Assert.Equal(Path.Combine(sparse, "points3D.ply"), s.PointCloudPath);
        var (pos, col) = PointCloudPly.Read(s.PointCloudPath!);
        Assert.Equal(expected.SelectMany(p => new[] { (float)p.X, (float)p.Y, (float)p.Z }), pos);
        Assert.Equal(expected.SelectMany(p => new[] { p.R, p.G, p.B }), col);
    }

    private static string S(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// A model as COLMAP writes it, both as text (model_converter --output_type TXT) and as binary bytes laid out by
    /// hand from the format (not through <see cref="ColmapBinary.Write"/>).
    /// </summary>
    private static void WriteTextAndHandMadeBinary(string textRoot, string binRoot)
    {
        var cams = new[]
        {
            (Id: 2, Model: 6, Name: "FULL_OPENCV", W: 48, H: 36, P: new[] { 50.1, 49.7, 23.9, 18.2, -0.1, 0.02, 0.001, 0.0005, -0.003, 0.05, 0.004, 0.0002 }),
            (Id: 9, Model: 3, Name: "RADIAL", W: 48, H: 36, P: new[] { 52.0, 24.1, 17.8, -0.05, 0.01 }),
            (Id: 4, Model: 1, Name: "PINHOLE", W: 32, H: 24, P: new[] { 30.0, 31.0, 16.0, 12.0 }),
        };
        var imgs = new[]
        {
            (Id: 1, Q: Quat(0.3, 1, 0, 0.5), T: new[] { 0.1, 0.2, 3.0 }, Cam: 2, Name: "frame 0001.png"),
            (Id: 2, Q: Quat(-0.2, 0, 1, 0), T: new[] { -0.4, 0.0, 3.5 }, Cam: 9, Name: "frame 0002.png"),
            (Id: 3, Q: Quat(0.05, 1, 1, 1), T: new[] { 0.0, -0.1, 2.5 }, Cam: 4, Name: "frame 0003.png"),
        };
        var pts = new[] { (Id: 7UL, X: 0.5, Y: -0.25, Z: 1.0, C: new byte[] { 10, 200, 30 }), (Id: 8UL, X: -0.1, Y: 0.3, Z: -0.7, C: new byte[] { 255, 0, 128 }) };

        foreach (var root in new[] { textRoot, binRoot })
            WriteImages(root, imgs.Select(i => (i.Name, cams.First(c => c.Id == i.Cam).W, cams.First(c => c.Id == i.Cam).H)));

        var txt = Path.Combine(textRoot, "sparse", "0");
        Directory.CreateDirectory(txt);
        File.WriteAllText(Path.Combine(txt, "cameras.txt"), "# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n# Number of cameras: 3\n" +
            string.Concat(cams.Select(c => $"{c.Id} {c.Name} {c.W} {c.H} {string.Join(' ', c.P.Select(S))}\n")));
        File.WriteAllText(Path.Combine(txt, "images.txt"), "# Image list with two lines of data per image:\n" +
            string.Concat(imgs.Select(i => $"{i.Id} {string.Join(' ', i.Q.Select(S))} {string.Join(' ', i.T.Select(S))} {i.Cam} {i.Name}\n12.5 3.5 7\n")));
        File.WriteAllText(Path.Combine(txt, "points3D.txt"), "# 3D point list\n" +
            string.Concat(pts.Select(p => $"{p.Id} {S(p.X)} {S(p.Y)} {S(p.Z)} {p.C[0]} {p.C[1]} {p.C[2]} 0.5 1 0\n")));

        var bin = Path.Combine(binRoot, "sparse");
        Directory.CreateDirectory(bin);
        var b = new List<byte>();
        void U64(ulong v) { var x = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(x, v); b.AddRange(x); }
        void I32(int v) { var x = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(x, v); b.AddRange(x); }
        void F64(double v) { var x = new byte[8]; BinaryPrimitives.WriteDoubleLittleEndian(x, v); b.AddRange(x); }
        void Flush(string name) { File.WriteAllBytes(Path.Combine(bin, name), b.ToArray()); b.Clear(); }
        U64((ulong)cams.Length);
        foreach (var c in cams) { I32(c.Id); I32(c.Model); U64((ulong)c.W); U64((ulong)c.H); foreach (var p in c.P) F64(p); }
        Flush("cameras.bin");
        U64((ulong)imgs.Length);
        foreach (var i in imgs)
        {
            I32(i.Id); foreach (var v in i.Q) F64(v); foreach (var v in i.T) F64(v); I32(i.Cam);
            b.AddRange(Encoding.UTF8.GetBytes(i.Name)); b.Add(0);
            U64(1); F64(12.5); F64(3.5); U64(7);
        }
        Flush("images.bin");
        U64((ulong)pts.Length);
        foreach (var p in pts) { U64(p.Id); F64(p.X); F64(p.Y); F64(p.Z); b.AddRange(p.C); F64(0.5); U64(1); I32(1); I32(0); }
        Flush("points3D.bin");
    }

    [Fact]
    public void Binary_ReadsTheSameSceneAsTheText()
    {
        using var t = new TempDir();
        using var b = new TempDir();
        WriteTextAndHandMadeBinary(t.Path, b.Path);
        var st = SceneInspector.Read(t.Path);
        var sb = SceneInspector.Read(b.Path);
        Assert.False(ColmapLayout.FindModel(t.Path)!.Value.Binary);
        Assert.True(ColmapLayout.FindModel(b.Path)!.Value.Binary);
        Assert.Equal(3, st.Views.Count);
        Assert.Equal(st.Views.Select(v => v.Name), sb.Views.Select(v => v.Name));
        Assert.Equal(new[] { "frame 0001", "frame 0002", "frame 0003" }, sb.Views.Select(v => v.Name));
        for (int i = 0; i < st.Views.Count; i++)
        {
            var (vt, vb) = (st.Views[i], sb.Views[i]);
            Assert.Equal((vt.Camera.Width, vt.Camera.Height, vt.Camera.Fx, vt.Camera.Fy, vt.Camera.Cx, vt.Camera.Cy),
                (vb.Camera.Width, vb.Camera.Height, vb.Camera.Fx, vb.Camera.Fy, vb.Camera.Cx, vb.Camera.Cy));
            Assert.Equal(vt.Camera.CameraToWorld, vb.Camera.CameraToWorld); // text "R" round-trips doubles exactly
            Assert.Equal(vt.Distortion, vb.Distortion);
            Assert.Equal(Path.GetFileName(vt.ImagePath), Path.GetFileName(vb.ImagePath));
        }
        Assert.Equal("FULL_OPENCV", sb.Views[0].Distortion!.Model);
        Assert.Equal("RADIAL", sb.Views[1].Distortion!.Model);
        Assert.Null(sb.Views[2].Distortion);
        Assert.Equal(st.TrainViews, sb.TrainViews);
        Assert.Equal(PointCloudPly.Read(st.PointCloudPath!).Positions, PointCloudPly.Read(sb.PointCloudPath!).Positions);
        Assert.Equal(PointCloudPly.Read(st.PointCloudPath!).Colors, PointCloudPly.Read(sb.PointCloudPath!).Colors);

        // The FULL_OPENCV and RADIAL views project like COLMAP's own formulas.
        var rng = new Random(1);
        var fullQ = Quat(0.3, 1, 0, 0.5);
        double[] full = [50.1, 49.7, 23.9, 18.2, -0.1, 0.02, 0.001, 0.0005, -0.003, 0.05, 0.004, 0.0002];
        for (int k = 0; k < 20; k++)
        {
            double X = rng.NextDouble() - 0.5, Y = rng.NextDouble() - 0.5, Z = rng.NextDouble() - 0.5;
            var e = ColmapProject(6, full, fullQ, [0.1, 0.2, 3.0], X, Y, Z);
            var a = ReadProject(sb.Views[0], X, Y, Z);
            Assert.Equal(e.U, a.U, 1e-6);
            Assert.Equal(e.V, a.V, 1e-6);
        }

        // Both models in one folder: the text one is read.
        var sparseT = Path.Combine(t.Path, "sparse", "0");
        foreach (var f in new[] { "cameras.bin", "images.bin", "points3D.bin" }) File.Copy(Path.Combine(b.Path, "sparse", f), Path.Combine(sparseT, f));
        Assert.False(ColmapLayout.FindModel(t.Path)!.Value.Binary);
    }

    public static TheoryData<string, int> Truncations => new()
    {
        { "cameras.bin", 0 }, { "cameras.bin", 5 }, { "cameras.bin", 8 }, { "cameras.bin", 30 }, { "cameras.bin", -1 },
        { "images.bin", 0 }, { "images.bin", 12 }, { "images.bin", 75 }, { "images.bin", 90 }, { "images.bin", -1 },
        { "points3D.bin", 3 }, { "points3D.bin", 20 }, { "points3D.bin", 50 }, { "points3D.bin", -1 },
    };

    private static void AssertRejected(string root, string file, params string[] fragments)
    {
        var e = Assert.Throws<InvalidDataException>(() => SceneInspector.Read(root));
        Assert.Contains(file, e.Message);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
    }

    [Theory]
    [MemberData(nameof(Truncations))]
    public void Binary_Truncated_IsInvalidDataNamingTheFile(string file, int length)
    {
        using var dir = new TempDir();
        var path = Path.Combine(WriteModel(dir.Path), file);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(length < 0 ? bytes.Length + length : length)]);
        AssertRejected(dir.Path, path);
    }

    [Fact]
    public void Binary_UnknownModelId_IsInvalidDataNamingTheFileAndTheId()
    {
        using var dir = new TempDir();
        var path = Path.Combine(WriteModel(dir.Path), "cameras.bin");
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8 + 4), 99); // first camera's model_id
        File.WriteAllBytes(path, bytes);
        AssertRejected(dir.Path, path, "unknown model id 99");
    }

    [Fact]
    public void Binary_UnsupportedModel_IsInvalidDataNamingTheModel()
    {
        using var dir = new TempDir();
        var sparse = WriteModel(dir.Path);
        ColmapBinary.Write(sparse, [Cameras[0] with { ModelId = 7, Params = [70, 68, 31, 24, 0.1] }, Cameras[1]], Images);
        AssertRejected(dir.Path, Path.Combine(sparse, "cameras.bin"), "FOV");
    }

    [Theory]
    [InlineData("cameras.bin", 0)]
    [InlineData("images.bin", 0)]
    [InlineData("points3D.bin", 0)]
    [InlineData("images.bin", 8 + 4 + 56 + 4 + 17)] // num_points2D of the first image ("left view 01.png" + NUL = 17 bytes)
    [InlineData("points3D.bin", 8 + 8 + 24 + 3 + 8)] // track_length of the first point
    public void Binary_HugeCount_IsInvalidDataNotOutOfMemory(string file, int offset)
    {
        using var dir = new TempDir();
        var path = Path.Combine(WriteModel(dir.Path), file);
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset), 1UL << 40);
        File.WriteAllBytes(path, bytes);
        AssertRejected(dir.Path, path, "1099511627776");
    }

    [Fact]
    public void Info_SaysWhichModelAndWhatItDidAboutDistortion()
    {
        using var dir = new TempDir();
        WriteModel(dir.Path);
        var sw = new StringWriter(); var err = new StringWriter();
        int code = UniCLift.Client.Cli.Build().Parse(["info", dir.Path, "--sample", "2"])
            .Invoke(new System.CommandLine.InvocationConfiguration { Output = sw, Error = err });
        Assert.True(code == 0, err.ToString());
        // The table may wrap a long cell over several lines: drop the borders and join the words.
        var o = string.Join(' ', sw.ToString().Split([' ', '\n', '\r', '│', '─', '╭', '╮', '╰', '╯', '├', '┤', '┬', '┴', '┼'], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("sparse/0 (binary", o);
        Assert.Contains("OPENCV k1=-0.21", o);
        Assert.Contains("SIMPLE_RADIAL k1=0.12", o);
        Assert.Contains("on 2 views", o);
        Assert.Contains("undistorted to pinhole at load", o);
    }
}
