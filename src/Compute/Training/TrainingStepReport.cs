namespace UniCLift.Compute.Training;

/// <summary>What one training iteration did (losses are the unweighted terms).</summary>
public sealed record TrainingStepReport(
    int Step,
    int Iterations,
    double TotalLoss,
    double RenderLoss,
    double ClusterLoss,
    double TripletLoss,
    double SmoothLoss,
    int Gaussians,
    double Milliseconds);
