namespace UniCLift.Grains;

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using UniCLift.Compute.Losses;
using UniCLift.Compute.Training;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Placement;
using UniCLift.Grains.Scenes;
using UniCLift.Grains.Views;

/// <summary>What a scene grain persists (grain storage "uniclift", state "scene").</summary>
[GenerateSerializer, Alias("UniCLift.SceneGrainState")]
public sealed class SceneGrainState
{
    [Id(0)] public SceneJob? Job { get; set; }
    [Id(1)] public SceneState State { get; set; }
    [Id(2)] public int Step { get; set; }
    [Id(3)] public int Iterations { get; set; }
    [Id(4)] public SceneLosses? Losses { get; set; }
    [Id(5)] public int Gaussians { get; set; }
    [Id(6)] public int Resumes { get; set; }
    [Id(7)] public int LastCheckpointStep { get; set; }
    [Id(8)] public string? CheckpointPath { get; set; }
    [Id(9)] public string? Error { get; set; }
    [Id(10)] public double? PqScene { get; set; }
    [Id(11)] public int Instances { get; set; }
    [Id(12)] public double Seconds { get; set; }
    [Id(13)] public double MillisecondsPerStep { get; set; }
    [Id(14)] public string? Silo { get; set; }
    [Id(15)] public double? PqThings { get; set; }
    [Id(16)] public int DecodePass { get; set; }
}

