namespace UniCLift.Compute.Segmentation;

/// <summary>Options of the decoding stage (Embedding-to-Label).</summary>
public sealed record DecodeOptions
{
    public CodebookOptions Codebook { get; init; } = CodebookOptions.Default;
    /// <summary>Tiny fragments per view are relabelled to a neighbour; null = no cleanup.</summary>
    public FragmentOptions? Cleanup { get; init; } = FragmentOptions.Default;
    /// <summary>Mask segments of a predicted stuff class count as background in the codebook's statistics (<see cref="StuffBackground"/>);
    /// follows <see cref="Training.TrainingOptions.StuffAsBackground"/> in a segmentation run.</summary>
    public bool StuffAsBackground { get; init; } = true;
    /// <summary>What a pixel's code thresholds (<see cref="PixelBlend"/>); DECISIONS.md ("Object edges", issue #17).</summary>
    public PixelBlend Blend { get; init; } = PixelBlend.Raw;

    /// <summary>How many views get a colourised overlay picture.</summary>
    public int Overlays { get; init; } = 6;
}
