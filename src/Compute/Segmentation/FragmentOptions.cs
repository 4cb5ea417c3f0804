namespace UniCLift.Compute.Segmentation;

/// <summary>Options of <see cref="FragmentCleanup"/>.</summary>
public sealed record FragmentOptions
{
    /// <summary>Components smaller than this share of the image are fragments (0.001 = 0.1%; 307 px at 640x480). Every
    /// component counts, a whole object too: at 0.5% the cleanup erased the small objects of crowded rooms in the views that
    /// show them small (50 objects: thing TP 27 -> 33 at 0.1%). DECISIONS.md ("Fragment cleanup").</summary>
    public double MinFraction { get; init; } = 0.001;

    /// <summary>The largest component of each label in a view is a fragment only under this share of the view: it is the
    /// object as this view shows it, not a piece of it (a small object was erased from every view that showed it under
    /// 0.1%). 0.0005, half of <see cref="MinFraction"/>: at 0 a label that a view shows only as specks of a few pixels
    /// stays there and can score as a false instance. At or above <see cref="MinFraction"/>: every component under the
    /// threshold goes, the largest too (the rule before). DECISIONS.md ("Fragment cleanup").</summary>
    public double MinLargestFraction { get; init; } = 0.0005;

    /// <summary>Absolute floor in pixels; the threshold is max(MinPixels, ceil(MinFraction * W * H)).</summary>
    public int MinPixels { get; init; }

    /// <summary>Relabel passes; one pass usually suffices, more settle fragments that only touch other fragments.</summary>
    public int MaxPasses { get; init; } = 8;

    public static FragmentOptions Default { get; } = new();

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first knob out of range; returns this.</summary>
    public FragmentOptions Validate()
    {
        if (!(MinFraction >= 0 && MinFraction < 1)) throw new ArgumentException($"Cleanup.MinFraction must lie in [0, 1), got {MinFraction}.");
        if (!(MinLargestFraction >= 0 && MinLargestFraction < 1)) throw new ArgumentException($"Cleanup.MinLargestFraction must lie in [0, 1), got {MinLargestFraction}.");
        if (MinPixels < 0) throw new ArgumentException($"Cleanup.MinPixels must be >= 0, got {MinPixels}.");
        if (MaxPasses < 1) throw new ArgumentException($"Cleanup.MaxPasses must be at least 1, got {MaxPasses} (Cleanup=false turns the cleanup off).");
        return this;
    }

    public int Threshold(int width, int height) => Math.Max(MinPixels, (int)Math.Ceiling(MinFraction * width * height));

    /// <summary>The threshold for a label's largest component in a view: never above <see cref="Threshold"/>.</summary>
    public int LargestThreshold(int width, int height) => Math.Min(Threshold(width, height), (int)Math.Ceiling(MinLargestFraction * width * height));
}
