namespace UniCLift.Compute.Scenes;

using System.Collections.Concurrent;

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
