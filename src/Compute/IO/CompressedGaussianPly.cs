namespace UniCLift.Compute.IO;

using System.Globalization;

/// <summary>
/// PlayCanvas / SuperSplat "compressed PLY" (SuperSplat's default export, also written by splat-transform), decoded
/// into the same <see cref="GaussianCloud"/> a graphdeco PLY of those Gaussians gives, up to the format's quantisation.
/// Layout, as SuperSplat's and splat-transform's writers produce it (binary little endian):
/// <list type="bullet">
/// <item>element <c>chunk</c>, one row per 256 Gaussians (ceil(n / 256) rows), float min_x min_y min_z max_x max_y
/// max_z, min_scale_x..z, max_scale_x..z (log scales), and in newer files min_r min_g min_b max_r max_g max_b (colour
/// bounds, colour = 0.5 + SH_C0 * f_dc).</item>
/// <item>element <c>vertex</c>, uint packed_position, packed_rotation, packed_scale, packed_color; Gaussian i belongs to
/// chunk i / 256.</item>
/// <item>optional element <c>sh</c>, one row per Gaussian, uchar f_rest_0..(9, 24 or 45 - 1) in graphdeco's
/// channel-major order.</item>
/// </list>
/// Encodings: positions and log scales are 11-10-11 bit unorms (x in bits 21-31, y in 11-20, z in 0-10) placed by
/// lerp(min, max, q / (2^bits - 1)) in the chunk's bounds. The colour is 8-8-8-8 (r in bits 24-31, g, b, then alpha in
/// bits 0-7): r g b are unorms in the chunk's colour bounds (or in [0, 1] when the chunk has none) and
/// f_dc = (colour - 0.5) / SH_C0; alpha is sigmoid(opacity) as a unorm in [0, 1]. The rotation is 2-10-10-10: bits
/// 30-31 the index (in graphdeco's rot_0..rot_3 order, w x y z) of the largest-magnitude component of the normalised
/// quaternion, made positive, then the other three in increasing index order from bit 20 down, each stored as
/// v * sqrt(2) / 2 + 0.5 in a 10-bit unorm; the largest is sqrt(1 - sum of the others' squares). f_rest values are
/// stored as trunc((v / 8 + 0.5) * 256) clamped to 0..255.
/// </summary>
internal static class CompressedGaussianPly
{
    public const int ChunkSize = 256;
    private const double ShC0 = 0.28209479177387814;

    private static readonly string[] ChunkRequired =
        ["min_x", "min_y", "min_z", "max_x", "max_y", "max_z",
         "min_scale_x", "min_scale_y", "min_scale_z", "max_scale_x", "max_scale_y", "max_scale_z"];
    private static readonly string[] ChunkColour = ["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"];
    private static readonly string[] Packed = ["packed_position", "packed_rotation", "packed_scale", "packed_color"];

    /// <summary>A compressed PLY: an element 'chunk' and a 'vertex' element with 'packed_position'.</summary>
    public static bool IsCompressed(PlyFile ply) =>
        ply.Find("chunk") is not null && ply.Find("vertex") is { } v && v.Properties.Any(p => p.Name == "packed_position");

