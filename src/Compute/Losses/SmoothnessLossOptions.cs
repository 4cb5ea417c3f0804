namespace UniCLift.Compute.Losses;

/// <summary>Options of <see cref="SmoothnessLoss"/>.</summary>
public sealed record SmoothnessLossOptions
{
    /// <summary>
    /// Compare sigmoid(v) (default) rather than raw v: the clustering and triplet losses and the decoder all
    /// live in the bounded space sigmoid(v), where pushing a far-out raw value further costs nothing;
    /// raw v would penalise harmless differences between saturated embeddings.
    /// </summary>
    public bool UseSigmoid { get; init; } = true;

    public static SmoothnessLossOptions Default { get; } = new();
}
