namespace UniCLift.Compute.Training;

/// <summary>Train the whole 3DGS (geometry + embeddings) or lift: geometry frozen from a trained 3DGS, embeddings and W only.</summary>
public enum TrainingMode { Train, Lift }

/// <summary>
/// Everything that decides a training run. Every schedule point is a fraction of <see cref="Iterations"/>, so a shorter
/// run keeps the paper's proportions (<see cref="Paper"/> gives the paper's numbers). One line per knob: what it does
/// and why its default; what was tried and measured for the method's open points is in docs/DECISIONS.md.
/// </summary>
public sealed record TrainingOptions
{
    public TrainingMode Mode { get; init; } = TrainingMode.Train;
    /// <summary>Training steps, one view each (paper: 30k). Default: <see cref="DefaultIterations"/> of the mode.</summary>
    public int Iterations { get; init; } = DefaultTrainIterations;

    /// <summary>Train mode's default: a 60-view 320x240 scene in about 6-7 min on 2 CPU cores (target 10 min), PQ over
    /// things 93.5-96.0 on the benchmark scenes; 6000 took 13 min for no measured gain (docs/DECISIONS.md).</summary>
    public const int DefaultTrainIterations = 2000;

    /// <summary>Lift mode's default: the embeddings on a frozen geometry converge in a quarter of train mode's steps
    /// (64-79 s on 2 CPU cores for 60 views 320x240, target 2 min; PQ over things 94.7-96.9).</summary>
    public const int DefaultLiftIterations = 500;

    public static int DefaultIterations(TrainingMode mode) => mode == TrainingMode.Lift ? DefaultLiftIterations : DefaultTrainIterations;
    public ulong Seed { get; init; } = 1;
    /// <summary>Embedding channels, so up to 2^D codes (paper: 12).</summary>
    public int EmbeddingDim { get; init; } = 12;
    public int ShDegree { get; init; } = 3;

    /// <summary>Density control ends here (paper: 15k of 30k).</summary>
    public double DensifyUntilFraction { get; init; } = 0.5;
    /// <summary>Density control starts here (paper: 500 of 30k).</summary>
    public double DensifyFromFraction { get; init; } = 500.0 / 30000;
    public int DensifyInterval { get; init; } = 100;
    /// <summary>A Gaussian whose mean view-space gradient of the RGB loss (NDC units) reaches this is cloned or split
    /// (graphdeco and gsplat: 0.0002); <see cref="Density"/>'s <see cref="DensitySettings.GradThreshold"/>, settable by name.</summary>
    public double DensifyGradThreshold { get => Density.GradThreshold; init => Density = Density with { GradThreshold = value }; }
    /// <summary>The Gaussian budget: densification never takes the count past it, and when more candidates pass the
    /// threshold than there is room for, those with the largest gradients go first (<see cref="DensitySettings.MaxGaussians"/>,
    /// settable by name), and a larger initial point cloud starts from a random subset of this many. It bounds a train
    /// run's memory (on a GPU with several training slots, each scene's share); lift mode keeps its PLY's Gaussians.</summary>
    public int MaxGaussians { get => Density.MaxGaussians; init => Density = Density with { MaxGaussians = value }; }
    /// <summary>Opacity reset period (paper: 3000 of 30k), at least <see cref="OpacityResetMinRounds"/> densification rounds.</summary>
    public double OpacityResetFraction { get; init; } = 3000.0 / 30000;
    /// <summary>Densification rounds between two opacity resets at the least: 5, so a short run (2000 iterations: a reset
    /// every 500 steps, not 200) still grows Gaussians back between resets; the paper's schedule (30 rounds) is
    /// unchanged. 0 = the fraction alone (DECISIONS.md, "Schedule").</summary>
    public int OpacityResetMinRounds { get; init; } = 5;
    /// <summary>One more SH degree every this share of the run (paper: 1000 of 30k).</summary>
    public double ShIncreaseFraction { get; init; } = 1000.0 / 30000;
    /// <summary>When L_triplet and L_3D switch on in train mode (paper: when density control ends).</summary>
    public double SegmentationLossesFromFraction { get; init; } = 0.5;

