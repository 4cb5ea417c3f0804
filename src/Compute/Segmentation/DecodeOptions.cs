namespace UniCLift.Compute.Segmentation;

/// <summary>Options of the decoding stage (Embedding-to-Label).</summary>
public sealed record DecodeOptions
{
    public CodebookOptions Codebook { get; init; } = CodebookOptions.Default;
    /// <summary>Tiny fragments per view are relabelled to a neighbour; null = no cleanup.</summary>
    public FragmentOptions? Cleanup { get; init; } = FragmentOptions.Default;
    /// <summary>How many views get a colourised overlay picture.</summary>
    public int Overlays { get; init; } = 6;
}
