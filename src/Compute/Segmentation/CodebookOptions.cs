namespace UniCLift.Compute.Segmentation;

/// <summary>Options of <see cref="LabelCodebook.Build"/>: one line per knob; what was tried and measured is in
/// docs/DECISIONS.md ("Codes to instance ids").</summary>
public sealed record CodebookOptions
{
    /// <summary>Which code is background: the one the input masks call 0 most, as the masks know background best.</summary>
    public BackgroundSelection Background { get; init; } = BackgroundSelection.MaskBackground;

    /// <summary>Codes under max(MinCodePixels, MinCodeFraction x all pixels) do not stand as instances of their own unless
    /// compact (<see cref="MinCodeInterior"/>): mostly blends along an edge between two corners. They still join the
    /// object or the background the masks put them in (the merges below); what joins nothing is dropped, its pixels
    /// taking a neighbouring label and its Gaussians the nearest kept code (Hamming). 0.0003: at 0.001 every object
    /// seen in few views or small (under 0.1% of all the scene's pixels) was dropped, which was every object missed in
    /// the Blender-rendered rooms; with no floor a 25-object room keeps a sliver as a false instance. DECISIONS.md
    /// ("Codes to instance ids").</summary>
    public double MinCodeFraction { get; init; } = 0.0003;
    public long MinCodePixels { get; init; }

    /// <summary>A code under that area floor stands as an instance all the same when at least this share of its pixels
    /// is interior (<see cref="CodeStatistics.Interior"/>: all four neighbours carry the code): a small or rarely seen
    /// object is a region (62-86% interior measured), a blend along an edge a ring one or two pixels wide (0-30%). So the
    /// floor holds back slivers, not objects that few views show. 0.5; more than 1 disables it (the floor alone).
    /// DECISIONS.md ("Codes to instance ids").</summary>
    public double MinCodeInterior { get; init; } = 0.5;

    /// <summary>A code with at least this share of its pixels in mask segments a larger code dominates
    /// (<see cref="CodeStatistics.Absorbed"/>) merges into it: 0.5 separates split halves (53-55%) from genuine objects
    /// (at most 38%). 1 or more disables merging.</summary>
    public double MergeAbsorbedFraction { get; init; } = 0.5;

    /// <summary>Whether every absorbed pixel counts towards a merge (the rule before #17). No: merging into an object counts the
    /// pixels objects absorb, merging into the background those the background absorbs, because a small object the masks miss
    /// in some views lies in background segments there without being a piece of anything (clutter seed 1: a genuine object
    /// 57% absorbed, 33 of it by the background, merged into its neighbour). DECISIONS.md ("Merge evidence").</summary>
    public bool MergeCountsAllAbsorbed { get; init; }

    /// <summary>An object a code merges into by absorption must itself hold at least this share of the absorbed pixels
    /// that count as evidence: a small object that the masks merge with each of its neighbours in turn lies a little in
    /// each one's segments (a 100-object room: 61% absorbed, by three codes with 21%, 10% and 9%, and it joined the
    /// one-bit neighbour with 10%), a piece of an object mostly in that object's. 0.25; 0 = any share (the rule before).
    /// DECISIONS.md ("Merge evidence").</summary>
    public double MergeTargetShare { get; init; } = 0.25;

    /// <summary>The same when the absorbing code is one bit away (an undecided channel): 0.4, which caught a 48%-absorbed half.</summary>
    public double MergeNeighbourFraction { get; init; } = 0.4;

    /// <summary>Two kept codes merge when the masks put at least this share of them in one object segment where both are
    /// visible (<see cref="CodeStatistics.Pairs"/>): 0.3, between distinct objects (at most 0.21) and split halves (0.83-0.94)
    /// or the parts SAM-style masks cut an object into in some views (0.5 kept those apart: sam seed 1 9/3/0 -> 9/0/0 at 0.3).
    /// 1 or more disables it. DECISIONS.md ("Codes to instance ids").</summary>
    public double MergeCoSegmentFraction { get; init; } = 0.3;

    /// <summary>Minimum co-visible pixels of a pair for <see cref="MergeCoSegmentFraction"/>, as a share of all pixels.</summary>
    public double MergePairMinFraction { get; init; } = 0.0001;