    /// <summary>L_cluster's weight (METHOD.md: 0.1).</summary>
    public double ClusterWeight { get; init; } = 0.1;
    /// <summary>L_triplet's weight in train mode (METHOD.md: 0.1).</summary>
    public double TripletWeight { get; init; } = 0.1;
    /// <summary>L_triplet's weight in lift mode: 0.5, because a short lift needs the boundary pull to sharpen edges (DECISIONS.md).</summary>
    public double LiftTripletWeight { get; init; } = 0.5;
    /// <summary>L_3D's weight (METHOD.md: 0.1).</summary>
    public double SmoothWeight { get; init; } = 0.1;
    public bool UseCluster { get; init; } = true;
    public bool UseTriplet { get; init; } = true;
    public bool UseSmooth3D { get; init; } = true;
    /// <summary>Triplets go through a learnable linear layer W (paper) or straight to the embeddings (ablation).</summary>
    public bool TripletLinearLayer { get; init; } = true;
    /// <summary>Triplets per iteration at most (paper: 3000).</summary>
    public int MaxTriplets { get; init; } = 3000;
    /// <summary>L_triplet's margin delta (paper: 1).</summary>
    public double TripletMargin { get; init; } = 1.0;
    /// <summary>L_3D neighbourhood: ||mu_i - mu_j||^2 &lt;= Tau (paper: 0.01, in scene units).</summary>
    public double Tau { get; init; } = 0.01;
    /// <summary>Gaussians i sampled for L_3D per graph (a tractable share of a scene).</summary>
    public int SmoothSamples { get; init; } = 8192;
    /// <summary>Neighbours j per sampled Gaussian, at most.</summary>
    public int SmoothNeighbours { get; init; } = 16;
    /// <summary>Rebuild the L_3D neighbour graph every this many steps (means move slowly after densification).</summary>
    public int SmoothGraphRefresh { get; init; } = 100;
    /// <summary>The same in lift mode: 10, because frozen means make a rebuild a cheap new sample (DECISIONS.md).</summary>
    public int LiftSmoothGraphRefresh { get; init; } = 10;
    /// <summary>Share of a lift run before L_3D switches on: 0, from the first step as the triplets (half-way helped one room seen from
    /// within and cost the 100-object room; DECISIONS.md).</summary>
    public double LiftSmoothFromFraction { get; init; } = 0.0;
    /// <summary>Pixels sampled per view for L_cluster (0 = all pixels: affordable at these sizes).</summary>
    public int ClusterPixelSamples { get; init; } = 0;
    /// <summary>How L_cluster normalises pull and push: means, so the loss stays in [0, D] whatever the image and segment count, with the
    /// hinge push per segment, so crowded views still part objects that share a code (DECISIONS.md).</summary>
    public Losses.ClusterNormalisation ClusterNormalisation { get; init; } = Losses.ClusterNormalisation.MeanHingePerSegment;
    /// <summary>L_cluster's pull weighs a pixel of a segment of n pixels by n^-a (1 = every segment alike, 0 = every pixel alike): 0,
    /// METHOD.md's sum over pixels as a mean. With every segment alike an edge pixel the jittered masks dispute is pulled towards
    /// the small object's code about |background| / |object| times harder than towards the background's, and lifting turns the
    /// masks' symmetric jitter into a ring of spill around every object (DECISIONS.md, "L_cluster pull weighting").</summary>
    public double ClusterPullSizeExponent { get; init; } = 0.0;
    /// <summary>Weight of L_cluster's push term relative to its pull (METHOD.md: 1).</summary>
    public double ClusterPushWeight { get; init; } = 1.0;
    /// <summary>Margin of L_cluster's hinge push on close centroid pairs, 0 = off: 1, because it parts objects that start merged (DECISIONS.md).</summary>
    public double ClusterPushMargin { get; init; } = 1.0;
    /// <summary>What mask id 0 means to L_cluster: a segment of its own, so background decodes to one code (DECISIONS.md).</summary>
    public Losses.BackgroundMode ClusterBackground { get; init; } = Losses.BackgroundMode.AsSegment;
    /// <summary>Mask segments whose predicted semantic class the scene declares stuff are background (id 0) for the losses and the
    /// codebook: SAM-style masks cut floor and walls into pieces with ids of their own (DECISIONS.md, "Stuff segments").</summary>
    public bool StuffAsBackground { get; init; } = true;

