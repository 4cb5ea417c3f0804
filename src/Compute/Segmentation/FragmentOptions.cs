namespace UniCLift.Compute.Segmentation;

/// <summary>Options of <see cref="FragmentCleanup"/>.</summary>
public sealed record FragmentOptions
{
    /// <summary>Components smaller than this share of the image are fragments (0.001 = 0.1%; 307 px at 640x480). Every
    /// component counts, a whole object too: at 0.5% the cleanup erased the small objects of crowded rooms in the views that
    /// show them small (50 objects: thing TP 27 -> 33 at 0.1%). DECISIONS.md ("Fragment cleanup").</summary>
    public double MinFraction { get; init; } = 0.001;

    /// <summary>Absolute floor in pixels; the threshold is max(MinPixels, ceil(MinFraction * W * H)).</summary>
    public int MinPixels { get; init; }

    /// <summary>Relabel passes; one pass usually suffices, more settle fragments that only touch other fragments.</summary>
    public int MaxPasses { get; init; } = 8;

    public static FragmentOptions Default { get; } = new();

    public int Threshold(int width, int height) => Math.Max(MinPixels, (int)Math.Ceiling(MinFraction * width * height));
}
