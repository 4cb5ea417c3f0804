namespace UniCLift.Compute.IO;

/// <summary>
/// Coloured point clouds in PLY (x y z [nx ny nz] red green blue), on top of the general <see cref="Ply"/>
/// reader/writer (reads binary little/big endian and ASCII).
/// </summary>
public static class PointCloudPly
{
    /// <summary>Writes binary little-endian PLY: float x y z, uchar red green blue. positions: [N*3], colors: [N*3];
    /// <paramref name="comments"/> go in the header.</summary>
    public static void Write(string path, float[] positions, byte[] colors, IReadOnlyList<string>? comments = null)
    {
        if (positions.Length % 3 != 0) throw new ArgumentException($"{path}: positions has {positions.Length} values, not a multiple of 3.");
        int n = positions.Length / 3;
        if (colors.Length != n * 3) throw new ArgumentException($"{path}: colors has {colors.Length} values, expected {n * 3} for {n} points.");
        var cols = new List<PlyColumn>();
        foreach (var (name, k) in new[] { ("x", 0), ("y", 1), ("z", 2) })
        {
            var p = new float[n];
            for (int i = 0; i < n; i++) p[i] = positions[i * 3 + k];
            cols.Add(PlyColumn.Of(name, p));
        }
        foreach (var (name, k) in new[] { ("red", 0), ("green", 1), ("blue", 2) })
        {
            var c = new byte[n];
            for (int i = 0; i < n; i++) c[i] = colors[i * 3 + k];
            cols.Add(PlyColumn.Of(name, c));
        }
        Ply.Write(path, new PlyFile { Format = PlyFormat.BinaryLittleEndian, Comments = [.. comments ?? []], Elements = [new PlyElement("vertex", cols)] });
    }

    /// <summary>Reads x y z and, when present, red green blue (uchar or float 0..1); colours default to grey. A cloud
    /// without points, or with a position that is not finite (NaN or infinite: a Gaussian there trains to nothing and
    /// ends in labels.ply), is an error naming the file.</summary>
    public static (float[] Positions, byte[] Colors) Read(string path)
    {
        var v = Ply.Read(path).Find("vertex") ?? throw new InvalidDataException($"{path}: PLY has no 'vertex' element.");
        foreach (var name in new[] { "x", "y", "z" })
            if (!v.Has(name)) throw new InvalidDataException($"{path}: point cloud PLY is missing property '{name}'.");
        int n = v.Count;
        if (n == 0) throw new InvalidDataException($"{path}: the point cloud has no points.");
        var pos = new float[n * 3];
        var col = new byte[n * 3];
        string[] pn = ["x", "y", "z"];
        for (int k = 0; k < 3; k++)
        {
            var a = v.Column(pn[k]).AsSingle();
            for (int i = 0; i < n; i++)
            {
                if (!float.IsFinite(a[i]))
                    throw new InvalidDataException($"{path}: point {i} has {pn[k]} = {a[i]}; every position must be a finite number.");
                pos[i * 3 + k] = a[i];
            }
        }
        // Some writers use r/g/b or diffuse_red/...; take the first naming present.
        string[][] namings = [["red", "green", "blue"], ["r", "g", "b"], ["diffuse_red", "diffuse_green", "diffuse_blue"]];
        var names = namings.FirstOrDefault(ns => ns.All(v.Has));
        if (names is null)
        {
            Array.Fill(col, (byte)128);
            return (pos, col);
        }
        for (int k = 0; k < 3; k++)
        {
            var c = v.Column(names[k]);
            // Float colours are 0..1; 16-bit colours 0..65535; 8-bit as is.
            double scale = c.Type switch
            {
                PlyType.Float32 or PlyType.Float64 => 255.0,
                PlyType.UInt16 => 255.0 / 65535.0,
                _ => 1.0,
            };
            for (int i = 0; i < n; i++) col[i * 3 + k] = (byte)Math.Clamp(Math.Round(c.GetDouble(i) * scale), 0, 255);
        }
        return (pos, col);
    }
}
