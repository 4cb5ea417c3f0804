namespace UniCLift.Compute.Losses;

/// <summary>Options of <see cref="BoundaryMiner.Build"/>.</summary>
public sealed record BoundaryOptions
{
    public Connectivity Connectivity { get; init; } = Connectivity.Four;

    /// <summary>
    /// Whether id 0 (background / unlabelled) counts as a segment. Default true, matching
    /// <see cref="BackgroundMode.AsSegment"/>: object-versus-background edges are most of the boundaries in
    /// Replica/ScanNet masks and the artefacts METHOD.md reports sit there. Negative ids (void) never count.
    /// </summary>
    public bool BackgroundIsSegment { get; init; } = true;

    public static BoundaryOptions Default { get; } = new();
}
