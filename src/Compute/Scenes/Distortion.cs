namespace UniCLift.Compute.Scenes;

using System.Globalization;

/// <summary>
/// Lens distortion of a view, in normalised camera coordinates (x = X/Z, y = Y/Z), so it does not change when the
/// image is resized. Forward model (OpenCV / COLMAP): r² = x² + y²,
/// radial = (1 + k1 r² + k2 r⁴ + k3 r⁶ + k4 r⁸) / (1 + k5 r² + k6 r⁴ + k7 r⁶) when <see cref="Rational"/> (COLMAP
/// FULL_OPENCV: numerator k1 k2 k3, denominator k4 k5 k6 — stored here as K1 K2 K3 and K5 K6 K7 with K4 = 0),
/// else 1 + k1 r² + k2 r⁴ + k3 r⁶ + k4 r⁸ (nerfstudio's k1..k4); then
/// xd = x·radial + 2 p1 x y + p2 (r² + 2x²), yd = y·radial + p1 (r² + 2y²) + 2 p2 x y.
/// <see cref="Fisheye"/> (COLMAP OPENCV_FISHEYE) instead maps θ = atan(r) to θ (1 + k1 θ² + k2 θ⁴ + k3 θ⁶ + k4 θ⁸) / r.
/// <para>Views with a distortion are undistorted once, when their image and label maps are loaded
/// (<see cref="SceneData"/>), to a pinhole camera with the same size and intrinsics fx fy cx cy.</para>
/// </summary>
public sealed record Distortion(string Model, double K1 = 0, double K2 = 0, double K3 = 0, double K4 = 0,
    double P1 = 0, double P2 = 0, double K5 = 0, double K6 = 0, double K7 = 0, bool Rational = false, bool Fisheye = false)
{
    /// <summary>Null when every coefficient is zero (a pinhole camera written as OPENCV with zeros).</summary>
    public static Distortion? OrNull(Distortion d) =>
        d.K1 == 0 && d.K2 == 0 && d.K3 == 0 && d.K4 == 0 && d.P1 == 0 && d.P2 == 0 && d.K5 == 0 && d.K6 == 0 && d.K7 == 0 ? null : d;

    /// <summary>Checks every coefficient is finite, naming the source otherwise.</summary>
    public Distortion Validate(string source)
    {
        foreach (var v in new[] { K1, K2, K3, K4, P1, P2, K5, K6, K7 })
            if (!double.IsFinite(v)) throw new InvalidDataException($"{source}: {Model} distortion coefficient {v} is not finite.");
        return this;
    }

    /// <summary>Normalised pinhole coordinates to distorted normalised coordinates.</summary>
    public (double X, double Y) Apply(double x, double y)
    {
        double r2 = x * x + y * y;
        if (Fisheye)
        {
            double r = Math.Sqrt(r2);
            if (r < 1e-12) return (x, y);
            double th = Math.Atan(r), t2 = th * th;
            double thd = th * (1 + t2 * (K1 + t2 * (K2 + t2 * (K3 + t2 * K4))));
            return (x * thd / r, y * thd / r);
        }
        double radial = 1 + r2 * (K1 + r2 * (K2 + r2 * (K3 + r2 * K4)));
        if (Rational) radial /= 1 + r2 * (K5 + r2 * (K6 + r2 * K7));
        return (x * radial + 2 * P1 * x * y + P2 * (r2 + 2 * x * x),
                y * radial + P1 * (r2 + 2 * y * y) + 2 * P2 * x * y);
    }

    /// <summary>The model and its non-zero coefficients, e.g. "OPENCV k1=-0.12 k2=0.03 p1=0.001".</summary>
    public string Describe()
    {
        var parts = new List<string> { Model };
        void Add(string n, double v) { if (v != 0) parts.Add($"{n}={v.ToString("G4", CultureInfo.InvariantCulture)}"); }
        if (Rational) { Add("k1", K1); Add("k2", K2); Add("k3", K3); Add("k4", K5); Add("k5", K6); Add("k6", K7); }
        else { Add("k1", K1); Add("k2", K2); Add("k3", K3); Add("k4", K4); }
        Add("p1", P1); Add("p2", P2);
        return string.Join(' ', parts);
    }
}
