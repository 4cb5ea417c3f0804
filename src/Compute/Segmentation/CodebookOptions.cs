namespace UniCLift.Compute.Segmentation;

/// <summary>Options of <see cref="LabelCodebook.Build"/>.</summary>
public sealed record CodebookOptions
{
    public BackgroundSelection Background { get; init; } = BackgroundSelection.MaskBackground;

    /// <summary>
    /// Codes whose scene-wide pixel area is below max(MinCodePixels, MinCodeFraction * all pixels) are dropped:
    /// they are mostly boundary pixels blended between two hypercube corners. Dropped pixels take a neighbouring
    /// label in <see cref="LabelCodebook.MapView"/>; dropped Gaussians take the nearest kept code (Hamming).
    /// </summary>
    public double MinCodeFraction { get; init; } = 0.001;
    public long MinCodePixels { get; init; }

    /// <summary>
    /// A code is merged into another when at least this share of its pixels lies in input-mask segments (per view)
    /// that the other code dominates (<see cref="CodeStatistics.Absorbed"/>): it is then a piece of that code's object
    /// (a split object, a boundary blend, a floater on the background), not an instance of its own. Only merges into
    /// codes of larger scene-wide area. 1 or more disables merging. See <see cref="LabelCodebook.Build(CodeStatistics, int[], CodebookOptions)"/>.
    /// Measured (bench segment seed 1: 9 objects, 30 views 160x120, 2000 iterations, m2f masks): the two objects split
    /// into one-bit-apart halves had 53% and 55% of their smaller half absorbed, genuine objects at most 38% (m2f
    /// merges and misses); with 0.5 thing FP 3 -> 0, PQ things 62.9 -> 80.1, PQ^scene 75.1 -> 84.4 (1 = no merging).
    /// </summary>
    public double MergeAbsorbedFraction { get; init; } = 0.5;

    /// <summary>
    /// The <see cref="MergeAbsorbedFraction"/> that applies when the code absorbing the pixels differs in exactly one
    /// bit: the signature of an object whose embedding left one channel undecided near 0.5, so its Gaussians fell on
    /// both sides. Measured (bench segment seed 2, 10 objects, 60 views 320x240, lift 500 iterations): an object split
    /// 54% / 45% over two codes one bit apart, the smaller half 48% absorbed; with 0.4 PQ things 86.2 -> 95.0.
    /// Genuine objects were at most 38% absorbed, and into codes many bits away.
    /// </summary>
    public double MergeNeighbourFraction { get; init; } = 0.4;

    /// <summary>
    /// Two kept codes merge when, over the views that show both, the input masks put at least this share of them in
    /// one object segment (<see cref="CodeStatistics.Pairs"/>), given at least <see cref="MergePairMinFraction"/> of all
    /// pixels of co-visibility. 1 or more disables it. Measured on bench segment lift results (60 views 320x240): the
    /// halves of split objects scored 0.83 (seed 1) and 0.94 (seed 3); every pair of distinct objects at most 0.21
    /// (a touching pair the masks merge in a fifth of the views), most under 0.1.
    /// </summary>
    public double MergeCoSegmentFraction { get; init; } = 0.5;

    /// <summary>Minimum co-visible pixels of a pair for <see cref="MergeCoSegmentFraction"/>, as a share of all pixels.</summary>
    public double MergePairMinFraction { get; init; } = 0.0001;

    /// <summary>
    /// A code at least this share of whose pixels the input masks call background (0) joins the background code: the
    /// background split over two codes (one bit apart) whose second part dominates the mask's background segment in
    /// the views that see mostly it, so <see cref="MergeAbsorbedFraction"/> misses it. 1 or more disables it. Only with
    /// <see cref="BackgroundSelection.MaskBackground"/> and masks. Measured (bench segment seed 2: 10 objects, 30 views
    /// 160x120, 1000 iterations): background decoded as 52% code 1107 + 40% code 1363 (one bit apart, 1363 only 19%
    /// absorbed); with 0.5 PQ^scene 62.7 -> 86.5, PQ things 71.3 -> 76.3; seed 1 (84.4 -> 84.5) and the full-size
    /// seed 3 (95.0, unchanged) lose nothing.
    /// </summary>
    public double MergeBackgroundFraction { get; init; } = 0.5;

    public static CodebookOptions Default { get; } = new();
}
