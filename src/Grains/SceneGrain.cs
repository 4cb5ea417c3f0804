namespace UniCLift.Grains;

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Placement;
using UniCLift.Grains.Scenes;

/// <summary>
/// What a scene grain persists (grain storage "uniclift", state "scene"): its job and its <see cref="SceneStatus"/>,
/// the record it reports.
/// </summary>
/// <remarks>
/// Version 1 (until 2026-12) stored the status's fields flat on this class. Grain storage writes JSON through Orleans'
/// Newtonsoft serializer, which fills a stored property it finds through its setter: the write-only properties below
/// fold such an old document's fields into <see cref="Status"/> and are never written back (no getter), so a scene
/// saved by version 1 loads with its state, progress and checkpoint (GrainStateCompatibilityTests).
/// </remarks>
[GenerateSerializer, Alias("UniCLift.SceneGrainState")]
public sealed class SceneGrainState : IStampedState
{
    [Id(0)] public SceneJob? Job { get; set; }
    [Id(17)] public SceneStatus Status { get; set; } = new();
    /// <summary>The stamp of the write that stored this state (<see cref="IStampedState"/>).</summary>
    [Id(18)] public string? WriteStamp { get; set; }

#pragma warning disable CA1044 // write-only on purpose: version 1's fields, read from old documents only
    public SceneState State { set => Status = Status with { State = value }; }
    public int Step { set => Status = Status with { Step = value }; }
    public int Iterations { set => Status = Status with { Iterations = value }; }
    public SceneLosses? Losses { set => Status = Status with { Losses = value }; }
    public int Gaussians { set => Status = Status with { Gaussians = value }; }
    public int Resumes { set => Status = Status with { Resumes = value }; }
    public int LastCheckpointStep { set => Status = Status with { LastCheckpointStep = value }; }
    public string? CheckpointPath { set => Status = Status with { CheckpointPath = value }; }
    public string? Error { set => Status = Status with { Error = value }; }
    public double? PqScene { set => Status = Status with { PqScene = value }; }
    public int Instances { set => Status = Status with { Instances = value }; }
    public double Seconds { set => Status = Status with { Seconds = value }; }
    public double MillisecondsPerStep { set => Status = Status with { MillisecondsPerStep = value }; }
    public string? Silo { set => Status = Status with { Silo = value }; }
    public double? PqThings { set => Status = Status with { PqThings = value }; }
    public int DecodePass { set => Status = Status with { DecodePass = value }; }
#pragma warning restore CA1044
}

