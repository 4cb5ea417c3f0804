namespace UniCLift.Tests.IO;

using System.Buffers.Binary;
using System.Text;
using UniCLift.Compute.IO;

public class NpyTests
{
    /// <summary>A .npy file with the given raw header dict and body (version 1.0 unless told).</summary>
    private static byte[] Make(string dict, byte[] body, int major = 1)
    {
        var o = new MemoryStream();
        o.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0]);
        var h = Encoding.ASCII.GetBytes(dict + "\n");
        if (major == 1) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)h.Length); o.Write(b); }
        else { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)h.Length); o.Write(b); }
        o.Write(h);
        o.Write(body);
        return o.ToArray();
    }

    [Fact]
    public void Int32_Float32_UInt16_UInt8_RoundTrip_WithAlignedHeader()
    {
        using var dir = new TempDir();
        var ints = new[] { 1, -2, 3, int.MaxValue, int.MinValue, 0 };
        Npy.Write(dir.File("i.npy"), [2, 3], ints);
        var a = Npy.Read(dir.File("i.npy"));
        Assert.Equal([2, 3], a.Shape);
        Assert.Equal("<i4", a.Dtype);
        Assert.Equal(ints, a.ToInt32());
        // numpy aligns the data to 64 bytes: magic(6) + version(2) + len(2) + header.
        var bytes = File.ReadAllBytes(dir.File("i.npy"));
        int hl = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.Equal(0, (10 + hl) % 64);
        Assert.Equal((byte)'\n', bytes[10 + hl - 1]);

        var floats = new[] { 1.5f, float.NaN, -0f, 3e38f };
        Npy.Write(dir.File("f.npy"), [4], floats);
        var f = Npy.Read(dir.File("f.npy"));
        Assert.Equal([4], f.Shape);
        Assert.Equal(floats, f.ToSingle());

        var us = new ushort[] { 0, 65535, 300 };
        Npy.Write(dir.File("u.npy"), [3, 1], us);
        Assert.Equal(new[] { 0, 65535, 300 }, Npy.Read(dir.File("u.npy")).ToInt32());

        var bs = new byte[] { 0, 255, 7, 9 };
        Npy.Write(dir.File("b.npy"), [2, 2], bs);
        var b = Npy.Read(dir.File("b.npy"));
        Assert.Equal("|u1", b.Dtype);
        Assert.Equal(new[] { 0, 255, 7, 9 }, b.ToInt32());
    }

    [Fact]
    public void BigEndian_IsByteSwapped()
    {
        var body = new byte[12];
        BinaryPrimitives.WriteInt32BigEndian(body, 70000);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), -5);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(8), 1);
        var a = Npy.Read(Make("{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }", body), "be.npy");
        Assert.Equal(new[] { 70000, -5, 1 }, a.ToInt32());

        var d = new byte[16];
        BinaryPrimitives.WriteDoubleBigEndian(d, Math.PI);
        BinaryPrimitives.WriteDoubleBigEndian(d.AsSpan(8), -2.25);
        Assert.Equal(new[] { Math.PI, -2.25 }, Npy.Read(Make("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", d), "be.npy").ToDouble());

        var u = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(u, 513);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), 65000);
        Assert.Equal(new[] { 513, 65000 }, Npy.Read(Make("{'descr': '>u2', 'fortran_order': False, 'shape': (1, 2), }", u), "be.npy").ToInt32());
    }

    [Fact]
    public void FortranOrder_IsTransposedToCOrder()
    {
        // C array [[1,2,3],[4,5,6]] stored column-major: 1 4 2 5 3 6.
        var body = new byte[24];
        int[] f = [1, 4, 2, 5, 3, 6];
        for (int i = 0; i < 6; i++) BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(i * 4), f[i]);
        var a = Npy.Read(Make("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", body), "f.npy");
        Assert.Equal([2, 3], a.Shape);
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, a.ToInt32());

        // 3-D (2,3,2): element (i,j,k) = 100i + 10j + k; Fortran offset = i + 2j + 6k.
        var b3 = new byte[12 * 2];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 2; k++)
                    BinaryPrimitives.WriteInt16LittleEndian(b3.AsSpan((i + 2 * j + 6 * k) * 2), (short)(100 * i + 10 * j + k));
        var c = Npy.Read(Make("{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 2), }", b3), "f3.npy").ToInt32();
        var expect = new List<int>();
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 2; k++) expect.Add(100 * i + 10 * j + k);
        Assert.Equal(expect, c);
    }

    [Fact]
    public void Version2And3_Bool_Int64_Half()
    {
        var body = new byte[] { 1, 0, 1 };
        Assert.Equal(new[] { 1, 0, 1 }, Npy.Read(Make("{\"descr\": \"|b1\", \"fortran_order\": False, \"shape\": (3,)}", body, major: 2), "v2.npy").ToInt32());
        var i8 = new byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(i8, 42);
        BinaryPrimitives.WriteInt64LittleEndian(i8.AsSpan(8), -7);
        Assert.Equal(new[] { 42, -7 }, Npy.Read(Make("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", i8, major: 3), "v3.npy").ToInt32());
        var h = new byte[2];
        BinaryPrimitives.WriteHalfLittleEndian(h, (Half)0.5f);
        Assert.Equal(new[] { 0.5f }, Npy.Read(Make("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", h), "h.npy").ToSingle());
    }

    [Fact]
    public void TruncatedData_IsAnErrorNamingTheFile()
    {
        using var dir = new TempDir();
        var path = dir.File("cut.npy");
        File.WriteAllBytes(path, Make("{'descr': '<i4', 'fortran_order': False, 'shape': (4, 4), }", new byte[60]));
        var e = Assert.Throws<InvalidDataException>(() => Npy.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("64 bytes", e.Message);
    }

    [Theory]
    [InlineData("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", "unsupported .npy dtype '<c16'")]
    [InlineData("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "unsupported .npy dtype '|O'")]
    [InlineData("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }", "structured")]
    [InlineData("{'descr': '<i4', 'fortran_order': False, }", "shape")]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': (1,", "malformed")]
    public void BadHeaders_AreErrorsNamingTheFile(string dict, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => Npy.Read(Make(dict, new byte[16]), "bad.npy"));
        Assert.Contains("bad.npy", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void NonIntegerFloats_CannotBecomeLabels()
    {
        var body = new byte[8];
        BinaryPrimitives.WriteSingleLittleEndian(body, 2f);
        BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(4), 2.5f);
        var a = Npy.Read(Make("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", body), "fl.npy");
        var e = Assert.Throws<InvalidDataException>(() => a.ToInt32());
        Assert.Contains("fl.npy", e.Message);
        Assert.Contains("2.5", e.Message);
    }
}
