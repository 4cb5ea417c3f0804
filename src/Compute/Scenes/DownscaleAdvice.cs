namespace UniCLift.Compute.Scenes;

using System.Globalization;
using UniCLift.Compute.Training;

/// <summary>
/// What training at a <c>--downscale</c> factor costs, and the factor to suggest for large images. A CPU run's peak
/// memory is about <see cref="BaseBytes"/>, plus <see cref="BytesPerImagePixel"/> for each pixel of its largest view (what
/// one step and one view's decoding allocate), plus <see cref="BytesPerTrainingPixel"/> for each pixel of the views it
/// trains on (what training keeps): 100 phone photos of 4032x3024 about 48 GB, at <c>--downscale 3</c> about 6 GB.
/// Like graphdeco's 3DGS, which rescales images wider than 1.6K itself, images wider than <see cref="SuggestAboveWidth"/>
/// get a suggestion; nothing is downscaled unless asked.
/// </summary>
/// <remarks>Fitted to peak resident memory of <c>segment</c> runs (2026-12-07, generated rooms, 20-40 iterations, this
/// 2-core machine, the build with <see cref="Losses.CpuSsim"/> and <see cref="Losses.CpuClusterStats"/>), within 0.3 GB
/// of each: 6 views of 640x480 / 1280x960 / 2560x1920 0.91 / 1.53 / 3.51 GB; 24 training views of 320x240 / 640x480 /
/// 1280x960 0.55 / 1.30 / 2.13 GB; 48 of 640x480 1.39 GB. What training keeps per pixel: the image 3 bytes, the mask 4,
/// its boundary index about 12, L_cluster's targets 8.</remarks>
public static class DownscaleAdvice
{
    /// <summary>The process, the runtime and libtorch, before any view.</summary>
    public const long BaseBytes = 730_000_000;

    /// <summary>Per pixel of the largest view: a training step's render, losses and autograd graph at that size.</summary>
    public const int BytesPerImagePixel = 360;

    /// <summary>Per pixel of every training view: what training keeps and what loading leaves to the runtime.</summary>
    public const int BytesPerTrainingPixel = 35;

    /// <summary>Images wider than this get a suggested factor.</summary>
    public const int SuggestAboveWidth = 1600;

    /// <summary>About the peak memory of a CPU run on <paramref name="scene"/>'s training views (at their cameras' size).</summary>
    public static long PeakBytes(Scene scene)
    {
        var views = TrainingData.ViewNames(scene).Select(scene.View).ToList();
        return PeakBytes(views.Count == 0 ? 0 : views.Max(v => (long)v.Camera.Width * v.Camera.Height),
            views.Sum(v => (long)v.Camera.Width * v.Camera.Height));
    }

    /// <summary>About the peak memory of a CPU run whose largest view has <paramref name="largestViewPixels"/> pixels and
    /// whose training views have <paramref name="trainingPixels"/> in all.</summary>
    public static long PeakBytes(long largestViewPixels, long trainingPixels) =>
        BaseBytes + largestViewPixels * BytesPerImagePixel + trainingPixels * BytesPerTrainingPixel;

    /// <summary>The smallest factor that brings the widest view to at most <see cref="SuggestAboveWidth"/> pixels; null when
    /// no view is wider than that.</summary>
    public static int? SuggestedFactor(Scene scene)
    {
        int widest = scene.Views.Count == 0 ? 0 : scene.Views.Max(v => v.Camera.Width);
        return widest <= SuggestAboveWidth ? null : (widest + SuggestAboveWidth - 1) / SuggestAboveWidth;
    }

    /// <summary>One line suggesting a factor for a scene read at its files' size (<paramref name="scene"/>), with a CPU
    /// run's peak memory either way; null when its images are not wider than <see cref="SuggestAboveWidth"/>.</summary>
    public static string? Suggestion(Scene scene)
    {
        if (SuggestedFactor(scene) is not { } n) return null;
        var c = scene.Views[0].Camera;
        var small = scene.Downscaled(n);
        var s = small.Views[0].Camera;
        return $"the images are {c.Width}x{c.Height}: a CPU run peaks at about {Size(PeakBytes(scene))} of memory; " +
               $"--downscale {n} trains at {s.Width}x{s.Height} (about {Size(PeakBytes(small))}).";
    }

    /// <summary>Bytes as "29.3 GB" / "512 MB".</summary>
    public static string Size(long bytes) => bytes >= 1_000_000_000
        ? (bytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture) + " GB"
        : Math.Max(1, (long)Math.Round(bytes / 1e6)).ToString(CultureInfo.InvariantCulture) + " MB";
}
