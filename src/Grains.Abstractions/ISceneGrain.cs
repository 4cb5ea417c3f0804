namespace UniCLift.Grains;

/// <summary>
/// One scene's training and decoding (key: scene id, no '/'). Activates only on compute silos, trains on a dedicated
/// compute thread, checkpoints to the shared checkpoint directory and resumes from the last checkpoint after its
/// silo dies.
/// </summary>
[Alias("UniCLift.ISceneGrain")]
public interface ISceneGrain : IGrainWithStringKey
{
    /// <summary>Starts (or, for a higher <see cref="SceneJob.Attempt"/> after a failure, restarts) the job; idempotent otherwise.</summary>
    [Alias("Start")]
    Task<SceneStatus> Start(SceneJob job);

    [Alias("GetStatus")]
    Task<SceneStatus> GetStatus();

    /// <summary>Stops training between steps; the scene ends Cancelled.</summary>
    [Alias("Cancel")]
    Task<SceneStatus> Cancel();

    /// <summary>The coordinator starts decoding the trained scene (Trained or Decoding -> Decoding); returns the status,
    /// whose OutputDirectory holds model.ply and training.json. Throws if the scene is not trained.</summary>
    [Alias("BeginDecoding")]
    Task<SceneStatus> BeginDecoding(int pass);

    /// <summary>The decoding pass wrote the scene's outputs: the scene is Done.</summary>
    [Alias("CompleteDecoding")]
    Task<SceneStatus> CompleteDecoding(SceneDecodeResult result);

    /// <summary>The decoding pass failed for this scene: it is Failed with <paramref name="error"/> (a retry restores
    /// the final checkpoint and decodes again without training).</summary>
    [Alias("FailDecoding")]
    Task<SceneStatus> FailDecoding(string error);

    /// <summary>Deletes the scene's persisted state once it is finished (its batch leaves the index); false while it
    /// still has work.</summary>
    [Alias("Forget")]
    Task<bool> Forget();

    /// <summary>The name of the silo this activation lives on (placement checks).</summary>
    [Alias("GetSilo")]
    Task<string> GetSilo();
}
