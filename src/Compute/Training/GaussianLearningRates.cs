namespace UniCLift.Compute.Training;

/// <summary>Learning rates (graphdeco 3DGS defaults; embedding lr is UniC-Lift's, see TrainingOptions).</summary>
public sealed record GaussianLearningRates(
    double PositionInit = 0.00016,
    double PositionFinal = 0.0000016,
    double ShDc = 0.0025,
    double ShRest = 0.0025 / 20,
    double Opacity = 0.05,
    double Scaling = 0.005,
    double Rotation = 0.001,
    double Embedding = 0.0025);
