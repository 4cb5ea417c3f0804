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
    /// <summary>What a pixel's code thresholds (<see cref="PixelBlend"/>): the blend of the raw embeddings. The blend of
    /// the Gaussians' probabilities narrows the ring of object labels spilled onto the background and gains in this
    /// repository's rooms, but loses on the rooms made elsewhere, by 6.5 PQ^scene on average in rooms scanned from
    /// within (DECISIONS.md, "Object edges"). The view grains get it through ViewDecodeRequest.</summary>
    public PixelBlend Blend { get; init; } = PixelBlend.Raw;

    /// <summary>Codes whose Gaussians lie apart in space are split into one code per part before the codebook
    /// (<see cref="SpatialParts"/>): objects that no view shows together can share a code. Null: no split. The view
    /// grains get it through ViewDecodeRequest.</summary>
    public SpatialSplitOptions? SpatialSplit { get; init; } = SpatialSplitOptions.Default;

    /// <summary>Small pieces of an instance's Gaussians apart from it take the label of the Gaussians around them
    /// (<see cref="StrayGaussians"/>): labels.ply and the exported objects lose their strays. Null: labelled as decoded.
    /// The Gaussians' labels only; the label maps are rendered from the embeddings.</summary>
    public StrayOptions? Strays { get; init; } = StrayOptions.Default;

    /// <summary>Which code labels each Gaussian: the one its pixels vote for in the training views (default), or its own
    /// embedding's (<see cref="Segmentation.GaussianCodes"/>). The label maps are rendered either way; the spatial split,
    /// the codebook's Gaussian counts, labels.ply and the exports follow this. The view grains get it through ViewDecodeRequest.</summary>
    public GaussianCodes GaussianCodes { get; init; } = GaussianCodes.Views;

    /// <summary>How many views get a colourised overlay picture.</summary>
    public int Overlays { get; init; } = 6;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first knob out of range; returns this.</summary>
    public DecodeOptions Validate()
    {
        ArgumentNullException.ThrowIfNull(Codebook, nameof(Codebook));
        if (!Enum.IsDefined(Blend)) throw new ArgumentException($"Blend must be one of {string.Join(", ", Enum.GetNames<PixelBlend>())}, got {(int)Blend}.");
        if (!Enum.IsDefined(GaussianCodes)) throw new ArgumentException($"GaussianCodes must be one of {string.Join(", ", Enum.GetNames<GaussianCodes>())}, got {(int)GaussianCodes}.");
        if (Overlays < 0) throw new ArgumentException($"Overlays must be >= 0, got {Overlays}.");
        Codebook.Validate();
        SpatialSplit?.Validate();
        Cleanup?.Validate();
        Strays?.Validate();
        return this;
    }
}
