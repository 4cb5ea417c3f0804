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

/// <summary>Train the whole 3DGS (geometry + embeddings), or lift: geometry frozen from a trained 3DGS, embeddings and W
/// only; or decode: train nothing, decode again the model.ply a train or lift run left in the scene's output directory
/// (other <see cref="JobOptions.Decode"/> settings, in seconds).</summary>
public enum JobMode { Train, Lift, Decode }

/// <summary>
/// How a scene is trained. <see cref="Iterations"/> and <see cref="Seed"/> null: the trainer's defaults.
/// <see cref="InitialPly"/>: the trained 3DGS PLY a lift starts from. <see cref="Settings"/>: further TrainingOptions
/// knobs as "Name=Value". <see cref="Masks"/>: the input masks' folder, relative to each scene directory or absolute,
/// in place of the layout's own (3DGS output, nerfstudio and COLMAP scenes; null: the layout's). The grains turn it into the compute library's TrainingOptions in one place
/// (JobTraining.ToTrainingOptions, over TrainingOptions.From); the client validates it before submitting and the
/// trainer when it starts, nobody in between. <see cref="Decode"/>: DecodeOptions knobs as "Name=Value" (Compute's
/// DecodeOptionOverrides), read by the coordinator's decoding pass and the view grains (JobTraining.ToDecodeOptions);
/// null in a job from an older client: the defaults. <see cref="Downscale"/>: train and decode at the files' size divided
/// by this factor (1..16, --downscale; Compute's Scene.Downscaled); 0, in a job from an older client or stored before
/// it, is 1, and in a decode job the factor the finished result records (its metrics.json).
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
    [property: Id(5)] string[]? Settings = null,
    [property: Id(6)] string? Masks = null,
    [property: Id(7)] string[]? Decode = null,
    [property: Id(8)] int Downscale = 1);

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

/// <summary>
/// A scene as its grain reports it, and what the grain persists of it (SceneGrainState wraps it with the job); the
/// compute thread's run reports its progress in it too, and the coordinator keeps the last one per scene. Build it with
/// named properties: every field has a default (a scene nobody has started is just its SceneId and SceneDirectory).
/// </summary>
/// <remarks>Field ids and property names are those of the positional record it was until 2026-12 (wire format and
/// stored JSON unchanged); <see cref="CheckpointPath"/> is new.</remarks>
[GenerateSerializer, Immutable, Alias("UniCLift.SceneStatus")]
public sealed record SceneStatus
{
    [Id(0)] public string SceneId { get; init; } = "";
    [Id(1)] public SceneState State { get; init; }
    /// <summary>Training steps done; while a resumed run waits for a slot or loads, where the scene was.</summary>
    [Id(2)] public int Step { get; init; }
    [Id(3)] public int Iterations { get; init; }
    /// <summary>The unweighted loss terms of the latest step.</summary>
    [Id(4)] public SceneLosses? Losses { get; init; }
    [Id(5)] public int Gaussians { get; init; }
    /// <summary>How often training resumed after the grain's silo died or shut down.</summary>
    [Id(6)] public int Resumes { get; init; }
    [Id(7)] public int LastCheckpointStep { get; init; }
    [Id(8)] public string? Error { get; init; }
    /// <summary>Where model.ply, training.json and, once decoded, the label maps and metrics.json are.</summary>
    [Id(9)] public string? OutputDirectory { get; init; }
    [Id(10)] public double? PqScene { get; init; }
    /// <summary>The silo training (or that trained) the scene.</summary>
    [Id(11)] public string? Silo { get; init; }
    /// <summary>Training time over all runs of the scene, resumes included.</summary>
    [Id(12)] public double Seconds { get; init; }
    [Id(13)] public double MillisecondsPerStep { get; init; }
    /// <summary>The job's attempt (0, then one more per retry of a failed scene).</summary>
    [Id(14)] public int Attempt { get; init; }
    [Id(15)] public int Instances { get; init; }
    [Id(16)] public string? SceneDirectory { get; init; }
    [Id(17)] public double? PqThings { get; init; }
    /// <summary>The coordinator's decoding pass that decoded (or is decoding) the scene.</summary>
    [Id(18)] public int DecodePass { get; init; }
    /// <summary>The newest checkpoint written or restored (the run restores the newest that reads).</summary>
    [Id(19)] public string? CheckpointPath { get; init; }
    /// <summary>The failure was the input's (a file missing or malformed, a bad value): the console exits 2, not 1,
    /// and retrying it cannot help.</summary>
    [Id(20)] public bool BadInput { get; init; }
}