    /// <summary>Embedding learning rate: 0.1, because runs far shorter than the paper's (1e-4 over 30k) must still move codes across 0 (DECISIONS.md).</summary>
    public double EmbeddingLearningRate { get; init; } = 0.1;
    /// <summary>W's learning rate.</summary>
    public double LinearLayerLearningRate { get; init; } = 0.001;
    /// <summary>Initial embeddings' standard deviation in train mode: METHOD.md's 1, because objects that start on one code
    /// may never part, which rooms with many objects showed (DECISIONS.md).</summary>
    public double EmbeddingInitStd { get; init; } = 1.0;
    /// <summary>The same in lift mode: 1, on a finished geometry too (DECISIONS.md).</summary>
    public double LiftEmbeddingInitStd { get; init; } = 1.0;
    public GaussianLearningRates LearningRates { get; init; } = new();
    public DensitySettings Density { get; init; } = new();
    /// <summary>Whether segmentation losses send gradients into geometry: no, only the RGB loss moves the Gaussians (METHOD.md: open).</summary>
    public bool SegmentationGradientsReachGeometry { get; init; }
    public float[] Background { get; init; } = [0f, 0f, 0f];

    public int DensifyUntil => (int)Math.Round(Iterations * DensifyUntilFraction);
    public int DensifyFrom => (int)Math.Round(Iterations * DensifyFromFraction);
    public int OpacityResetInterval => Math.Max(Math.Max(1, OpacityResetMinRounds * DensifyInterval), (int)Math.Round(Iterations * OpacityResetFraction));
    public int ShIncreaseInterval => Math.Max(1, (int)Math.Round(Iterations * ShIncreaseFraction));
    public int SegmentationLossesFrom => Mode == TrainingMode.Lift ? 0 : (int)Math.Round(Iterations * SegmentationLossesFromFraction);
    /// <summary>When L_3D switches on: with the other segmentation losses in train mode, after <see cref="LiftSmoothFromFraction"/> of a lift.</summary>
    public int SmoothLossFrom => Mode == TrainingMode.Lift ? (int)Math.Round(Iterations * LiftSmoothFromFraction) : SegmentationLossesFrom;

    /// <summary>
    /// The options of one run: the defaults with <paramref name="mode"/>, <paramref name="iterations"/> and
    /// <paramref name="seed"/> (null: the default), then the "Name=Value" <paramref name="overrides"/> in order
    /// (<see cref="TrainingOptionOverrides"/>; a malformed one throws <see cref="ArgumentException"/> naming it). Not
    /// validated: the caller's edge and the trainer call <see cref="Validate"/>.
    /// </summary>
    public static TrainingOptions From(TrainingMode mode, int? iterations = null, ulong? seed = null, IEnumerable<string>? overrides = null)
    {
        if (!Enum.IsDefined(mode)) throw new ArgumentException($"mode must be Train or Lift, got {(int)mode}.");
        var options = new TrainingOptions { Mode = mode, Iterations = iterations ?? DefaultIterations(mode) };
        if (seed is { } s) options = options with { Seed = s };
        return TrainingOptionOverrides.Apply(options, overrides);
    }

    /// <summary>The paper's schedule: 30k iterations, embedding lr 1e-4.</summary>
    public static TrainingOptions Paper => new() { Iterations = 30000, EmbeddingLearningRate = 1e-4, LinearLayerLearningRate = 1e-4 };

