namespace UniCLift.Compute.Losses;

/// <summary>Options of <see cref="ClusterLoss"/>. Defaults are the project's choices for METHOD.md's open points.</summary>
public sealed record ClusterLossOptions
{
    public ClusterNormalisation Normalisation { get; init; } = ClusterNormalisation.Mean;
    public BackgroundMode Background { get; init; } = BackgroundMode.AsSegment;

    /// <summary>At most this many pixels per view take part, drawn uniformly without replacement
    /// from the valid pixels with the caller's seeded <see cref="Random"/>. 0 or less = all pixels.</summary>
    public int MaxPixels { get; init; } = 4096;

    /// <summary>Weight of the push term relative to pull (METHOD.md: 1).</summary>
    public double PushWeight { get; init; } = 1.0;

    /// <summary>
    /// Margin delta of an extra hinge push PushWeight * sum_{i != j} max(0, delta - ||m_i - m_j||)^2 (normalised like
    /// the push), 0 = off (METHOD.md's loss). The squared-distance push has no force between two centroids that
    /// coincide (its gradient on m_i is the sum of m_i - m_j), and neither has the boundary triplet at a = n, so two
    /// objects that fall into one corner of the hypercube early stay there; the hinge pushes close pairs apart with a
    /// force that does not fade with their distance. Distances of centroids in [0,1]^D: 1 = one full bit.
    /// </summary>
    public double PushMargin { get; init; }

    public static ClusterLossOptions Default { get; } = new();
}
