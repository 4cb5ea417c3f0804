namespace UniCLift.Compute.Training;

using UniCLift.Compute.Scenes;

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

/// <summary>
/// Owns one scene's Gaussians, optimiser state, density-control statistics, linear layer W and RNG, and advances
/// training one iteration at a time so that a host (CLI or scene grain) can drive it, checkpoint it and stop it
/// between steps. Not thread-safe: call it from one thread (TorchSharp dispose scopes are per thread).
/// CONTRACT: the body is being implemented; the public surface is stable.
/// </summary>
public sealed partial class SceneTrainer : IDisposable
{
    /// <summary>Loads the scene's training views and initialises the model (train: from the point cloud or depth;
    /// lift: from <paramref name="initialPly"/>, a graphdeco 3DGS PLY, geometry frozen).</summary>
    public static SceneTrainer Create(Scene scene, TrainingOptions options, string? initialPly = null) => throw new NotImplementedException();

    /// <summary>Restores a trainer saved by <see cref="Save"/>; continuing gives bit-identical results to an uninterrupted run.</summary>
    public static SceneTrainer Restore(Scene scene, Stream checkpoint) => throw new NotImplementedException();

    public TrainingOptions Options => throw new NotImplementedException();
    public int CurrentStep => throw new NotImplementedException();
    public bool IsComplete => CurrentStep >= Options.Iterations;
    public int GaussianCount => throw new NotImplementedException();

    /// <summary>Runs one iteration.</summary>
    public TrainingStepReport Step() => throw new NotImplementedException();

    /// <summary>Writes the complete training state (parameters, Adam moments, density statistics, step, RNG, W).</summary>
    public void Save(Stream stream) => throw new NotImplementedException();

    public void Dispose() { }
}
