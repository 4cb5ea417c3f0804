namespace UniCLift.Tests.IO;

using System.Buffers.Binary;
using System.Text;
using UniCLift.Compute.IO;

public class PlyTests
{
    private static PlyFile Sample(PlyFormat format) => new()
    {
        Format = format,
        Comments = ["made by a test", "second comment"],
        Elements =
        [
            new PlyElement("vertex",
            [
                PlyColumn.Of("x", new[] { 1.5f, -2.25f, 1e-7f }),
                PlyColumn.Of("d", new[] { Math.PI, -1e300, 0.1 }),
                new PlyColumn("c", PlyType.Int8, new sbyte[] { -128, 0, 127 }),
                PlyColumn.Of("red", new byte[] { 0, 128, 255 }),
                new PlyColumn("s", PlyType.Int16, new short[] { -32768, 5, 32767 }),
                new PlyColumn("us", PlyType.UInt16, new ushort[] { 0, 1, 65535 }),
                PlyColumn.Of("i", new[] { int.MinValue, 16777217, int.MaxValue }),
                new PlyColumn("u", PlyType.UInt32, new uint[] { 0, 3000000000, uint.MaxValue }),
            ]),
            new PlyElement("camera", [PlyColumn.Of("f", new[] { 500f, 600f })]),
        ],
    };

    [Theory]
    [InlineData(PlyFormat.Ascii)]
    [InlineData(PlyFormat.BinaryLittleEndian)]
    public void RoundTrips_AllScalarTypes_MultipleElements_Comments(PlyFormat format)
    {
        using var dir = new TempDir();
        var path = dir.File("a.ply");
        var src = Sample(format);
        Ply.Write(path, src);
        var back = Ply.Read(path);
        Assert.Equal(format, back.Format);
        Assert.Equal(src.Comments, back.Comments);
        Assert.Equal(["vertex", "camera"], back.Elements.Select(e => e.Name));
        for (int k = 0; k < src.Elements.Count; k++)
        {
            var a = src.Elements[k];
            var b = back.Elements[k];
            Assert.Equal(a.Count, b.Count);
            Assert.Equal(a.Columns.Select(c => (c.Name, c.Type)), b.Columns.Select(c => (c.Name, c.Type)));
            for (int c = 0; c < a.Columns.Count; c++) Assert.Equal(a.Columns[c].Values, b.Columns[c].Values);
        }
        Assert.Equal(16777217, back.Element("vertex").Column("i").AsInt32()[1]);
    }

    [Fact]
    public void Ascii_ListPropertiesAreSkipped_AndAliasesUnderstood()
    {
        using var dir = new TempDir();
        var path = dir.File("mesh.ply");
        File.WriteAllText(path, """
            ply
            format ascii 1.0
            comment a mesh
            obj_info whatever
            element vertex 3
            property float32 x
            property float32 y
            property float32 z
            property uint8 red
            element face 2
            property list uchar int vertex_indices
            property int flag
            element edge 1
            property int a
            end_header
            0 0 0 10
            1 0 0 20
            0 1 0 30
            3 0 1 2 7
            4 0 1 2 0 8
            99

            """.Replace("\r", ""));
        var ply = Ply.Read(path);
        var v = ply.Element("vertex");
        Assert.Equal(new[] { 0f, 1f, 0f }, v.Column("x").AsSingle());
        Assert.Equal(new byte[] { 10, 20, 30 }, (byte[])v.Column("red").Values);
        var f = ply.Element("face");
        Assert.True(f.Properties[0].IsList);
        Assert.False(f.Has("vertex_indices"));
        Assert.Equal(new[] { 7, 8 }, f.Column("flag").AsInt32());
        Assert.Equal(new[] { 99 }, ply.Element("edge").Column("a").AsInt32());
    }

