namespace UniCLift.Compute.Scenes;

using System.Globalization;
using UniCLift.Compute.Training;

/// <summary>
/// What training at a <c>--downscale</c> factor costs, and the factor to suggest for large images. A run's peak memory
/// grows by about <see cref="BytesPerPixel"/> bytes for every pixel of the views it trains on, so 100 phone photos of
/// 4032x3024 need about 145 GB. Like graphdeco's 3DGS, which rescales images wider than 1.6K itself, images wider than
/// <see cref="SuggestAboveWidth"/> get a suggestion; nothing is downscaled unless asked.
/// </summary>
public static class DownscaleAdvice
{
    /// <summary>How much a CPU run's peak resident memory grows per pixel of its training views, measured (2026-12-07,
    /// `segment`, 40 iterations, 640x480 generated rooms: 24 views 1.58 GB, 48 views 2.30 GB, about 120 bytes for each of
    /// the 20 training views' pixels added; 19 views at 640x480 / 320x240 / 160x120: 1.58 / 0.77 / 0.50 GB). What training
    /// keeps is less (the image as floats 12 bytes, the mask and its boundary index about 12, L_cluster's targets 16); the
    /// rest is what loading and decoding allocate and the runtime keeps.</summary>
    public const int BytesPerPixel = 120;

    /// <summary>Images wider than this get a suggested factor.</summary>
    public const int SuggestAboveWidth = 1600;

    /// <summary>About how many bytes training holds for <paramref name="scene"/>'s training views (at their cameras' size).</summary>
    public static long TrainingBytes(Scene scene) =>
        TrainingData.ViewNames(scene).Select(scene.View).Sum(v => (long)v.Camera.Width * v.Camera.Height) * BytesPerPixel;

    /// <summary>The smallest factor that brings the widest view to at most <see cref="SuggestAboveWidth"/> pixels; null when
    /// no view is wider than that.</summary>
    public static int? SuggestedFactor(Scene scene)
    {
        int widest = scene.Views.Count == 0 ? 0 : scene.Views.Max(v => v.Camera.Width);
        return widest <= SuggestAboveWidth ? null : (widest + SuggestAboveWidth - 1) / SuggestAboveWidth;
    }

    /// <summary>One line suggesting a factor for a scene read at its files' size (<paramref name="scene"/>), with the
    /// memory training holds either way; null when its images are not wider than <see cref="SuggestAboveWidth"/>.</summary>
    public static string? Suggestion(Scene scene)
    {
        if (SuggestedFactor(scene) is not { } n) return null;
        var c = scene.Views[0].Camera;
        var small = scene.Downscaled(n);
        var s = small.Views[0].Camera;
        return $"the images are {c.Width}x{c.Height}: training holds about {Size(TrainingBytes(scene))} for them; " +
               $"--downscale {n} trains at {s.Width}x{s.Height} (about {Size(TrainingBytes(small))}).";
    }

    /// <summary>Bytes as "29.3 GB" / "512 MB".</summary>
    public static string Size(long bytes) => bytes >= 1_000_000_000
        ? (bytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture) + " GB"
        : Math.Max(1, (long)Math.Round(bytes / 1e6)).ToString(CultureInfo.InvariantCulture) + " MB";
}
