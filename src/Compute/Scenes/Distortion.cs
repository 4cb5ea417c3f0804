namespace UniCLift.Compute.Scenes;

using System.Collections.Concurrent;
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

/// <summary>
/// Undistortion to a pinhole camera of the same size and intrinsics. For each output pixel centre (i + 0.5, j + 0.5):
/// normalised pinhole coordinates, the forward distortion, then the source pixel; images are sampled bilinearly, label
/// and depth maps by nearest neighbour. A pixel whose source falls outside the image is black (images) or 0 (labels:
/// void; depth: none). The source map is computed once per camera and distortion and cached.
/// </summary>
public static class Undistortion
{
    private sealed record Key(Distortion Distortion, int Width, int Height, double Fx, double Fy, double Cx, double Cy);

    /// <summary>Per output pixel, the source position in pixel-index space (pixel centres at integers); NaN = outside.</summary>
    private sealed record SourceMap(float[] U, float[] V);

    private static readonly ConcurrentDictionary<Key, SourceMap> Maps = new();
    private const int MaxCachedMaps = 32;

    private static SourceMap Map(Camera c, Distortion d)
    {
        var key = new Key(d, c.Width, c.Height, c.Fx, c.Fy, c.Cx, c.Cy);
        if (Maps.TryGetValue(key, out var m)) return m;
        if (Maps.Count >= MaxCachedMaps) Maps.Clear();
        return Maps.GetOrAdd(key, k => Build(c, d));
    }

    private static SourceMap Build(Camera c, Distortion d)
    {
        int w = c.Width, h = c.Height;
        var u = new float[w * h];
        var v = new float[w * h];
        for (int j = 0; j < h; j++)
            for (int i = 0; i < w; i++)
            {
                var (xd, yd) = d.Apply((i + 0.5 - c.Cx) / c.Fx, (j + 0.5 - c.Cy) / c.Fy);
                double su = c.Fx * xd + c.Cx - 0.5, sv = c.Fy * yd + c.Cy - 0.5;
                // Inside when the source lies within the image's pixel area [-0.5, w - 0.5) x [-0.5, h - 0.5).
                bool inside = double.IsFinite(su) && double.IsFinite(sv) && su >= -0.5 && su < w - 0.5 && sv >= -0.5 && sv < h - 0.5;
                u[j * w + i] = inside ? (float)su : float.NaN;
                v[j * w + i] = inside ? (float)sv : float.NaN;
            }
        return new SourceMap(u, v);
    }

    /// <summary>The image as the pinhole camera <paramref name="camera"/> would see it (bilinear).</summary>
    public static RgbImage Image(RgbImage src, Camera camera, Distortion d)
    {
        Check(src.Width, src.Height, camera);
        var m = Map(camera, d);
        int w = src.Width, h = src.Height;
        var dst = new RgbImage(w, h);
        var s = src.Pixels;
        Parallel.For(0, h, j =>
        {
            for (int i = 0; i < w; i++)
            {
                int o = j * w + i;
                float su = m.U[o];
                if (float.IsNaN(su)) continue;
                float sv = m.V[o];
                su = Math.Clamp(su, 0, w - 1); sv = Math.Clamp(sv, 0, h - 1);
                int x0 = (int)su, y0 = (int)sv;
                int x1 = Math.Min(x0 + 1, w - 1), y1 = Math.Min(y0 + 1, h - 1);
                float fx = su - x0, fy = sv - y0;
                for (int ch = 0; ch < 3; ch++)
                {
                    float a = s[(y0 * w + x0) * 3 + ch], b = s[(y0 * w + x1) * 3 + ch];
                    float c = s[(y1 * w + x0) * 3 + ch], e = s[(y1 * w + x1) * 3 + ch];
                    float top = a + (b - a) * fx, bottom = c + (e - c) * fx;
                    dst.Pixels[o * 3 + ch] = (byte)Math.Clamp(MathF.Round(top + (bottom - top) * fy), 0, 255);
                }
            }
        });
        return dst;
    }

    /// <summary>A label map as the pinhole camera would see it (nearest neighbour: only labels of the input, plus 0 outside).</summary>
    public static LabelMap Labels(LabelMap src, Camera camera, Distortion d, int outside = 0)
    {
        Check(src.Width, src.Height, camera);
        var dst = new LabelMap(src.Width, src.Height);
        Nearest(camera, d, (from, to) => dst.Labels[to] = from < 0 ? outside : src.Labels[from]);
        return dst;
    }

    /// <summary>A depth map as the pinhole camera would see it (nearest neighbour; 0 = no depth outside).</summary>
    public static DepthMap Depth(DepthMap src, Camera camera, Distortion d)
    {
        Check(src.Width, src.Height, camera);
        var dst = new DepthMap(src.Width, src.Height);
        Nearest(camera, d, (from, to) => dst.Meters[to] = from < 0 ? 0 : src.Meters[from]);
        return dst;
    }

    private static void Nearest(Camera camera, Distortion d, Action<int, int> copy)
    {
        var m = Map(camera, d);
        int w = camera.Width, h = camera.Height;
        for (int o = 0; o < w * h; o++)
        {
            float su = m.U[o];
            if (float.IsNaN(su)) { copy(-1, o); continue; }
            int x = Math.Clamp((int)MathF.Floor(su + 0.5f), 0, w - 1), y = Math.Clamp((int)MathF.Floor(m.V[o] + 0.5f), 0, h - 1);
            copy(y * w + x, o);
        }
    }

    private static void Check(int w, int h, Camera c)
    {
        if (w != c.Width || h != c.Height)
            throw new ArgumentException($"A {w}x{h} map cannot be undistorted with a {c.Width}x{c.Height} camera.");
    }
}