    public TrainingOptions Validate()
    {
        if (Iterations < 1) throw new ArgumentException($"Iterations must be at least 1, got {Iterations}.");
        if (EmbeddingDim < 1 || EmbeddingDim > 30) throw new ArgumentException($"Embedding dimension must be in 1..30 (codes are 2^D), got {EmbeddingDim}.");
        if (ShDegree < 0 || ShDegree > 3) throw new ArgumentException($"SH degree must be in 0..3, got {ShDegree}.");
        if (MaxTriplets < 0) throw new ArgumentException($"MaxTriplets must be >= 0, got {MaxTriplets}.");
        if (!(Tau > 0)) throw new ArgumentException($"Tau must be positive, got {Tau}.");
        if (DensifyInterval < 1) throw new ArgumentException($"DensifyInterval must be at least 1, got {DensifyInterval}.");
        if (!(Density.GradThreshold > 0) || double.IsInfinity(Density.GradThreshold)) throw new ArgumentException($"DensifyGradThreshold must be a positive number, got {Density.GradThreshold}.");
        if (Density.MaxGaussians < 1) throw new ArgumentException($"MaxGaussians must be at least 1, got {Density.MaxGaussians}.");
        if (OpacityResetMinRounds < 0) throw new ArgumentException($"OpacityResetMinRounds must be >= 0, got {OpacityResetMinRounds}.");
        if (SmoothGraphRefresh < 1 || LiftSmoothGraphRefresh < 1)
            throw new ArgumentException($"SmoothGraphRefresh and LiftSmoothGraphRefresh must be >= 1, got {SmoothGraphRefresh} and {LiftSmoothGraphRefresh}.");
        foreach (var (name, value) in new[]
        {
            (nameof(SegmentationLossesFromFraction), SegmentationLossesFromFraction), (nameof(LiftSmoothFromFraction), LiftSmoothFromFraction),
            (nameof(DensifyUntilFraction), DensifyUntilFraction), (nameof(DensifyFromFraction), DensifyFromFraction),
        })
            if (!(value >= 0 && value <= 1)) throw new ArgumentException($"{name} must lie in [0, 1], got {value}.");
        // Weights, learning rates, spreads and periods: a negative one trains the wrong way (a negative learning rate
        // climbs the loss, a negative weight rewards what the loss punishes), and NaN or Infinity trains to NaN and
        // fails only when the result's JSON is written, after the whole run.
        foreach (var (name, value) in new[]
        {
            (nameof(ClusterWeight), ClusterWeight), (nameof(TripletWeight), TripletWeight), (nameof(LiftTripletWeight), LiftTripletWeight),
            (nameof(SmoothWeight), SmoothWeight), (nameof(TripletMargin), TripletMargin), (nameof(ClusterPushMargin), ClusterPushMargin),
            (nameof(ClusterPushWeight), ClusterPushWeight), (nameof(EmbeddingLearningRate), EmbeddingLearningRate),
            (nameof(LinearLayerLearningRate), LinearLayerLearningRate), (nameof(EmbeddingInitStd), EmbeddingInitStd),
            (nameof(LiftEmbeddingInitStd), LiftEmbeddingInitStd), (nameof(OpacityResetFraction), OpacityResetFraction),
            (nameof(ShIncreaseFraction), ShIncreaseFraction), (nameof(Tau), Tau),
        })
            if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentException($"{name} must be a finite number >= 0, got {value}.");
        if (!(ClusterPullSizeExponent >= 0 && ClusterPullSizeExponent <= 1)) throw new ArgumentException($"ClusterPullSizeExponent must lie in [0, 1], got {ClusterPullSizeExponent}.");
        // L_3D's neighbour graph needs a sample and a neighbour each (UseSmooth3D=false turns L_3D off); without this
        // check 0 failed inside the trainer once L_3D switched on, half-way through the run.
        if (SmoothSamples < 1) throw new ArgumentException($"SmoothSamples must be at least 1, got {SmoothSamples} (UseSmooth3D=false turns L_3D off).");
        if (SmoothNeighbours < 1) throw new ArgumentException($"SmoothNeighbours must be at least 1, got {SmoothNeighbours} (UseSmooth3D=false turns L_3D off).");
        if (ClusterPixelSamples < 0) throw new ArgumentException($"ClusterPixelSamples must be >= 0 (0: all pixels), got {ClusterPixelSamples}.");
        return this;
    }
}
