namespace UniCLift.Grains;

using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Training;

/// <summary>
/// The one route from a job's <see cref="JobOptions"/> to the compute library's <see cref="TrainingOptions"/>: the scene
/// run trains with it, the client validates with it before submitting. Nothing else parses a job's training settings.
/// Its decode settings are parsed by Compute's <see cref="DecodeOptionOverrides"/> wherever they are applied (the
/// client's check here, the coordinator's pass on <see cref="DecodeBaseline"/>, the view grains on the defaults).
/// </summary>
public static class JobTraining
{
    /// <summary>The most retries a batch may ask for per scene (a scene that fails 10 times will not pass the 11th).</summary>
    public const int MaxRetriesLimit = 10;

    /// <summary>The largest --downscale (a 24 MP photo at 1/16 is 252x189).</summary>
    public const int MaxDownscale = 16;

    /// <summary>The factor a job trains at: its <see cref="JobOptions.Downscale"/>, 0 (a job from an older client) being 1.</summary>
    public static int TrainingDownscale(this JobOptions job) => Math.Max(1, job.Downscale);

    /// <summary>The job's training options, not validated (the trainer validates them when it starts). A decode job
    /// trains nothing: its options are train mode's defaults (<see cref="Validate"/> refuses settings for it).</summary>
    public static TrainingOptions ToTrainingOptions(this JobOptions job) =>
        TrainingOptions.From(job.Mode.ToTrainingMode(), job.Iterations, job.Seed, job.Settings);

    public static TrainingMode ToTrainingMode(this JobMode mode) => mode switch
    {
        JobMode.Train or JobMode.Decode => TrainingMode.Train,
        JobMode.Lift => TrainingMode.Lift,
        _ => throw new ArgumentException($"mode must be 'train', 'lift' or 'decode', got {(int)mode}."),
    };

    /// <summary>
    /// The job's decoding options: its <see cref="JobOptions.Decode"/> settings applied to <paramref name="baseline"/>
    /// (default: <see cref="DecodeOptions"/>' defaults), validated. The baseline of a scene is what its training implies
    /// (<see cref="DecodeBaseline"/>).
    /// </summary>
    public static DecodeOptions ToDecodeOptions(this JobOptions job, DecodeOptions? baseline = null) =>
        DecodeOptionOverrides.Apply(baseline ?? new DecodeOptions(), job.Decode);

    /// <summary>What a trained scene is decoded with before a job's settings: the stuff rule its training used (the
    /// <c>StuffAsBackground</c> line of training.json's settings; default: true).</summary>
    public static DecodeOptions DecodeBaseline(TrainingSummary training) =>
        new() { StuffAsBackground = training.StuffAsBackground };

    /// <summary>The client's check before submitting: throws <see cref="ArgumentException"/> naming the bad value
    /// (a training or decode setting, an iteration count, a lift without its PLY, negative retries, training settings
    /// on a decode job).</summary>
    public static JobOptions Validate(this JobOptions job)
    {
        job.ToTrainingOptions().Validate();
        job.ToDecodeOptions();
        if (job.MaxRetries is < 0 or > MaxRetriesLimit)
            throw new ArgumentException($"max retries must be between 0 and {MaxRetriesLimit}, got {job.MaxRetries}.");
        if (job.Mode == JobMode.Lift && string.IsNullOrWhiteSpace(job.InitialPly))
            throw new ArgumentException("mode 'lift' needs a trained 3DGS PLY (--ply).");
        if (job.Mode == JobMode.Decode && (job.Iterations is not null || job.InitialPly is not null || job.Settings is { Length: > 0 }))
            throw new ArgumentException("mode 'decode' trains nothing: it decodes the model.ply of a finished run again; --iterations, --ply and --set do not apply (decoding takes --decode Name=Value).");
        // --set Iterations= beside --iterations: one of the two won without a word.
        if (job.Iterations is not null && job.Settings?.FirstOrDefault(kv => kv.Split('=', 2)[0].Trim().Equals("Iterations", StringComparison.OrdinalIgnoreCase)) is { } both)
            throw new ArgumentException($"--iterations and --set {both} both set the iterations: give one of them.");
        if (job.Masks is { } masks && string.IsNullOrWhiteSpace(masks))
            throw new ArgumentException("the mask folder (--masks) is empty.");
        // 0: a job from a client before the factor (1; a decode job: the result's).
        if (job.Downscale is < 0 or > MaxDownscale)
            throw new ArgumentException($"--downscale must be between 1 and {MaxDownscale}, got {job.Downscale}.");
        return job;
    }

    /// <summary>The iteration count a job asks for (the trainer's default when it names none; 0 for a decode job), shown
    /// until training starts.</summary>
    public static int PlannedIterations(this JobOptions job) =>
        job.Mode == JobMode.Decode ? 0 : job.Iterations ?? TrainingOptions.DefaultIterations(job.Mode.ToTrainingMode());
}
