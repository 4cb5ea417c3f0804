namespace UniCLift.Compute.Training;

/// <summary>Train the whole 3DGS (geometry + embeddings) or lift: geometry frozen from a trained 3DGS, embeddings and W only.</summary>
public enum TrainingMode { Train, Lift }

/// <summary>
/// Everything that decides a training run. The paper's schedule is 30k iterations with density control until 15k and
/// the triplet and 3D losses from 15k on; here every schedule point is a fraction of <see cref="Iterations"/>, so a
/// shorter run keeps the paper's proportions (<see cref="Paper"/> gives the paper's numbers exactly).
/// </summary>
public sealed record TrainingOptions
{
    public TrainingMode Mode { get; init; } = TrainingMode.Train;
    public int Iterations { get; init; } = 6000;
    public ulong Seed { get; init; } = 1;
    public int EmbeddingDim { get; init; } = 12;
    public int ShDegree { get; init; } = 3;

    // Schedule, as fractions of Iterations (paper: 15k/30k, 500/30k, 3000/30k, 1000/30k).
    public double DensifyUntilFraction { get; init; } = 0.5;
    public double DensifyFromFraction { get; init; } = 500.0 / 30000;
    public int DensifyInterval { get; init; } = 100;
    public double OpacityResetFraction { get; init; } = 3000.0 / 30000;
    public double ShIncreaseFraction { get; init; } = 1000.0 / 30000;
    /// <summary>When L_triplet and L_3D switch on (paper: when density control ends).</summary>
    public double SegmentationLossesFromFraction { get; init; } = 0.5;

    // Loss weights (METHOD.md: 0.1 each).
    public double ClusterWeight { get; init; } = 0.1;
    /// <summary>L_triplet's weight in train mode; lift mode uses <see cref="LiftTripletWeight"/>.</summary>
    public double TripletWeight { get; init; } = 0.1;
    /// <summary>L_triplet's weight in lift mode. A lift runs a few hundred iterations on frozen geometry, far fewer than the
    /// paper's schedule, and the boundary triplets are what sharpens the instance edges in that time. Measured (bench
    /// segment, lift 500 iterations, embeddings from N(0, 0.01), PQ things for seeds 1 / 2 / 3): 0.1: 95.6 / 95.0 / 92.3; 0.2: 96.5 / 95.6 / 93.5;
    /// 0.3: 96.2 / 95.6 / 93.9; 0.5: 96.5 / 95.2 / 94.8. Seed 3 labels 13.7k background pixels of its test views as
    /// objects at 0.1 (floor at the objects' bases), 11.3k at 0.2 and 8.1k at 0.5; its smallest object's IoU goes from
    /// 0.78 to 0.87 and 0.91.</summary>
    public double LiftTripletWeight { get; init; } = 0.5;
    public double SmoothWeight { get; init; } = 0.1;
    public bool UseCluster { get; init; } = true;
    public bool UseTriplet { get; init; } = true;
    public bool UseSmooth3D { get; init; } = true;
    /// <summary>Triplets go through a learnable linear layer W (paper) or straight to the embeddings (ablation).</summary>
    public bool TripletLinearLayer { get; init; } = true;
    public int MaxTriplets { get; init; } = 3000;
    public double TripletMargin { get; init; } = 1.0;
    /// <summary>L_3D neighbourhood: ||mu_i - mu_j||^2 &lt;= Tau (paper: 0.01, in scene units).</summary>
    public double Tau { get; init; } = 0.01;
    /// <summary>How many Gaussians i are sampled per iteration for L_3D, and how many neighbours each.</summary>
    public int SmoothSamples { get; init; } = 8192;
    public int SmoothNeighbours { get; init; } = 16;
    /// <summary>Rebuild the L_3D neighbour graph every this many iterations (means move slowly after densification).</summary>
    public int SmoothGraphRefresh { get; init; } = 100;
    /// <summary>The same in lift mode, where the means are frozen and a rebuild only draws a new sample of Gaussians, so
    /// it is cheap to do often and spreads L_3D over more of them. Measured (bench segment seed 2, lift 500
    /// iterations): PQ things 86.2 at 100 (an object split over two codes), 95.0 at 10; seeds 1 and 3 unchanged.</summary>
    public int LiftSmoothGraphRefresh { get; init; } = 10;
    /// <summary>Pixels sampled per view for L_cluster (0 = all pixels).</summary>
    public int ClusterPixelSamples { get; init; } = 0;
    /// <summary>How L_cluster normalises pull and push (METHOD.md: open); see <see cref="Losses.ClusterNormalisation"/>.</summary>
    public Losses.ClusterNormalisation ClusterNormalisation { get; init; } = Losses.ClusterNormalisation.Mean;
    /// <summary>Weight of L_cluster's push term relative to its pull (METHOD.md: 1).</summary>
    public double ClusterPushWeight { get; init; } = 1.0;
    /// <summary>Margin of L_cluster's hinge push on close centroid pairs, 0 = off (METHOD.md's loss); see
    /// <see cref="Losses.ClusterLossOptions.PushMargin"/>. Default 1 by measurement (bench segment seed 1, 60 views
    /// 320x240, lift 500 iterations: PQ things 80.7 with 8 instances for 9 objects at 0, 90.7 with all 9 at 1;
    /// PerSegment normalisation or push weight 3 instead of the hinge: 80.5).</summary>
    public double ClusterPushMargin { get; init; } = 1.0;
    /// <summary>What mask id 0 means to L_cluster (METHOD.md: open).</summary>
    public Losses.BackgroundMode ClusterBackground { get; init; } = Losses.BackgroundMode.AsSegment;

