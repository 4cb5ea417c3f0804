namespace UniCLift.Grains;

using UniCLift.Compute.Training;

/// <summary>
/// The one route from a job's <see cref="JobOptions"/> to the compute library's <see cref="TrainingOptions"/>: the scene
/// run trains with it, the client validates with it before submitting. Nothing else parses a job's settings.
/// </summary>
public static class JobTraining
{
    /// <summary>The most retries a batch may ask for per scene (a scene that fails 10 times will not pass the 11th).</summary>
    public const int MaxRetriesLimit = 10;

    /// <summary>The job's training options, not validated (the trainer validates them when it starts).</summary>
    public static TrainingOptions ToTrainingOptions(this JobOptions job) =>
        TrainingOptions.From(job.Mode.ToTrainingMode(), job.Iterations, job.Seed, job.Settings);

    public static TrainingMode ToTrainingMode(this JobMode mode) => mode switch
    {
        JobMode.Train => TrainingMode.Train,
        JobMode.Lift => TrainingMode.Lift,
        _ => throw new ArgumentException($"mode must be 'train' or 'lift', got {(int)mode}."),
    };

    /// <summary>The client's check before submitting: throws <see cref="ArgumentException"/> naming the bad value
    /// (a setting, an iteration count, a lift without its PLY, negative retries).</summary>
    public static JobOptions Validate(this JobOptions job)
    {
        job.ToTrainingOptions().Validate();
        if (job.MaxRetries is < 0 or > MaxRetriesLimit)
            throw new ArgumentException($"max retries must be between 0 and {MaxRetriesLimit}, got {job.MaxRetries}.");
        if (job.Mode == JobMode.Lift && string.IsNullOrWhiteSpace(job.InitialPly))
            throw new ArgumentException("mode 'lift' needs a trained 3DGS PLY (--ply).");
        if (job.Masks is { } masks && string.IsNullOrWhiteSpace(masks))
            throw new ArgumentException("the mask folder (--masks) is empty.");
        return job;
    }

    /// <summary>The iteration count a job asks for (the trainer's default when it names none), shown until training starts.</summary>
    public static int PlannedIterations(this JobOptions job) => job.Iterations ?? TrainingOptions.DefaultIterations(job.Mode.ToTrainingMode());
}
