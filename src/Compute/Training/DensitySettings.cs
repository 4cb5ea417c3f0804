namespace UniCLift.Compute.Training;

/// <summary>Adaptive density control settings (graphdeco 3DGS defaults).</summary>
public sealed record DensitySettings(
    double GradThreshold = 0.0002,
    double PercentDense = 0.01,
    double MinOpacity = 0.005,
    double MaxScreenSize = 20,
    int MaxGaussians = 1_000_000);
