namespace UniCLift.Compute.Training;

/// <summary>Adaptive density control settings (graphdeco 3DGS defaults). <see cref="MaxGaussians"/>: the budget;
/// densification adds at most the room left, the candidates with the largest gradients first.</summary>
public sealed record DensitySettings(
    double GradThreshold = 0.0002,
    double PercentDense = 0.01,
    double MinOpacity = 0.005,
    double MaxScreenSize = 20,
    int MaxGaussians = 1_000_000);