    /// <summary>A code at least this share of whose pixels the masks call 0 joins the background code (background split
    /// one bit apart, which absorption misses); only with <see cref="BackgroundSelection.MaskBackground"/> and masks.
    /// 1 or more disables it.</summary>
    public double MergeBackgroundFraction { get; init; } = 0.5;

    /// <summary>The input masks give the background when the code they call 0 most is at least this share 0 in them (the
    /// background of Replica's, ScanNet's, Detic's masks: 90% and more). Under it (Segment Anything's masks cover floor and
    /// walls too, and leave 0 only in gaps and missed objects) the background is found by <see cref="SurfaceSpread"/>.</summary>
    public double MaskBackgroundShare { get; init; } = 0.5;

    /// <summary>When the masks give no background, an instance (a code with the codes merged into it) whose surface spreads
    /// along its second principal axis at least this share of the whole visible scene's spread along its first, and that
    /// lies behind what it meets (<see cref="SurfaceMaxFront"/>), is background: floor, walls, ceiling; the largest such
    /// its code. 0.15: measured on the instances of SAM-like masks, background pieces 0.17-0.53, objects 0.06-0.17 (the
    /// larger in a table-top room, where the scene is small). 1 or more disables it (the largest code is then the
    /// background). DECISIONS.md ("Background without background masks").</summary>
    public double SurfaceSpread { get; init; } = 0.15;

    /// <summary>With <see cref="SurfaceSpread"/>: an instance that is the nearer side of at least this share of its depth edges
    /// (<see cref="CodeStatistics.Occlusion"/>) stands in front of its surroundings, an object however large: measured,
    /// objects 56-96%, background pieces 0-48%. An instance with no depth edge is judged by its spread alone.</summary>
    public double SurfaceMaxFront { get; init; } = 0.5;

    /// <summary>Once the background is found by geometry, a kept code with at least this share of its pixels in mask
    /// segments the background's codes dominate joins it (specks on a wall, which masks with a background would have
    /// called 0). 1 or more disables it. DECISIONS.md ("Background without background masks").</summary>
    public double SurfaceJoinAbsorbed { get; init; } = 0.5;

    /// <summary>When the masks give no background, an instance also is background when, of the views that show it (at
    /// least <see cref="SurfaceBorderMinViews"/>), it reaches the image's border in at least this share, and its surface
    /// spreads along its first principal axis at least <see cref="SurfaceBorderSpread"/> of the scene's: a row of buildings
    /// or the sky outdoors, which stand in front of what their gaps show or float at whatever depth 3DGS gives them, so the
    /// depth-edge rule misses them. Off by default (more than 1): in the rooms an object near the cameras reaches the
    /// border as often and spreads nearly as far; 0.7 is the value measured outdoors (`--decode SurfaceBorderShare=0.7`).
    /// DECISIONS.md ("Outdoors").</summary>
    public double SurfaceBorderShare { get; init; } = 2;

    /// <summary>With <see cref="SurfaceBorderShare"/>: the least first spread, as a share of the scene's.</summary>
    public double SurfaceBorderSpread { get; init; } = 0.25;

    /// <summary>With <see cref="SurfaceBorderShare"/>: the fewest views that must show the instance.</summary>
    public int SurfaceBorderMinViews { get; init; } = 3;

    public static CodebookOptions Default { get; } = new();

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first knob out of range (every share is a number
    /// &gt;= 0; at 1 or more a rule is off); returns this.</summary>
    public CodebookOptions Validate()
    {
        if (!Enum.IsDefined(Background)) throw new ArgumentException($"Background must be one of {string.Join(", ", Enum.GetNames<BackgroundSelection>())}, got {(int)Background}.");
        if (MinCodePixels < 0) throw new ArgumentException($"MinCodePixels must be >= 0, got {MinCodePixels}.");
        if (SurfaceBorderMinViews < 1) throw new ArgumentException($"SurfaceBorderMinViews must be at least 1, got {SurfaceBorderMinViews}.");
        // Every knob that is a share or a fraction (all the doubles), so a knob added later is checked too.
        foreach (var p in OptionText.Scalars(typeof(CodebookOptions)).Where(p => p.PropertyType == typeof(double)))
            if ((double)p.GetValue(this)! is var value && (!(value >= 0) || double.IsInfinity(value)))
                throw new ArgumentException($"{p.Name} must be a number >= 0, got {value}.");
        return this;
    }
}
