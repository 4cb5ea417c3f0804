namespace UniCLift.Compute.IO;

using System.Globalization;

/// <summary>
/// The graphdeco 3DGS point_cloud.ply: element vertex with float x y z nx ny nz f_dc_0..2 f_rest_0..(3(K-1)-1)
/// opacity scale_0..2 rot_0..3, then any extra properties (read as float whatever their type; written as float).
/// <see cref="Read"/> also reads SuperSplat / PlayCanvas compressed PLYs (elements chunk + vertex with packed_position;
/// see <see cref="CompressedGaussianPly"/>) into the same cloud, up to their quantisation.
/// </summary>
public static class GaussianPly
{
    private static readonly string[] Required =
        ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"];

    public static GaussianCloud Read(string path)
    {
        var ply = Ply.Read(path);
        if (CompressedGaussianPly.IsCompressed(ply)) return CompressedGaussianPly.Decode(ply, path);
        var v = ply.Find("vertex") ?? throw new InvalidDataException($"{path} is not a 3DGS PLY: no 'vertex' element.");
        foreach (var name in Required)
            if (!v.Has(name)) throw new InvalidDataException($"{path} is not a 3DGS PLY: missing property '{name}'.");

        int n = v.Count;
        int restCount = v.Columns.Count(c => c.Name.StartsWith("f_rest_", StringComparison.Ordinal));
        int degree = restCount switch { 0 => 0, 9 => 1, 24 => 2, 45 => 3, _ => -1 };
        if (degree < 0) throw new InvalidDataException($"{path}: {restCount} f_rest properties, expected 0, 9, 24 or 45 (SH degree 0..3).");
        int k1 = (degree + 1) * (degree + 1) - 1;
        var rest = new float[n * k1 * 3];
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < k1; j++)
            {
                string name = "f_rest_" + (c * k1 + j).ToString(CultureInfo.InvariantCulture);
                var col = (v.Find(name) ?? throw new InvalidDataException($"{path} is not a 3DGS PLY: missing property '{name}'.")).AsSingle();
                for (int i = 0; i < n; i++) rest[(i * k1 + j) * 3 + c] = col[i];
            }

        float[] Interleave(params string[] names)
        {
            var r = new float[n * names.Length];
            for (int k = 0; k < names.Length; k++)
            {
                var col = v.Find(names[k])?.AsSingle();
                if (col is null) continue; // only optional normals can be absent here
                for (int i = 0; i < n; i++) r[i * names.Length + k] = col[i];
            }
            return r;
        }

        var known = new HashSet<string>(Required) { "nx", "ny", "nz" };
        var extra = new Dictionary<string, float[]>();
        foreach (var c in v.Columns)
            if (!known.Contains(c.Name) && !c.Name.StartsWith("f_rest_", StringComparison.Ordinal))
                extra[c.Name] = c.AsSingle();

        return new GaussianCloud
        {
            Count = n,
            Means = Interleave("x", "y", "z"),
            Normals = Interleave("nx", "ny", "nz"),
            ShDc = Interleave("f_dc_0", "f_dc_1", "f_dc_2"),
            ShRest = rest,
            ShDegree = degree,
            Opacity = v.Column("opacity").AsSingle(),
            LogScales = Interleave("scale_0", "scale_1", "scale_2"),
            Rotations = Interleave("rot_0", "rot_1", "rot_2", "rot_3"),
            Extra = extra,
        };
    }

    /// <summary>Writes binary little-endian float32 in the graphdeco property order, extras last.</summary>
    public static void Write(string path, GaussianCloud g)
    {
        g.Validate();
        int n = g.Count, k1 = g.ShCoefficients - 1;
        var cols = new List<PlyColumn>();
        void Split(float[] src, int per, params string[] names)
        {
            for (int k = 0; k < names.Length; k++)
            {
                var a = new float[n];
                for (int i = 0; i < n; i++) a[i] = src[i * per + k];
                cols.Add(PlyColumn.Of(names[k], a));
            }
        }
        Split(g.Means, 3, "x", "y", "z");
        Split(g.Normals, 3, "nx", "ny", "nz");
        Split(g.ShDc, 3, "f_dc_0", "f_dc_1", "f_dc_2");
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < k1; j++)
            {
                var a = new float[n];
                for (int i = 0; i < n; i++) a[i] = g.ShRest[(i * k1 + j) * 3 + c];
                cols.Add(PlyColumn.Of("f_rest_" + (c * k1 + j).ToString(CultureInfo.InvariantCulture), a));
            }
        cols.Add(PlyColumn.Of("opacity", g.Opacity));
        Split(g.LogScales, 3, "scale_0", "scale_1", "scale_2");
        Split(g.Rotations, 4, "rot_0", "rot_1", "rot_2", "rot_3");
        foreach (var (name, values) in g.Extra)
        {
            if (cols.Any(c => c.Name == name) || name.StartsWith("f_rest_", StringComparison.Ordinal))
                throw new ArgumentException($"{path}: extra property '{name}' clashes with a 3DGS property.");
            if (name.Length == 0 || name.Any(char.IsWhiteSpace)) throw new ArgumentException($"{path}: extra property name '{name}' is not a valid PLY name.");
            cols.Add(PlyColumn.Of(name, values));
        }
        Ply.Write(path, new PlyFile { Format = PlyFormat.BinaryLittleEndian, Elements = [new PlyElement("vertex", cols)] });
    }
}
