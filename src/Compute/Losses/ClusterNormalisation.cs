namespace UniCLift.Compute.Losses;

/// <summary>How pull and push terms are normalised.</summary>
public enum ClusterNormalisation
{
    /// <summary>
    /// Pull: a weighted mean over pixels, a pixel of a segment of n pixels weighing n^-a
    /// (<see cref="ClusterLossOptions.PullSizeExponent"/>: 1 = mean over each segment's pixels, then over segments; 0 = over
    /// all pixels). Push: mean over ordered pairs i != j.
    /// Both terms stay in [0, D] because Vh lies in [0,1]^D, independent of image size and sampling.
    /// </summary>
    Mean,

    /// <summary>
    /// METHOD.md's literal formula: pull = sum over segments and their pixels, push = sum over ordered
    /// pairs i != j. Scales with the number of (sampled) pixels and with K^2.
    /// </summary>
    Sum,

    /// <summary>
    /// Pull as <see cref="Mean"/>; push = for each segment the sum of its squared distances to the other
    /// centroids, averaged over segments (sum over ordered pairs / K). Under <see cref="Mean"/> one pair's
    /// push fades as 1/(K(K-1)) while its pull only fades as 1/K; here both fade as 1/K. Measured: it did not
    /// separate two touching objects that had collapsed onto one code (bench segment seed 1 lift, PQ things 80.5
    /// vs 80.7 with Mean); <see cref="ClusterLossOptions.PushMargin"/> did.
    /// </summary>
    PerSegment,

    /// <summary>
    /// Pull and squared-distance push as <see cref="Mean"/>; the hinge push of <see cref="ClusterLossOptions.PushMargin"/>
    /// normalised per segment (sum over ordered pairs / K) instead of per pair: under <see cref="Mean"/> the hinge between
    /// two coinciding centroids fades as 1/(K(K-1)) while each one's pull fades as 1/K, so with many objects in a view
    /// (K = 30-50) two objects that share a code are parted by a force 30-50 times weaker than with 9.
    /// </summary>
    MeanHingePerSegment,
}
