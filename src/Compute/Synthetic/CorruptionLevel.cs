namespace UniCLift.Compute.Synthetic;

/// <summary>How the "predicted" per-view masks are corrupted. Every level permutes ids per view.</summary>
public enum CorruptionLevel
{
    /// <summary>Ground-truth partition, ids permuted per view.</summary>
    None,
    /// <summary>Permutation + 1-2 px boundary jitter + segments under <see cref="SyntheticSceneOptions.MinSegmentPixels"/> dropped.</summary>
    Light,
    /// <summary>Like a Mask2Former-style segmenter: merges of adjacent objects, splits, misses, jitter, tiny segments dropped, spurious segments.</summary>
    M2F,
    /// <summary>Like a class-agnostic SAM-style segmenter: objects over-segmented into parts, the background (floor and
    /// walls) split into pieces with ids of their own, small objects often missed, boundary jitter; no merges.</summary>
    Sam,
}
