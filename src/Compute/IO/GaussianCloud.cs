namespace UniCLift.Compute.IO;

/// <summary>
/// 3D Gaussians as plain arrays, in the graphdeco 3DGS conventions: opacity is a logit, scales are logs,
/// rotations are unnormalised quaternions (w, x, y, z).
/// <see cref="ShRest"/> is stored [n][coef][channel]: ShRest[(n * (K - 1) + j) * 3 + c] with K = (ShDegree + 1)^2,
/// j = 0..K-2 the non-DC coefficient and c the colour channel. (The PLY stores it channel-major per Gaussian:
/// f_rest_{c * (K - 1) + j}; <see cref="GaussianPly"/> converts.)
/// </summary>
public sealed class GaussianCloud
{
    public int Count { get; init; }
    /// <summary>[N*3] x y z.</summary>
    public float[] Means { get; init; } = [];
    /// <summary>[N*3] nx ny nz (graphdeco writes zeros; kept for round trips).</summary>
    public float[] Normals { get; init; } = [];
    /// <summary>[N*3] degree-0 SH coefficient per channel.</summary>
    public float[] ShDc { get; init; } = [];
    /// <summary>[N*(K-1)*3] higher SH coefficients, [n][coef][channel] order.</summary>
    public float[] ShRest { get; init; } = [];
    public int ShDegree { get; init; }
    /// <summary>[N] opacity logits.</summary>
    public float[] Opacity { get; init; } = [];
    /// <summary>[N*3] log scales.</summary>
    public float[] LogScales { get; init; } = [];
    /// <summary>[N*4] quaternions w x y z (graphdeco rot_0..rot_3).</summary>
    public float[] Rotations { get; init; } = [];
    /// <summary>Further per-Gaussian properties ([N] each), e.g. "instance", "emb_0".."emb_11", in file order.</summary>
    public Dictionary<string, float[]> Extra { get; init; } = [];

    /// <summary>Number of SH coefficients per channel, (ShDegree + 1)^2.</summary>
    public int ShCoefficients => Rendering.ShBasis.Count(ShDegree);

    /// <summary>Checks every array has the length <see cref="Count"/> implies; throws ArgumentException naming the field.</summary>
    public void Validate()
    {
        if (Count < 0) throw new ArgumentException($"Gaussian count {Count} is negative.");
        if (ShDegree is < 0 or > 3) throw new ArgumentException($"SH degree {ShDegree} must be 0..3.");
        void Check(string name, float[] a, int per)
        {
            if (a.Length != (long)Count * per) throw new ArgumentException($"GaussianCloud.{name} has {a.Length} values, expected {Count} x {per} = {(long)Count * per}.");
        }
        Check(nameof(Means), Means, 3);
        Check(nameof(Normals), Normals, 3);
        Check(nameof(ShDc), ShDc, 3);
        Check(nameof(ShRest), ShRest, 3 * (ShCoefficients - 1));
        Check(nameof(Opacity), Opacity, 1);
        Check(nameof(LogScales), LogScales, 3);
        Check(nameof(Rotations), Rotations, 4);
        foreach (var (k, v) in Extra) Check($"Extra[\"{k}\"]", v, 1);
    }
}
