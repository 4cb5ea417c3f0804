namespace UniCLift.Tests.IO;

using UniCLift.Compute.IO;

public class GaussianPlyTests
{
    private static GaussianCloud Random(int n, int degree, int seed)
    {
        var r = new Random(seed);
        float[] F(int len) => Enumerable.Range(0, len).Select(_ => (float)(r.NextDouble() * 4 - 2)).ToArray();
        int k1 = (degree + 1) * (degree + 1) - 1;
        return new GaussianCloud
        {
            Count = n,
            Means = F(n * 3),
            Normals = new float[n * 3],
            ShDc = F(n * 3),
            ShRest = F(n * k1 * 3),
            ShDegree = degree,
            Opacity = F(n),
            LogScales = F(n * 3),
            Rotations = F(n * 4),
            Extra = new() { ["instance"] = Enumerable.Range(0, n).Select(i => (float)(i % 7)).ToArray() },
        };
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void RoundTrips_WithExtraProperties(int degree)
    {
        using var dir = new TempDir();
        var g = Random(50, degree, degree + 1);
        for (int k = 0; k < 12; k++) g.Extra[$"emb_{k}"] = Enumerable.Range(0, 50).Select(i => (float)(i * k) / 7f).ToArray();
        var path = dir.File("point_cloud.ply");
        GaussianPly.Write(path, g);
        var b = GaussianPly.Read(path);
        Assert.Equal(g.Count, b.Count);
        Assert.Equal(degree, b.ShDegree);
        Assert.Equal(g.Means, b.Means);
        Assert.Equal(g.Normals, b.Normals);
        Assert.Equal(g.ShDc, b.ShDc);
        Assert.Equal(g.ShRest, b.ShRest);
        Assert.Equal(g.Opacity, b.Opacity);
        Assert.Equal(g.LogScales, b.LogScales);
        Assert.Equal(g.Rotations, b.Rotations);
        Assert.Equal(g.Extra.Keys, b.Extra.Keys);
        foreach (var (k, v) in g.Extra) Assert.Equal(v, b.Extra[k]);
    }

    [Fact]
    public void FileLayout_IsGraphdeco_ChannelMajorRest()
    {
        using var dir = new TempDir();
        var g = Random(4, 3, 9);
        var path = dir.File("g.ply");
        GaussianPly.Write(path, g);
        var v = Ply.Read(path).Element("vertex");
        var names = v.Columns.Select(c => c.Name).ToList();
        var expected = new List<string> { "x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2" };
        expected.AddRange(Enumerable.Range(0, 45).Select(i => $"f_rest_{i}"));
        expected.AddRange(["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "instance"]);
        Assert.Equal(expected, names);
        Assert.All(v.Columns, c => Assert.Equal(PlyType.Float32, c.Type));
        // f_rest_{c*15+j} of Gaussian i is ShRest[(i*15+j)*3+c]: all of R's coefficients, then G's, then B's.
        var fr = v.Column("f_rest_17").AsSingle(); // channel 1 (G), coefficient 2
        for (int i = 0; i < 4; i++) Assert.Equal(g.ShRest[(i * 15 + 2) * 3 + 1], fr[i]);
        Assert.Equal(g.Rotations[2 * 4 + 0], v.Column("rot_0").AsSingle()[2]); // w first
    }

    [Fact]
    public void MissingProperty_IsAnErrorNamingFileAndProperty()
    {
        using var dir = new TempDir();
        var path = dir.File("point_cloud.ply");
        var cols = new List<PlyColumn>();
        foreach (var n in new[] { "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3" })
            cols.Add(PlyColumn.Of(n, new float[2]));
        Ply.Write(path, new PlyFile { Elements = [new PlyElement("vertex", cols)] });
        var e = Assert.Throws<InvalidDataException>(() => GaussianPly.Read(path));
        Assert.Equal($"{path} is not a 3DGS PLY: missing property 'scale_0'.", e.Message);
    }

    [Fact]
    public void WrongShCount_IsAnError()
    {
        using var dir = new TempDir();
        var path = dir.File("g.ply");
        var cols = new List<PlyColumn>();
        foreach (var n in new[] { "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "f_rest_0", "f_rest_1", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3" })
            cols.Add(PlyColumn.Of(n, new float[1]));
        Ply.Write(path, new PlyFile { Elements = [new PlyElement("vertex", cols)] });
        var e = Assert.Throws<InvalidDataException>(() => GaussianPly.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("2 f_rest", e.Message);
    }
}