    public static GaussianCloud Decode(PlyFile ply, string path)
    {
        string what = $"{path} (a SuperSplat / PlayCanvas compressed PLY)";
        var chunk = ply.Element("chunk");
        var v = ply.Element("vertex");
        int n = v.Count;

        int expectedChunks = (int)(((long)n + ChunkSize - 1) / ChunkSize);
        if (chunk.Count != expectedChunks)
            throw new InvalidDataException($"{what}: {chunk.Count} 'chunk' rows for {n} Gaussians, expected ceil({n} / {ChunkSize}) = {expectedChunks}.");

        float[] ChunkColumn(string name)
        {
            var c = chunk.Find(name) ?? throw new InvalidDataException($"{what}: element 'chunk' has no property '{name}'.");
            var a = c.AsSingle();
            for (int i = 0; i < a.Length; i++)
                if (!float.IsFinite(a[i])) throw new InvalidDataException($"{what}: chunk {i} property '{name}' is {a[i].ToString(CultureInfo.InvariantCulture)}, not a finite number.");
            return a;
        }
        var bounds = ChunkRequired.Select(ChunkColumn).ToArray();
        int colourCount = ChunkColour.Count(chunk.Has);
        if (colourCount is not 0 and not 6)
            throw new InvalidDataException($"{what}: element 'chunk' has {colourCount} of the 6 colour bounds ({string.Join(' ', ChunkColour)}); expected all or none.");
        var colour = colourCount == 6 ? ChunkColour.Select(ChunkColumn).ToArray() : null;

        uint[] PackedColumn(string name)
        {
            var c = v.Find(name) ?? throw new InvalidDataException($"{what}: element 'vertex' has no property '{name}'.");
            if (c.Type != PlyType.UInt32) throw new InvalidDataException($"{what}: vertex property '{name}' is {c.Type}, expected uint (32-bit packed fields).");
            return (uint[])c.Values;
        }
        var pos = PackedColumn("packed_position");
        var rot = PackedColumn("packed_rotation");
        var scl = PackedColumn("packed_scale");
        var col = PackedColumn("packed_color");

        var means = new float[n * 3];
        var logScales = new float[n * 3];
        var rotations = new float[n * 4];
        var shDc = new float[n * 3];
        var opacity = new float[n];
        Span<double> q = stackalloc double[4];
        for (int i = 0; i < n; i++)
        {
            int ci = i / ChunkSize;
            uint p = pos[i], s = scl[i], c = col[i], r = rot[i];
            means[i * 3 + 0] = Lerp(bounds[0][ci], bounds[3][ci], Unorm(p >> 21, 11));
            means[i * 3 + 1] = Lerp(bounds[1][ci], bounds[4][ci], Unorm(p >> 11, 10));
            means[i * 3 + 2] = Lerp(bounds[2][ci], bounds[5][ci], Unorm(p, 11));
            logScales[i * 3 + 0] = Lerp(bounds[6][ci], bounds[9][ci], Unorm(s >> 21, 11));
            logScales[i * 3 + 1] = Lerp(bounds[7][ci], bounds[10][ci], Unorm(s >> 11, 10));
            logScales[i * 3 + 2] = Lerp(bounds[8][ci], bounds[11][ci], Unorm(s, 11));

            for (int k = 0; k < 3; k++)
            {
                double t = Unorm(c >> (24 - 8 * k), 8);
                double rgb = colour is null ? t : Lerp(colour[k][ci], colour[k + 3][ci], t);
                shDc[i * 3 + k] = (float)((rgb - 0.5) / ShC0);
            }
            opacity[i] = OpacityLogit(c & 0xFF);

            int largest = (int)(r >> 30);
            double sum = 0;
            for (int k = 0, shift = 20; k < 4; k++)
            {
                if (k == largest) continue;
                q[k] = (Unorm(r >> shift, 10) - 0.5) * Math.Sqrt(2.0);
                sum += q[k] * q[k];
                shift -= 10;
            }
            q[largest] = Math.Sqrt(Math.Max(0.0, 1.0 - sum));
            for (int k = 0; k < 4; k++) rotations[i * 4 + k] = (float)q[k];
        }

        int degree = 0;
        var rest = Array.Empty<float>();
        if (ply.Find("sh") is { } sh)
        {
            if (sh.Count != n) throw new InvalidDataException($"{what}: element 'sh' has {sh.Count} rows, element 'vertex' {n}; expected one per Gaussian.");
            int restCount = sh.Properties.Count(p => p.Name.StartsWith("f_rest_", StringComparison.Ordinal));
            degree = restCount switch { 9 => 1, 24 => 2, 45 => 3, _ => -1 };
            if (degree < 0) throw new InvalidDataException($"{what}: element 'sh' has {restCount} f_rest properties, expected 9, 24 or 45 (SH degree 1..3).");
            int k1 = restCount / 3;
            rest = new float[n * restCount];
            for (int ch = 0; ch < 3; ch++)
                for (int j = 0; j < k1; j++)
                {
                    string name = "f_rest_" + (ch * k1 + j).ToString(CultureInfo.InvariantCulture);
                    var c = sh.Find(name) ?? throw new InvalidDataException($"{what}: element 'sh' has no property '{name}'.");
                    if (c.Type != PlyType.UInt8) throw new InvalidDataException($"{what}: sh property '{name}' is {c.Type}, expected uchar.");
                    var b = (byte[])c.Values;
                    for (int i = 0; i < n; i++) rest[(i * k1 + j) * 3 + ch] = ShRest(b[i]);
                }
        }

        var extra = new Dictionary<string, float[]>();
        foreach (var c in v.Columns)
            if (Array.IndexOf(Packed, c.Name) < 0) extra[c.Name] = c.AsSingle();

        return new GaussianCloud
        {
            Count = n,
            Means = means,
            Normals = new float[n * 3],
            ShDc = shDc,
            ShRest = rest,
            ShDegree = degree,
            Opacity = opacity,
            LogScales = logScales,
            Rotations = rotations,
            Extra = extra,
        };
    }

    private static double Unorm(uint value, int bits)
    {
        uint max = (1u << bits) - 1;
        return (value & max) / (double)max;
    }

    private static float Lerp(float min, float max, double t) => (float)(min * (1 - t) + max * t);

    /// <summary>
    /// The logit of an 8-bit alpha. The writer rounds sigmoid(opacity) * 255 to nearest, so 0 and 255 stand for
    /// [0, 0.5/255) and (254.5/255, 1]: they read as the middle of that interval rather than -inf / +inf.
    /// </summary>
    internal static float OpacityLogit(uint code)
    {
        double a = code switch { 0 => 0.25 / 255, 255 => 1 - 0.25 / 255, _ => code / 255.0 };
        return (float)Math.Log(a / (1 - a));
    }

    /// <summary>
    /// An f_rest byte: the writer stores trunc((v / 8 + 0.5) * 256) clamped, so byte b covers
    /// [b / 32 - 4, (b + 1) / 32 - 4) and reads as its middle; 0 and 255 also hold everything clamped and read as -4 / +4.
    /// </summary>
    internal static float ShRest(byte b) => b switch { 0 => -4f, 255 => 4f, _ => (float)((b + 0.5) / 32.0 - 4.0) };
}
