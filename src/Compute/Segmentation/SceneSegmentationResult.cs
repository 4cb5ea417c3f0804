namespace UniCLift.Compute.Segmentation;

/// <summary>Result of segmenting one scene.</summary>
public sealed record SceneSegmentationResult(
    string OutputDirectory,
    int Instances,
    int Gaussians,
    int Iterations,
    double Seconds,
    double? PqScene,
    double? PqThings)
{
    /// <summary>Training time per phase of the step, summed over the run (ms), when the trainer reported it.</summary>
    public IReadOnlyDictionary<string, double>? PhaseMilliseconds { get; init; }
    /// <summary>Tensors the host created per phase over the run (<see cref="Training.SceneTrainer.PhaseTensors"/>).</summary>
    public IReadOnlyDictionary<string, long>? PhaseTensors { get; init; }
}