/// <summary>
/// Owns one scene's training. Placed only on compute silos, least-loaded first. Training runs on a
/// <see cref="SceneRun"/> compute thread that takes the views' boundary indices from the view grains; a 1 s grain
/// timer copies its progress into the persisted state (written when the stage or checkpoint changes). A reminder
/// keeps the scene alive across silo deaths: whichever silo re-activates the grain resumes from the last
/// checkpoint. Training ends Trained; the batch's coordinator decodes the model and reports Done through
/// <see cref="CompleteDecoding"/>.
/// </summary>
[ComputeSiloPlacementFilter]
[ActivationCountBasedPlacement]
public sealed class SceneGrain(
    [PersistentState("scene", "uniclift")] IPersistentState<SceneGrainState> state,
    SceneRunner runner,
    IOptions<UniCLiftSiloOptions> options,
    ILocalSiloDetails silo,
    ILogger<SceneGrain> log) : Grain, ISceneGrain, IRemindable
{
    private const string SupervisionReminder = "scene-supervision";
    private SceneRun? run;
    private IGrainTimer? poll;
    private bool cancelRequested;

    private SceneGrainState S => state.State;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Job is not null && S.State.NeedsTraining())
        {
            // The previous activation died or was shut down mid-job: resume (from the last checkpoint, if any).
            S.Resumes++;
            log.LogInformation("Scene {SceneId} resumes on {Silo} (state {State}, checkpoint step {Step})",
                S.Job.SceneId, silo.Name, S.State, S.LastCheckpointStep);
            await Launch();
        }
    }

    public async Task<SceneStatus> Start(SceneJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.SceneId != this.GetPrimaryKeyString())
            throw new ArgumentException($"job scene id '{job.SceneId}' does not match grain key '{this.GetPrimaryKeyString()}'.");
        bool fresh = S.Job is null || S.State == SceneState.NotSubmitted;
        bool retry = S.Job is not null && S.State == SceneState.Failed && job.Attempt > S.Job.Attempt;
        if (!fresh && !retry) return Status();

        var resumes = S.Resumes;
        cancelRequested = false;
        state.State = new SceneGrainState { Job = job, State = SceneState.Queued, Iterations = job.Options.PlannedIterations(), Resumes = resumes };
        await state.WriteStateAsync();
        await Launch();
        return Status();
    }

    public async Task<SceneStatus> GetStatus()
    {
        if (run is { } r)
        {
            var p = r.Progress;
            // A final state is reported only once persisted: the run returns right after setting it.
            if (p.State.IsTerminal() || p.State == SceneState.Trained || r.Completion.IsCompleted) await OnRunCompleted(r);
            else Absorb(p);
        }
        return Status();
    }

    public async Task<SceneStatus> Cancel()
    {
        if (S.Job is null || S.State.IsTerminal()) return Status();
        cancelRequested = true;
        if (S.State.AwaitsDecoding())
        {
            S.State = SceneState.Cancelled;
            await state.WriteStateAsync();
            return Status();
        }
        if (run is { } r)
        {
            r.Cancel();
            // Between steps: one step plus a little; do not hold the grain for long if a step is slow.
            await Task.WhenAny(r.Completion, Task.Delay(TimeSpan.FromSeconds(30)));
            if (r.Completion.IsCompleted) await OnRunCompleted(r);
            else
            {
                S.State = SceneState.Cancelled;
                await state.WriteStateAsync();
            }
        }
        else
        {
            S.State = SceneState.Cancelled;
            await state.WriteStateAsync();
            await StopSupervision();
        }
        return Status();
    }

    public async Task<SceneStatus> BeginDecoding(int pass)
    {
        if (!S.State.AwaitsDecoding())
            throw new InvalidOperationException($"scene '{this.GetPrimaryKeyString()}' is {S.State}, not trained; it cannot be decoded.");
        if (S.State != SceneState.Decoding || S.DecodePass != pass)
        {
            S.State = SceneState.Decoding;
            S.DecodePass = pass;
            await state.WriteStateAsync();
        }
        return Status();
    }

    public async Task<SceneStatus> CompleteDecoding(SceneDecodeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (S.State != SceneState.Decoding) return Status(); // cancelled meanwhile, or a late duplicate
        S.State = SceneState.Done;
        S.Instances = result.Instances;
        S.PqScene = result.PqScene;
        S.PqThings = result.PqThings;
        S.DecodePass = result.DecodePass;
        await state.WriteStateAsync();
        return Status();
    }

    public async Task<SceneStatus> FailDecoding(string error)
    {
        if (S.State != SceneState.Decoding) return Status();
        S.State = SceneState.Failed;
        S.Error = error;
        await state.WriteStateAsync();
        return Status();
    }

    public Task<string> GetSilo() => Task.FromResult(silo.Name);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Activation already resumed the job; a reminder for a trained or finished scene is left over.
        if (S.Job is null || !S.State.NeedsTraining()) await StopSupervision();
        else if (run is null) await Launch();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (run is { } done && done.Completion.IsCompleted)
        {
            await OnRunCompleted(done);
        }
        else if (run is { } r)
        {
            // Graceful shutdown or collection: checkpoint at the next step boundary so the next activation loses nothing.
            r.Suspend();
            try { await r.Completion.WaitAsync(cancellationToken); }
            catch (OperationCanceledException) { r.Abort(); }
            Absorb(r.Progress);
            try { await state.WriteStateAsync(); }
            catch (Exception e) { log.LogWarning(e, "Scene {SceneId}: state not saved on deactivation", S.Job?.SceneId); }
        }
    }

    private async Task Launch()
    {
        S.Silo = silo.Name;
        run = runner.Start(S.Job!, S.Seconds, ViewBoundaries());
        // Metrics come from the run itself (SceneRun: iterations, checkpoints, a resume when it restores a checkpoint).
        poll ??= this.RegisterGrainTimer(Poll, new GrainTimerCreationOptions(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)) { KeepAlive = true });
        await this.RegisterOrUpdateReminder(SupervisionReminder, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
    }

    /// <summary>
    /// Fetches the training views' boundary indices from their view grains, in parallel. The run calls it from its
    /// compute thread; the calls are made on this activation's scheduler (grain calls need a grain context).
    /// </summary>
    private BoundaryProvider ViewBoundaries()
    {
        var scheduler = TaskScheduler.Current;
        var sceneId = this.GetPrimaryKeyString();
        var grains = GrainFactory;
        return (scene, ct) => Task.Factory.StartNew(async () =>
        {
            var names = TrainingData.ViewNames(scene);
            var indices = await Task.WhenAll(names.Select(n => grains.GetGrain<IViewGrain>($"{sceneId}/{n}").Load(scene.View(n).ToSource())));
            ct.ThrowIfCancellationRequested();
            var result = new Dictionary<string, BoundaryIndex>(names.Count);
            for (int i = 0; i < names.Count; i++) result[names[i]] = indices[i].ToIndex();
            return (IReadOnlyDictionary<string, BoundaryIndex>)result;
        }, ct, TaskCreationOptions.None, scheduler).Unwrap();
    }

    private async Task Poll(CancellationToken ct)
    {
        if (run is not { } r) return;
        var before = (S.State, S.LastCheckpointStep);
        Absorb(r.Progress);
        if (r.Completion.IsCompleted) await OnRunCompleted(r);
        else if (before != (S.State, S.LastCheckpointStep)) await state.WriteStateAsync();
    }

    private async Task OnRunCompleted(SceneRun r)
    {
        var end = await r.Completion;
        if (run != r) return; // already handled by an interleaved caller
        Absorb(r.Progress);
        run = null;
        if (end != SceneRunEnd.Finished) return; // suspended/aborted: the job goes on elsewhere
        await state.WriteStateAsync();
        await StopSupervision();
    }

    private async Task StopSupervision()
    {
        poll?.Dispose();
        poll = null;
        try
        {
            var reminder = await this.GetReminder(SupervisionReminder);
            if (reminder is not null) await this.UnregisterReminder(reminder);
        }
        catch (Exception e)
        {
            // Best effort: a leftover reminder only wakes a finished scene, which then removes it.
            log.LogWarning(e, "Scene {SceneId}: supervision reminder not removed", S.Job?.SceneId);
        }
    }

    private void Absorb(SceneRunProgress p)
    {
        // A cancelled run may still be inside a long load or step; it stops at the next boundary.
        S.State = cancelRequested && !p.State.IsTerminal() ? SceneState.Cancelled : p.State;
        if (p.State >= SceneState.Training)
        {
            // While a resumed run waits for a slot or loads, keep showing where the scene was.
            S.Step = p.Step;
            S.Gaussians = p.Gaussians;
        }
        S.Iterations = p.Iterations;
        S.Losses = p.Losses ?? S.Losses;
        S.LastCheckpointStep = Math.Max(S.LastCheckpointStep, p.LastCheckpointStep);
        S.CheckpointPath = p.CheckpointPath ?? S.CheckpointPath;
        S.Error = p.Error;
        S.Seconds = p.Seconds;
        S.MillisecondsPerStep = p.MillisecondsPerStep;
    }

    private SceneStatus Status() => new(
        this.GetPrimaryKeyString(), S.State, S.Step, S.Iterations, S.Losses, S.Gaussians, S.Resumes, S.LastCheckpointStep,
        S.Error, S.Job?.OutputDirectory, S.PqScene, S.Silo, S.Seconds, S.MillisecondsPerStep, S.Job?.Attempt ?? 0,
        S.Instances, S.Job?.SceneDirectory, S.PqThings, S.DecodePass);
}