    /// <summary>
    /// Embedding (and W) learning rate. The paper uses 1e-4 for 30k iterations; from N(0,1) initial embeddings that
    /// moves a value by at most ~3 over the run. Shorter runs need a larger step to move codes across 0; the default
    /// is chosen by measurement (tiny generated scene, 400 iterations: PQ_things 2 at 2.5e-3, 10 at 1e-2, 41-64 at 2e-2..1e-1).
    /// </summary>
    public double EmbeddingLearningRate { get; init; } = 0.1;
    public double LinearLayerLearningRate { get; init; } = 0.001;
    /// <summary>Standard deviation of the initial embeddings. METHOD.md says standard normal (1); near-zero starts
    /// measured better here (tiny generated scene, 400 iterations: PQ_things 64 with 0.01 vs 54 with 1, lr 0.1/0.05),
    /// because no Gaussian starts on a random code that the losses must first undo. Train mode; lift mode uses
    /// <see cref="LiftEmbeddingInitStd"/>.</summary>
    public double EmbeddingInitStd { get; init; } = 0.01;
    /// <summary>The same in lift mode, which starts the embeddings on a finished geometry: METHOD.md's standard normal.
    /// From near zero, every object starts on one code and the first few hundred steps decide which objects part; on a
    /// retrained seed-3 geometry two objects (5 and 7, separate in 47 of 48 training masks) never did (lift PQ things 86.3,
    /// 10 instances, at triplet weights 0.1 / 0.3 / 0.5 alike); from random codes they do (94.7, 11 instances). Measured
    /// (bench segment, lift 500 iterations, PQ things, seeds 1 / 2 / 3 on the same geometries) at 0.01: 96.6 / 95.2 / 94.9; at 1:
    /// 96.7 / 95.8 / 94.4.</summary>
    public double LiftEmbeddingInitStd { get; init; } = 1.0;
    public GaussianLearningRates LearningRates { get; init; } = new();
    public DensitySettings Density { get; init; } = new();
    /// <summary>Whether segmentation losses send gradients into geometry (METHOD.md: open). Default: no.</summary>
    public bool SegmentationGradientsReachGeometry { get; init; }
    public float[] Background { get; init; } = [0f, 0f, 0f];

    public int DensifyUntil => (int)Math.Round(Iterations * DensifyUntilFraction);
    public int DensifyFrom => (int)Math.Round(Iterations * DensifyFromFraction);
    public int OpacityResetInterval => Math.Max(1, (int)Math.Round(Iterations * OpacityResetFraction));
    public int ShIncreaseInterval => Math.Max(1, (int)Math.Round(Iterations * ShIncreaseFraction));
    public int SegmentationLossesFrom => Mode == TrainingMode.Lift ? 0 : (int)Math.Round(Iterations * SegmentationLossesFromFraction);

    /// <summary>
    /// The options of one run: the defaults with <paramref name="mode"/>, <paramref name="iterations"/> and
    /// <paramref name="seed"/> (null: the default), then the "Name=Value" <paramref name="overrides"/> in order
    /// (<see cref="TrainingOptionOverrides"/>; a malformed one throws <see cref="ArgumentException"/> naming it). Not
    /// validated: the caller's edge and the trainer call <see cref="Validate"/>.
    /// </summary>
    public static TrainingOptions From(TrainingMode mode, int? iterations = null, ulong? seed = null, IEnumerable<string>? overrides = null)
    {
        if (!Enum.IsDefined(mode)) throw new ArgumentException($"mode must be Train or Lift, got {(int)mode}.");
        var options = new TrainingOptions { Mode = mode };
        if (iterations is { } n) options = options with { Iterations = n };
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
        if (SmoothGraphRefresh < 1 || LiftSmoothGraphRefresh < 1)
            throw new ArgumentException($"SmoothGraphRefresh and LiftSmoothGraphRefresh must be >= 1, got {SmoothGraphRefresh} and {LiftSmoothGraphRefresh}.");
        if (!(ClusterPushMargin >= 0)) throw new ArgumentException($"ClusterPushMargin must be >= 0, got {ClusterPushMargin}.");
        if (!(ClusterPushWeight >= 0)) throw new ArgumentException($"ClusterPushWeight must be >= 0, got {ClusterPushWeight}.");
        return this;
    }
}
