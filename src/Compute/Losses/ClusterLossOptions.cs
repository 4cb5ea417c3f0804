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

    /// <summary>
    /// How the pull weighs a segment by its pixel count n_k: each pixel of segment k weighs n_k^-a, normalised so the
    /// weights sum to 1 (pull = sum_k pull_k n_k^-a / sum_k n_k^(1-a), pull_k the sum of the squared distances of k's
    /// pixels to its centroid). 1 = every segment weighs the same whatever its size (<see cref="ClusterNormalisation.Mean"/>'s
    /// rule, the default here); 0 = every pixel weighs the same; 0.5 = between. Not used by <see cref="ClusterNormalisation.Sum"/>.
    /// </summary>
    public double PullSizeExponent { get; init; } = 1.0;

    public static ClusterLossOptions Default { get; } = new();
}
