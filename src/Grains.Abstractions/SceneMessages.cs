namespace UniCLift.Grains;

/// <summary>
/// Where a scene is in its life. NotSubmitted: the grain has never been given a job. Trained: training finished and
/// the model is written; the batch's coordinator decodes it (Decoding) together with the batch's other scenes.
/// </summary>
public enum SceneState { NotSubmitted, Queued, Loading, Training, Trained, Decoding, Done, Failed, Cancelled }

public static class SceneStates
{
    public static bool IsTerminal(this SceneState s) => s is SceneState.Done or SceneState.Failed or SceneState.Cancelled;

    /// <summary>The scene grain has work of its own to run (wait for a slot, load, train).</summary>
    public static bool NeedsTraining(this SceneState s) => s is SceneState.Queued or SceneState.Loading or SceneState.Training;

    /// <summary>Training is over and the model waits for (or is in) the coordinator's decoding pass.</summary>
    public static bool AwaitsDecoding(this SceneState s) => s is SceneState.Trained or SceneState.Decoding;
}

/// <summary>What the coordinator's decoding pass produced for one scene.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.SceneDecodeResult")]
public sealed record SceneDecodeResult(
    [property: Id(0)] int Instances,
    [property: Id(1)] double? PqScene,
    [property: Id(2)] double? PqThings,
    [property: Id(3)] double DecodeSeconds,
    [property: Id(4)] int DecodePass);

/// <summary>Train the whole 3DGS (geometry + embeddings), or lift: geometry frozen from a trained 3DGS, embeddings and W only.</summary>
public enum JobMode { Train, Lift }

/// <summary>
/// How a scene is trained. <see cref="Iterations"/> and <see cref="Seed"/> null: the trainer's defaults.
/// <see cref="InitialPly"/>: the trained 3DGS PLY a lift starts from. <see cref="Settings"/>: further TrainingOptions
/// knobs as "Name=Value". The grains turn it into the compute library's TrainingOptions in one place
/// (JobTraining.ToTrainingOptions, over TrainingOptions.From); the client validates it before submitting and the
/// trainer when it starts, nobody in between.
/// </summary>
/// <remarks>Mode was the string "train" / "lift" until 2026-12; grain storage (Newtonsoft JSON) reads such an old value
/// into the enum by name.</remarks>
[GenerateSerializer, Immutable, Alias("UniCLift.JobOptions")]
public sealed record JobOptions(
    [property: Id(0)] JobMode Mode = JobMode.Train,
    [property: Id(1)] int? Iterations = null,
    [property: Id(2)] ulong? Seed = null,
    [property: Id(3)] string? InitialPly = null,
    [property: Id(4)] int MaxRetries = 2,
    [property: Id(5)] string[]? Settings = null);

/// <summary>One scene to segment. <see cref="Attempt"/> grows with each retry; a Start with a higher attempt restarts a failed scene.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.SceneJob")]
public sealed record SceneJob(
    [property: Id(0)] string SceneId,
    [property: Id(1)] string SceneDirectory,
    [property: Id(2)] string OutputDirectory,
    [property: Id(3)] JobOptions Options,
    [property: Id(4)] string? BatchId = null,
    [property: Id(5)] int Attempt = 0);

/// <summary>The unweighted loss terms of the latest iteration.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.SceneLosses")]
public sealed record SceneLosses(
    [property: Id(0)] double Total,
    [property: Id(1)] double Render,
    [property: Id(2)] double Cluster,
    [property: Id(3)] double Triplet,
    [property: Id(4)] double Smooth);

/// <summary>What a scene grain reports about its scene.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.SceneStatus")]
public sealed record SceneStatus(
    [property: Id(0)] string SceneId,
    [property: Id(1)] SceneState State,
    [property: Id(2)] int Step,
    [property: Id(3)] int Iterations,
    [property: Id(4)] SceneLosses? Losses,
    [property: Id(5)] int Gaussians,
    [property: Id(6)] int Resumes,
    [property: Id(7)] int LastCheckpointStep,
    [property: Id(8)] string? Error,
    [property: Id(9)] string? OutputDirectory,
    [property: Id(10)] double? PqScene,
    [property: Id(11)] string? Silo,
    [property: Id(12)] double Seconds,
    [property: Id(13)] double MillisecondsPerStep,
    [property: Id(14)] int Attempt,
    [property: Id(15)] int Instances,
    [property: Id(16)] string? SceneDirectory,
    [property: Id(17)] double? PqThings = null,
    [property: Id(18)] int DecodePass = 0);