    [Fact]
    public void BinaryLittleAndBigEndian_ListPropertiesAreSkipped()
    {
        foreach (bool big in new[] { false, true })
        {
            var o = new MemoryStream();
            o.Write(Encoding.ASCII.GetBytes($"ply\r\nformat {(big ? "binary_big_endian" : "binary_little_endian")} 1.0\r\nelement vertex 2\r\nproperty double x\r\nproperty ushort t\r\n" +
                                            "element face 2\r\nproperty list uchar uint vertex_indices\r\nproperty float w\r\nelement tail 1\r\nproperty short z\r\nend_header\r\n"));
            void F64(double v) { var b = new byte[8]; if (big) BinaryPrimitives.WriteDoubleBigEndian(b, v); else BinaryPrimitives.WriteDoubleLittleEndian(b, v); o.Write(b); }
            void U16(ushort v) { var b = new byte[2]; if (big) BinaryPrimitives.WriteUInt16BigEndian(b, v); else BinaryPrimitives.WriteUInt16LittleEndian(b, v); o.Write(b); }
            void U32(uint v) { var b = new byte[4]; if (big) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v); o.Write(b); }
            void F32(float v) { var b = new byte[4]; if (big) BinaryPrimitives.WriteSingleBigEndian(b, v); else BinaryPrimitives.WriteSingleLittleEndian(b, v); o.Write(b); }
            F64(1.25); U16(300); F64(-7); U16(65535);
            o.WriteByte(3); U32(0); U32(1); U32(2); F32(0.5f);
            o.WriteByte(0); F32(-1f);
            U16(0xFFFE); // short -2
            var ply = Ply.Read(new MemoryStream(o.ToArray()), "b.ply");
            Assert.Equal(new[] { 1.25, -7 }, ply.Element("vertex").Column("x").AsDouble());
            Assert.Equal(new[] { 300, 65535 }, ply.Element("vertex").Column("t").AsInt32());
            Assert.Equal(new[] { 0.5f, -1f }, ply.Element("face").Column("w").AsSingle());
            Assert.Equal(new[] { -2 }, ply.Element("tail").Column("z").AsInt32());
        }
    }

    [Fact]
    public void TruncatedBinaryBody_NamesFileElementAndRow()
    {
        using var dir = new TempDir();
        var path = dir.File("cut.ply");
        var n = 5;
        var src = new PlyFile { Elements = [new PlyElement("vertex", [PlyColumn.Of("x", new float[n]), PlyColumn.Of("y", new float[n])])] };
        Ply.Write(path, src);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 2 * 8 - 3)]); // 2.x rows missing
        var e = Assert.Throws<InvalidDataException>(() => Ply.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("expected 5 vertex", e.Message);
        Assert.Contains("file ends at vertex 2", e.Message);
    }

    [Fact]
    public void A_Binary_Header_Declaring_Fewer_Rows_Than_The_Body_Holds_Is_An_Error_And_Padding_Is_Not()
    {
        using var dir = new TempDir();
        var path = dir.File("more.ply");
        var n = 5;
        Ply.Write(path, new PlyFile { Elements = [new PlyElement("vertex", [PlyColumn.Of("x", new float[n]), PlyColumn.Of("y", new float[n])])] });
        var text = File.ReadAllBytes(path);
        var edited = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(text).Replace("element vertex 5", "element vertex 3"));
        File.WriteAllBytes(path, edited);
        var e = Assert.Throws<InvalidDataException>(() => Ply.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("16 bytes follow the 3 'vertex' rows", e.Message);
        Assert.Contains("room for 2 more", e.Message);

        File.WriteAllBytes(path, [.. text, 0, 0, 0]); // padding shorter than a row
        Assert.Equal(5, Ply.Read(path).Elements[0].Count);
    }

    [Theory]
    [InlineData("binary_little_endian 1.0")]
    [InlineData("ascii 1.0")]
    public void AHeaderDeclaringMoreRowsThanTheFileHolds_IsAnErrorBeforeAnythingIsAllocated(string format)
    {
        // Two billion vertices of 62 floats would be 500 GB of columns: refused from the file's size, no OutOfMemoryException.
        var header = $"ply\nformat {format}\nelement vertex 2000000000\n" + string.Concat(Enumerable.Range(0, 62).Select(i => $"property float f{i}\n")) + "end_header\n";
        var e = Assert.Throws<InvalidDataException>(() => Ply.Read(new MemoryStream(Encoding.ASCII.GetBytes(header + "1 2 3\n")), "huge.ply"));
        Assert.Contains("huge.ply", e.Message);
        Assert.Contains("expected 2000000000 vertex rows, file ends at vertex 0", e.Message);
    }

    [Fact]
    public void TruncatedAsciiBody_NamesFileElementAndRow()
    {
        var text = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n1\n2\n";
        var e = Assert.Throws<InvalidDataException>(() => Ply.Read(new MemoryStream(Encoding.ASCII.GetBytes(text)), "t.ply"));
        Assert.Contains("t.ply", e.Message);
        Assert.Contains("file ends at vertex 2", e.Message);
    }

    [Theory]
    [InlineData("ply\nformat binary_middle_endian 1.0\nend_header\n", "unknown PLY format 'binary_middle_endian'")]
    [InlineData("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n", "no 'end_header'")]
    [InlineData("plx\nformat ascii 1.0\n", "not a PLY file")]
    [InlineData("ply\nformat ascii 1.0\nelement vertex 1\nproperty quad x\nend_header\n", "unknown PLY type 'quad'")]
    [InlineData("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\nabc\n", "'abc' is not a number")]
    public void MalformedFiles_AreErrorsNamingTheFile(string text, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => Ply.Read(new MemoryStream(Encoding.ASCII.GetBytes(text)), "m.ply"));
        Assert.Contains("m.ply", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void PointCloud_RoundTrips_AndReadsFloatColours()
    {
        using var dir = new TempDir();
        var path = dir.File("pc.ply");
        float[] pos = [1, 2, 3, -4, 5.5f, 6];
        byte[] col = [10, 20, 30, 255, 0, 128];
        PointCloudPly.Write(path, pos, col);
        var (p, c) = PointCloudPly.Read(path);
        Assert.Equal(pos, p);
        Assert.Equal(col, c);

        var fpath = dir.File("fc.ply");
        File.WriteAllText(fpath, "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nproperty float red\nproperty float green\nproperty float blue\nend_header\n0 0 0 1 0 0.5\n1 1 1 0 1 0\n");
        var (_, fc) = PointCloudPly.Read(fpath);
        Assert.Equal(new byte[] { 255, 0, 128, 0, 255, 0 }, fc);

        var npath = dir.File("nc.ply");
        File.WriteAllText(npath, "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2 3\n");
        Assert.Equal(new byte[] { 128, 128, 128 }, PointCloudPly.Read(npath).Colors);
    }

    [Theory]
    [InlineData("element vertex 2", "0 0 0\n1 nan 1\n", "point 1 has y = NaN")]
    [InlineData("element vertex 2", "0 0 0\n1e39 1 1\n", "point 1 has x = ")] // past float: infinite
    [InlineData("element vertex 0", "", "the point cloud has no points")]
    public void A_Point_Cloud_Without_Points_Or_With_A_Position_That_Is_Not_Finite_Names_The_File(string element, string body, string expected)
    {
        // A Gaussian at NaN trains to nothing and ends in labels.ply; an empty cloud said "The initial point cloud is
        // empty" without a file.
        using var dir = new TempDir();
        var path = dir.File("cloud.ply");
        File.WriteAllText(path, $"ply\nformat ascii 1.0\n{element}\nproperty float x\nproperty float y\nproperty float z\nend_header\n{body}");
        var e = Assert.Throws<InvalidDataException>(() => PointCloudPly.Read(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