/// <summary>
/// Owns one scene's training. Placed only on compute silos, on the one with the most free training slots
/// (<see cref="TrainingSlotPlacement"/>); a failed scene moves (MigrateOnIdle) to where placement puts it now, so its
/// retry does not stay on a silo whose device is what failed. Training runs on a
/// <see cref="SceneRun"/> compute thread, which reads the scene once and makes no grain calls; a 1 s grain
/// timer copies its progress into the persisted state (written when the stage or checkpoint changes). A reminder
/// keeps the scene alive across silo deaths: whichever silo re-activates the grain resumes from the last
/// checkpoint. Training ends Trained; the batch's coordinator decodes the model and reports Done through
/// <see cref="CompleteDecoding"/>.
/// </summary>
[ComputeSiloPlacementFilter]
[TrainingSlotPlacement]
public sealed class SceneGrain(
    [PersistentState("scene", "uniclift")] IPersistentState<SceneGrainState> state,
    SceneRunner runner,
    ComputeDevice device,
    ComputeLoadReporter loadReporter,
    ComputeLoad load,
    IOptions<UniCLiftSiloOptions> options,
    ILocalSiloDetails silo,
    ILogger<SceneGrain> log) : Grain, ISceneGrain, IRemindable
{
    private const string SupervisionReminder = "scene-supervision";
    private SceneRun? run;
    private IGrainTimer? poll;
    private bool cancelRequested;
    /// <summary>Set once this activation hands the scene on (a migration): it starts no run after that.</summary>
    private bool leaving;
    /// <summary>What was last written of what a poll or a status call can change; a difference is saved.</summary>
    private (SceneState State, int Checkpoint)? saved;

    private SceneJob? Job => state.State.Job;

    /// <summary>The scene's status: persisted with the job, reported as it is.</summary>
    private SceneStatus Current
    {
        get => state.State.Status;
        set => state.State.Status = value;
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        saved = (Current.State, Current.LastCheckpointStep);
        // State saved before the status was one record names no scene in it.
        if (Job is { } job && Current.SceneId.Length == 0) Current = Identified(Current, job);
        if (Job is not null && Current.State.NeedsTraining())
        {
            // The previous activation died or was shut down mid-job: resume (from the last checkpoint, if any).
            Current = Current with { Resumes = Current.Resumes + 1 };
            log.LogInformation("Scene {SceneId} resumes on {Silo} (state {State}, checkpoint step {Step})",
                Job.SceneId, silo.Name, Current.State, Current.LastCheckpointStep);
            await Launch();
        }
    }

    public async Task<SceneStatus> Start(SceneJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.SceneId != this.GetPrimaryKeyString())
            throw new ArgumentException($"job scene id '{job.SceneId}' does not match grain key '{this.GetPrimaryKeyString()}'.");
        bool fresh = Job is null || Current.State == SceneState.NotSubmitted;
        bool retry = Job is not null && Current.State == SceneState.Failed && job.Attempt > Job.Attempt;
        if (!fresh && !retry)
        {
            await EnsureRunning(); // a start whose run did not start (its coordinator asks again)
            return Status();
        }

        cancelRequested = false;
        var before = state.State;
        state.State = new SceneGrainState
        {
            Job = job,
            Status = Identified(new SceneStatus { State = SceneState.Queued, Iterations = job.Options.PlannedIterations(), Resumes = Current.Resumes }, job),
        };
        try { await Save(); }
        catch
        {
            // Not saved (Redis timed out, say): nothing was started, so the coordinator's next Start starts it afresh. Left
            // in memory, the job made that Start answer "queued" with no run ever started.
            state.State = before;
            throw;
        }
        if (device.Problem is not null && load.AnyWorking(_ => true))
        {
            // Addressed here through a cached location although this silo's device is broken: the job is saved, and the
            // activation on the silo placement picks resumes it; the reminder wakes it if the move does not happen.
            await this.RegisterOrUpdateReminder(SupervisionReminder, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
            leaving = true;
            MigrateOnIdle();
            return Status();
        }
        await Launch();
        return Status();
    }

    /// <summary>Starts the job's run when it needs training and nothing runs it here (its start failed after the job was
    /// saved, say): asked again by its coordinator (Start, GetStatus) or its reminder, the scene trains instead of
    /// answering "queued" for ever.</summary>
    private async Task EnsureRunning()
    {
        if (run is not null || leaving || cancelRequested || Job is null || !Current.State.NeedsTraining()) return;
        log.LogWarning("Scene {SceneId}: its job needs training and nothing runs it on {Silo}: starting it", Job.SceneId, silo.Name);
        await Launch();
    }

    public async Task<SceneStatus> GetStatus()
    {
        if (run is { } r)
        {
            var p = r.Progress;
            // A final state is reported only once persisted: the run returns right after setting it.
            if (p.State.IsTerminal() || p.State == SceneState.Trained || r.Completion.IsCompleted) await OnRunCompleted(r);
            else
            {
                // Persist what the progress changed (state, checkpoint): the timer compares with what was saved, not
                // with memory this call already updated.
                Absorb(p);
                await SaveIfChanged();
            }
        }
        else await EnsureRunning();
        return Status();
    }

    public async Task<SceneStatus> Cancel()
    {
        if (Job is null || Current.State.IsTerminal()) return Status();
        cancelRequested = true;
        if (Current.State.AwaitsDecoding())
        {
            Current = Current with { State = SceneState.Cancelled };
            await Save();
            PruneCheckpoints();
            return Status();
        }
        if (run is { } r)
        {
            r.Cancel();
            // Between steps: one step plus a little. Not longer: a slow step or a long load would hold the grain (and its
            // caller, whose call times out at 30 s) that long; the poll finishes the run's end instead.
            await Task.WhenAny(r.Completion, Task.Delay(TimeSpan.FromSeconds(5)));
            if (r.Completion.IsCompleted) await OnRunCompleted(r);
            else
            {
                Current = Current with { State = SceneState.Cancelled };
                await Save();
            }
        }
        else
        {
            Current = Current with { State = SceneState.Cancelled };
            await Save();
            await StopSupervision();
            PruneCheckpoints();
        }
        return Status();
    }

    public async Task<SceneStatus> BeginDecoding(int pass)
    {
        if (!Current.State.AwaitsDecoding())
            throw new InvalidOperationException($"scene '{this.GetPrimaryKeyString()}' is {Current.State}, not trained; it cannot be decoded.");
        if (Current.State != SceneState.Decoding || Current.DecodePass != pass)
        {
            Current = Current with { State = SceneState.Decoding, DecodePass = pass };
            await Save();
        }
        return Status();
    }

    public async Task<SceneStatus> CompleteDecoding(SceneDecodeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (Current.State != SceneState.Decoding) return Status(); // cancelled meanwhile, or a late duplicate
        Current = Current with
        {
            State = SceneState.Done, Instances = result.Instances, PqScene = result.PqScene, PqThings = result.PqThings, DecodePass = result.DecodePass,
        };
        await Save();
        PruneCheckpoints();
        return Status();
    }

    public async Task<SceneStatus> FailDecoding(string error)
    {
        if (Current.State != SceneState.Decoding) return Status();
        Current = Current with { State = SceneState.Failed, Error = error };
        await Save();
        return Status();
    }

    public async Task<bool> Forget()
    {
        if (run is not null || (Job is not null && !Current.State.IsTerminal())) return false;
        await StopSupervision();
        // Its checkpoints go with it (the one a Done scene keeps, all of a Failed one's): nothing names them any more,
        // and a forgotten batch's scenes left them on the volume for ever.
        if (Job is not null)
        {
            try { runner.Checkpoints(Job).PruneTo(0); }
            catch (Exception e) { log.LogWarning(e, "Scene {SceneId}: checkpoints not deleted", Job.SceneId); }
        }
        await state.ClearStateAsync();
        DeactivateOnIdle();
        return true;
    }

    public Task<string> GetSilo() => Task.FromResult(silo.Name);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        // Activation already resumed the job; a reminder for a trained or finished scene is left over.
        if (Job is null || !Current.State.NeedsTraining()) await StopSupervision();
        else await EnsureRunning();
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
            try { await Save(); }
            catch (Exception e) { log.LogWarning(e, "Scene {SceneId}: state not saved on deactivation", Job?.SceneId); }
        }
    }

    private async Task Launch()
    {
        // The reminder first: registering it can fail or outlast an activation's timeout, and an activation that fails
        // after its run started left that run training with no grain to suspend or cancel it (the next activation
        // started a second one).
        await this.RegisterOrUpdateReminder(SupervisionReminder, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
        Current = Current with { Silo = silo.Name };
        run = runner.Start(Job!, Current);
        // Metrics come from the run itself (SceneRun: iterations, checkpoints, a resume when it restores a checkpoint).
        poll ??= this.RegisterGrainTimer(Poll, new GrainTimerCreationOptions(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)) { KeepAlive = true });
    }

    private async Task Poll(CancellationToken ct)
    {
        if (run is not { } r) return;
        Absorb(r.Progress);
        if (r.Completion.IsCompleted) await OnRunCompleted(r);
        else if (WaitsWhileASlotIsFreeElsewhere(r)) await MoveToAFreeSlot(r);
        else await SaveIfChanged();
    }

    /// <summary>
    /// Queued here behind other scenes (placed in the same moment as another batch's scene, or resumed on a full silo)
    /// for two report intervals while another working silo reports a free slot.
    /// </summary>
    private bool WaitsWhileASlotIsFreeElsewhere(SceneRun r) =>
        r.WaitingForSlotSince is { } since && DateTimeOffset.UtcNow - since >= 2 * options.Value.LoadReportInterval &&
        load.IsFresh && load.FreeSlotElsewhere(silo.SiloAddress);

    /// <summary>Leaves this silo's queue and migrates; placement (reserving the slot) picks the silo with the free slot,
    /// and the activation there resumes the job. If placement keeps it here after all, the grain just deactivates and
    /// its coordinator's next poll re-activates it.</summary>
    private async Task MoveToAFreeSlot(SceneRun r)
    {
        log.LogInformation("Scene {SceneId} waits for a slot on {Silo} while one is free elsewhere: moving", Job?.SceneId, silo.Name);
        r.Suspend();
        // Left the queue (or, had the slot just come, checkpointed before its first step); a run that ended meanwhile
        // (failed on its device, finished) is handled as its end, not moved: a device's failure is recorded there.
        if (await r.Completion == SceneRunEnd.Finished)
        {
            await OnRunCompleted(r);
            return;
        }
        Absorb(r.Progress);
        run = null;
        poll?.Dispose();
        poll = null;
        await Save();
        RequestContext.Set(TrainingSlotPlacement.StartsTraining, true);
        leaving = true;
        try { MigrateOnIdle(); }
        finally { RequestContext.Remove(TrainingSlotPlacement.StartsTraining); }
    }

    private async Task OnRunCompleted(SceneRun r)
    {
        var end = await r.Completion;
        if (run != r) return; // already handled by an interleaved caller
        Absorb(r.Progress);
        run = null;
        if (end != SceneRunEnd.Finished) return; // suspended/aborted: the job goes on elsewhere
        await Save();
        await StopSupervision();
        if (Current.State == SceneState.Cancelled) PruneCheckpoints();
        if (Current.State == SceneState.Failed)
        {
            if (r.DeviceProblem is { } problem)
            {
                // The silo's device, not the scene: this silo stops offering slots (ComputeLoadReporter).
                device.MarkBroken(problem);
                log.LogWarning("Scene {SceneId}: the device of silo {Silo} does not train ({Problem}); it takes no more scenes", Job?.SceneId, silo.Name, problem);
                try { await loadReporter.ReportNowAsync(); }
                catch (Exception e) { log.LogWarning(e, "Scene {SceneId}: the broken device is reported with the next periodic report", Job?.SceneId); }
            }
            // The retry should run where a slot is free, not necessarily here: move the (idle) grain now. A plain
            // deactivation is not enough, since callers' cached addresses would re-activate it on this silo.
            MigrateOnIdle();
        }
    }

    private async Task SaveIfChanged()
    {
        if (saved != (Current.State, Current.LastCheckpointStep)) await Save();
    }

    /// <summary>Saves the state; when its record was gone (Redis restarted empty or flushed) it is written again from
    /// this activation, and the supervision reminder, lost with it, is made again while the scene trains.</summary>
    private async Task Save()
    {
        bool lost = await state.WriteSurvivingLossAsync(log, $"Scene {this.GetPrimaryKeyString()}");
        saved = (Current.State, Current.LastCheckpointStep);
        if (lost && Job is not null && Current.State.NeedsTraining())
        {
            try { await this.RegisterOrUpdateReminder(SupervisionReminder, options.Value.ReminderPeriod, options.Value.ReminderPeriod); }
            catch (Exception e) { log.LogWarning(e, "Scene {SceneId}: supervision reminder not restored now", Job.SceneId); }
        }
    }

    /// <summary>A Done or Cancelled scene keeps only <see cref="UniCLiftSiloOptions.CheckpointsKeptWhenDone"/> checkpoints.</summary>
    private void PruneCheckpoints()
    {
        if (Job is null) return;
        try { runner.Checkpoints(Job).PruneTo(options.Value.CheckpointsKeptWhenDone); }
        catch (Exception e) { log.LogWarning(e, "Scene {SceneId}: checkpoints not pruned", Job.SceneId); }
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
            log.LogWarning(e, "Scene {SceneId}: supervision reminder not removed", Job?.SceneId);
        }
    }

    /// <summary>Takes the fields the run owns from its progress; the grain's own (identity, resumes, silo, decoding) stay.</summary>
    private void Absorb(SceneStatus p) => Current = Current with
    {
        // A cancelled run may still be inside a long load or step; it stops at the next boundary.
        State = cancelRequested && !p.State.IsTerminal() ? SceneState.Cancelled : p.State,
        Step = p.Step,
        Gaussians = p.Gaussians,
        Iterations = p.Iterations,
        Losses = p.Losses,
        LastCheckpointStep = Math.Max(Current.LastCheckpointStep, p.LastCheckpointStep),
        CheckpointPath = p.CheckpointPath,
        Error = p.Error,
        BadInput = p.BadInput,
        Seconds = p.Seconds,
        MillisecondsPerStep = p.MillisecondsPerStep,
    };

    private static SceneStatus Identified(SceneStatus status, SceneJob job) => status with
    {
        SceneId = job.SceneId, SceneDirectory = job.SceneDirectory, OutputDirectory = job.OutputDirectory, Attempt = job.Attempt,
    };

    /// <summary>The status as persisted; a grain never given a job is only its key.</summary>
    private SceneStatus Status() => Job is null ? new SceneStatus { SceneId = this.GetPrimaryKeyString() } : Current;
}
