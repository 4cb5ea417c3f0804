namespace UniCLift.Compute.Segmentation;

using UniCLift.Compute.Scenes;

/// <summary>Distinct, stable colours for instance ids (golden-ratio hue walk); 0 (background) stays dark.</summary>
public static class LabelColors
{
    public static (byte R, byte G, byte B) Color(int id)
    {
        if (id <= 0) return (0, 0, 0);
        double h = (id * 0.61803398875) % 1.0, s = 0.65 + 0.35 * ((id * 7) % 3) / 2.0, v = 0.95;
        int hi = (int)(h * 6) % 6;
        double f = h * 6 - Math.Floor(h * 6), p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
        var (r, g, b) = hi switch { 0 => (v, t, p), 1 => (q, v, p), 2 => (p, v, t), 3 => (p, q, v), 4 => (t, p, v), _ => (v, p, q) };
        return ((byte)(r * 255), (byte)(g * 255), (byte)(b * 255));
    }

    public static RgbImage Colorize(LabelMap labels)
    {
        var img = new RgbImage(labels.Width, labels.Height);
        for (int i = 0; i < labels.Labels.Length; i++)
        {
            var (r, g, b) = Color(labels.Labels[i]);
            img.Pixels[i * 3] = r; img.Pixels[i * 3 + 1] = g; img.Pixels[i * 3 + 2] = b;
        }
        return img;
    }

    /// <summary>The image with instance colours blended in at <paramref name="alpha"/>; background left as is.</summary>
    public static RgbImage Overlay(RgbImage image, LabelMap labels, double alpha)
    {
        var img = new RgbImage(image.Width, image.Height, (byte[])image.Pixels.Clone());
        for (int i = 0; i < labels.Labels.Length; i++)
        {
            if (labels.Labels[i] <= 0) continue;
            var (r, g, b) = Color(labels.Labels[i]);
            img.Pixels[i * 3] = (byte)(image.Pixels[i * 3] * (1 - alpha) + r * alpha);
            img.Pixels[i * 3 + 1] = (byte)(image.Pixels[i * 3 + 1] * (1 - alpha) + g * alpha);
            img.Pixels[i * 3 + 2] = (byte)(image.Pixels[i * 3 + 2] * (1 - alpha) + b * alpha);
        }
        return img;
    }
}
