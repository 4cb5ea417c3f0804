namespace UniCLift.Grains;

/// <summary>A batch of scenes: each directory becomes one scene written to OutputRoot/&lt;scene name&gt;, or to
/// OutputDirectories[i] when given (one per scene). Scene directories must lie under the silos' scene roots, outputs
/// under their output roots, Options.InitialPly under either (UniCLift:SceneRoots, UniCLift:OutputRoots); SubmitBatch
/// refuses anything else with an ArgumentException naming the path and the roots.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.BatchRequest")]
public sealed record BatchRequest(
    [property: Id(0)] IReadOnlyList<string> Scenes,
    [property: Id(1)] string OutputRoot,
    [property: Id(2)] JobOptions Options,
    [property: Id(3)] IReadOnlyList<string>? OutputDirectories = null);

/// <summary>One scene of a batch as the coordinator last saw it; <see cref="Failures"/>: one line per failed attempt
/// ("attempt N on SILO: reason").</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.BatchSceneStatus")]
public sealed record BatchSceneStatus(
    [property: Id(0)] string SceneDirectory,
    [property: Id(1)] string SceneId,
    [property: Id(2)] SceneStatus Status,
    [property: Id(3)] int Retries,
    [property: Id(4)] IReadOnlyList<string>? Failures = null);

[GenerateSerializer, Immutable, Alias("UniCLift.BatchStatus")]
public sealed record BatchStatus(
    [property: Id(0)] string BatchId,
    [property: Id(1)] IReadOnlyList<BatchSceneStatus> Scenes,
    [property: Id(2)] DateTime SubmittedUtc,
    [property: Id(3)] DateTime? FinishedUtc,
    [property: Id(4)] bool Cancelled,
    [property: Id(5)] string OutputRoot)
{
    public bool IsFinished => FinishedUtc is not null;
    public int Done => Scenes.Count(s => s.Status.State == SceneState.Done);
    public int Failed => Scenes.Count(s => s.Status.State == SceneState.Failed);
}

/// <summary>A batch (key: batch id): fans scenes out to scene grains, supervises them, retries failures, keeps a persisted summary.</summary>
[Alias("UniCLift.ICoordinatorGrain")]
public interface ICoordinatorGrain : IGrainWithStringKey
{
    [Alias("SubmitBatch")]
    Task<BatchStatus> SubmitBatch(BatchRequest request);

    [Alias("GetBatchStatus")]
    Task<BatchStatus> GetBatchStatus();

    [Alias("Cancel")]
    Task<BatchStatus> Cancel();

    /// <summary>Deletes a finished batch's persisted summary and its scenes' state (the batch index's retention);
    /// false, and nothing deleted, while the batch runs.</summary>
    [Alias("Forget")]
    Task<bool> Forget();
}

/// <summary>The batches submitted (key 0), for `uniclift status` without a batch id: the newest BatchesToKeep, none older
/// than BatchRetention; a batch leaving the index is forgotten (ICoordinatorGrain.Forget), one still running stays.</summary>
[Alias("UniCLift.IBatchIndexGrain")]
public interface IBatchIndexGrain : IGrainWithIntegerKey
{
    [Alias("Add")]
    Task Add(string batchId);

    [Alias("List")]
    Task<IReadOnlyList<string>> List();
}
