namespace UniCLift.Grains;

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Placement;
using UniCLift.Grains.Scenes;
using UniCLift.Grains.Security;
using UniCLift.Grains.Telemetry;

[GenerateSerializer, Alias("UniCLift.BatchSceneEntry")]
public sealed class BatchSceneEntry
{
    [Id(0)] public string SceneDirectory { get; set; } = "";
    [Id(1)] public string SceneId { get; set; } = "";
    [Id(2)] public string OutputDirectory { get; set; } = "";
    [Id(3)] public int Retries { get; set; }
    [Id(4)] public SceneStatus? Last { get; set; }
    /// <summary>One line per failed attempt: "attempt N on SILO: reason" (the scene's status keeps only the latest error).</summary>
    [Id(5)] public List<string> Failures { get; set; } = [];
}

/// <summary>The persisted batch summary (grain storage "uniclift", state "batch").</summary>
[GenerateSerializer, Alias("UniCLift.BatchState")]
public sealed class BatchState : IStampedState
{
    [Id(0)] public BatchRequest? Request { get; set; }
    [Id(1)] public List<BatchSceneEntry> Scenes { get; set; } = [];
    [Id(2)] public DateTime SubmittedUtc { get; set; }
    [Id(3)] public DateTime? FinishedUtc { get; set; }
    [Id(4)] public bool Cancelled { get; set; }
    [Id(5)] public int DecodePasses { get; set; }
    /// <summary>The stamp of the write that stored this state (<see cref="IStampedState"/>).</summary>
    [Id(6)] public string? WriteStamp { get; set; }
}

/// <summary>
/// Runs a batch: one scene grain per directory, started only while a compute silo has a free training slot (this
/// silo's <see cref="ComputeLoad"/>; placement then puts it on the silo with the most free slots), so no scene waits
/// behind another on one silo while a slot is free on another; a supervision timer that polls the started scenes (a
/// poll re-activates, and so resumes, a scene whose silo died), bounded retries of failed scenes (placed afresh, so a
/// scene whose silo's device failed retries on another silo; every failed attempt's reason is kept), batch-wide Embedding-to-Label decoding of the trained scenes
/// (<see cref="BatchDecoder"/>: one pass once no scene is waiting or training, or per
/// <see cref="UniCLiftSiloOptions.DecodeGroupSize"/> trained scenes), and a persisted summary. A reminder
/// re-activates the coordinator itself if its silo dies; a pass cut short by that is run again.
/// </summary>
public sealed class CoordinatorGrain(
    [PersistentState("batch", "uniclift")] IPersistentState<BatchState> state,
    IOptions<UniCLiftSiloOptions> options,
    UniCLiftMetrics metrics,
    DataRoots roots,
    ComputeLoad load,
    IClusterMembershipService membership,
    ILogger<CoordinatorGrain> log) : Grain, ICoordinatorGrain, IRemindable
{
    private const string SupervisionReminder = "batch-supervision";
    private IGrainTimer? timer;
    private Task? decoding;
    /// <summary>Scenes whose last status call failed (said once, until they answer again).</summary>
    private readonly HashSet<string> unreachable = new(StringComparer.Ordinal);
    /// <summary>Decoding passes in a row that a scene's view grains did not answer (this activation's count).</summary>
    private readonly Dictionary<string, int> transientDecodeFailures = new(StringComparer.Ordinal);
    private const int MaxTransientDecodeFailures = 3;
    /// <summary>Scenes whose Start call failed (timed out, say): the call may have reached the grain all the same, so a
    /// cancel tells it too (this activation's record).</summary>
    private readonly HashSet<string> startsUnanswered = new(StringComparer.Ordinal);

    private BatchState S => state.State;
    private string BatchId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.Request is not null && S.FinishedUtc is null)
        {
            StartTimer();
            ReportCounts();
        }
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // A decoding pass still running (a graceful shutdown) finishes first, within the deactivation's time: the next
        // activation would otherwise start a second pass over the same label files while this one writes them.
        if (decoding is { IsCompleted: false } pass)
        {
            try { await pass.WaitAsync(cancellationToken); }
            catch (OperationCanceledException) { log.LogWarning("Batch {Batch}: deactivated before its decoding pass ended; the next activation decodes again", BatchId); }
        }
        // The next activation (maybe on another silo) reports the batch from there.
        metrics.RemoveBatch(BatchId);
    }

    public async Task<BatchStatus> SubmitBatch(BatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (S.Request is not null) return Summary(); // idempotent: a client retrying its submit gets the same batch
        if (request.Scenes.Count == 0) throw new ArgumentException("a batch needs at least one scene directory.");
        if (string.IsNullOrWhiteSpace(request.OutputRoot)) throw new ArgumentException("a batch needs an output root directory.");
        if (BatchId.Contains('/')) throw new ArgumentException($"batch id '{BatchId}' must not contain '/'.");
        if (request.Options.MaxRetries is < 0 or > JobTraining.MaxRetriesLimit)
            throw new ArgumentException($"max retries must be between 0 and {JobTraining.MaxRetriesLimit}, got {request.Options.MaxRetries}.");
        if (request.OutputDirectories is { } outs && outs.Count != request.Scenes.Count)
            throw new ArgumentException($"{outs.Count} output directories for {request.Scenes.Count} scenes; give one per scene or none.");

        var used = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<BatchSceneEntry>();
        for (int i = 0; i < request.Scenes.Count; i++)
        {
            var dir = request.Scenes[i];
            var name = SceneName(dir, i);
            var unique = name;
            for (int k = 2; !used.Add(unique); k++) unique = $"{name}-{k}";
            var sceneId = $"{BatchId}.{i:D3}.{unique}";
            var outputDirectory = request.OutputDirectories?[i] ?? Path.Combine(request.OutputRoot, unique);
            CheckPaths(dir, outputDirectory, request);
            if (Path.GetFullPath(outputDirectory).TrimEnd('/') == Path.GetFullPath(dir).TrimEnd('/'))
                throw new ArgumentException($"scene '{dir}' would be written into itself; choose an output root outside the scene directories.");
            entries.Add(new BatchSceneEntry
            {
                SceneDirectory = dir,
                SceneId = sceneId,
                OutputDirectory = outputDirectory,
                Last = NotSubmitted(sceneId, dir),
            });
        }
        state.State = new BatchState { Request = request, Scenes = entries, SubmittedUtc = DateTime.UtcNow };
        await Write();
        await GrainFactory.GetGrain<IBatchIndexGrain>(0).Add(BatchId);
        await this.RegisterOrUpdateReminder(SupervisionReminder, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
        await Supervise();
        StartTimer();
        return Summary();
    }

    /// <summary>What a batch id without a state means: never submitted, or its state is gone (Redis restarted empty).</summary>
    private string NoBatch => options.Value.Clustering.Equals("redis", StringComparison.OrdinalIgnoreCase)
        ? $"no batch with id '{BatchId}' is known to the cluster (never submitted, or its state was lost: Redis restarted without its data)."
        // A silo of one process without Redis (the console's embedded one): batches live as long as the command that submitted them.
        : $"no batch with id '{BatchId}' here: without --redis (or UNICLIFT_REDIS) the console runs a silo of its own, whose batches live only while the command that submitted them runs; give the cluster's --redis.";

    public async Task<BatchStatus> GetBatchStatus()
    {
        if (S.Request is null) throw new KeyNotFoundException(NoBatch);
        if (S.FinishedUtc is null) await Supervise();
        return Summary();
    }

    public async Task<BatchStatus> Cancel()
    {
        if (S.Request is null) throw new KeyNotFoundException(NoBatch);
        if (S.FinishedUtc is not null) return Summary();
        S.Cancelled = true;
        // A scene never started is cancelled here; its grain is never activated, unless a Start of it went unanswered
        // (it may have arrived and started the scene: told too, or it trained on out of the batch's reach).
        var unanswered = S.Scenes.Where(e => (e.Last is null || e.Last.State == SceneState.NotSubmitted) && startsUnanswered.Contains(e.SceneId)).ToList();
        foreach (var e in S.Scenes.Where(e => e.Last is null || e.Last.State == SceneState.NotSubmitted))
            e.Last = (e.Last ?? NotSubmitted(e.SceneId, e.SceneDirectory)) with { State = SceneState.Cancelled };
        await Write();
        await Task.WhenAll(unanswered.Select(async e =>
        {
            try { await GrainFactory.GetGrain<ISceneGrain>(e.SceneId).Cancel(); }
            catch (Exception ex) { log.LogWarning(ex, "Batch {Batch}: cancelling {Scene}, whose start went unanswered, failed", BatchId, e.SceneId); }
        }));
        await Task.WhenAll(S.Scenes.Where(e => e.Last?.State.IsTerminal() != true).Select(async e =>
        {
            try { e.Last = await GrainFactory.GetGrain<ISceneGrain>(e.SceneId).Cancel(); }
            catch (Exception ex) { log.LogWarning(ex, "Batch {Batch}: cancelling {Scene} failed", BatchId, e.SceneId); }
        }));
        await Supervise();
        return Summary();
    }

    public async Task<bool> Forget()
    {
        if (S.Request is null) return true;
        if (S.FinishedUtc is null) return false;
        foreach (var e in S.Scenes.Where(e => e.Last is { State: not SceneState.NotSubmitted }))
        {
            try { await GrainFactory.GetGrain<ISceneGrain>(e.SceneId).Forget(); }
            catch (Exception ex) { log.LogWarning(ex, "Batch {Batch}: state of scene {Scene} not deleted", BatchId, e.SceneId); }
        }
        await state.ClearStateAsync();
        metrics.RemoveBatch(BatchId);
        DeactivateOnIdle();
        return true;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (S.Request is null || S.FinishedUtc is not null)
        {
            await StopReminder();
            return;
        }
        StartTimer();
        await Supervise();
    }

    private void StartTimer()
    {
        var every = options.Value.SupervisionInterval;
        timer ??= this.RegisterGrainTimer(_ => Supervise(), new GrainTimerCreationOptions(every, every) { KeepAlive = true });
    }

    /// <summary>Polls the started, unfinished scenes, starts waiting ones (new or to retry) while a slot is free, and
    /// finishes the batch.</summary>
    private async Task Supervise()
    {
        if (S.Request is not { } request || S.FinishedUtc is not null) return;
        bool changed = false;
        await Task.WhenAll(S.Scenes.Where(Started).Select(async e =>
        {
            var before = e.Last;
            try
            {
                var scene = GrainFactory.GetGrain<ISceneGrain>(e.SceneId);
                // While the batch is cancelled, the poll is a cancel: one that did not reach the scene (its silo hung or
                // died as the batch was cancelled; it resumed elsewhere) is sent again, or the scene trained on to Trained,
                // which a cancelled batch never decodes, and the batch never finished. Cancel is idempotent and answers
                // the status, as GetStatus does.
                var status = S.Cancelled ? await scene.Cancel() : await scene.GetStatus();
                if (!status.State.NeedsTraining()) load.Release(e.SceneId);
                if (status.State == SceneState.Failed) NoteFailure(e, status);
                e.Last = status;
            }
            catch (Exception ex)
            {
                // The scene's silo is dying, or no compute silo is there right now (Redis away): try again on the next
                // poll. One line when it becomes unreachable, not a stack trace every second; the trace at Debug.
                lock (unreachable)
                    if (unreachable.Add(e.SceneId))
                        log.LogWarning("Batch {Batch}: scene {Scene} unreachable ({Reason}); asking again every poll", BatchId, e.SceneId,
                            $"{ex.GetType().Name}: {UniCLift.Compute.FailurePolicy.WithoutStackTrace(ex.Message)}");
                log.LogDebug(ex, "Batch {Batch}: scene {Scene} unreachable", BatchId, e.SceneId);
                return;
            }
            lock (unreachable)
                if (unreachable.Remove(e.SceneId)) log.LogInformation("Batch {Batch}: scene {Scene} answers again", BatchId, e.SceneId);
            if (before?.State != e.Last?.State || before?.LastCheckpointStep != e.Last?.LastCheckpointStep)
                changed = true;
        }));
        if (!S.Cancelled && await Dispatch(request)) changed = true;
        if (!S.Cancelled) StartDecodingIfDue();
        if (S.Scenes.All(e => e.Last?.State.IsTerminal() == true && !AwaitsDispatch(e)))
        {
            S.FinishedUtc = DateTime.UtcNow;
            await Write();
            timer?.Dispose();
            timer = null;
            await StopReminder();
            ReportCounts();
            metrics.RecordBatch(S.FinishedUtc.Value - S.SubmittedUtc);
            return;
        }
        ReportCounts();
        if (changed) await Write();
    }

    /// <summary>Given to its grain and not finished: polled.</summary>
    private static bool Started(BatchSceneEntry e) => e.Last is { State: var s } && s != SceneState.NotSubmitted && !s.IsTerminal();

    /// <summary>Waits to be started: never started, or failed with retries left (and the batch not cancelled).</summary>
    private bool AwaitsDispatch(BatchSceneEntry e) => !S.Cancelled && S.Request is { } request &&
        (e.Last is null || e.Last.State == SceneState.NotSubmitted || (e.Last.State == SceneState.Failed && !e.Last.BadInput && e.Retries < request.Options.MaxRetries)); // bad input fails the same way again

    /// <summary>
    /// Starts waiting scenes in order while a compute silo has a free slot. With no load known (the table is stale),
    /// every waiting scene starts and the silos queue them; with only broken devices left, scenes start and fail with
    /// the device's reason (so a batch does not wait forever for a device that will not come).
    /// </summary>
    private async Task<bool> Dispatch(BatchRequest request)
    {
        bool changed = false;
        var waiting = S.Scenes.Where(AwaitsDispatch).ToList();
        if (waiting.Count == 0) return false;
        try
        {
            // The table as it is now: a silo whose device just failed a scene has reported itself broken before that
            // failure became visible here, so a retry is not placed there again.
            load.Update(await GrainFactory.GetGrain<IComputeLoadGrain>(0).List());
        }
        catch (Exception ex) { log.LogDebug(ex, "Batch {Batch}: compute load not refreshed; using this silo's copy", BatchId); }
        // Whether the table is trusted is decided once, as this pass read it: each start below awaits a storage write,
        // a placement and a reminder, and a pass that outlasted the table's freshness (on a loaded machine, with this
        // silo's reporter late) fell back to starting every scene, into the slot its own first start had just taken.
        bool fresh = load.IsFresh;
        // A decode batch trains nothing: its scenes take no training slot, so they start at once, whatever the load.
        bool trains = request.Options.Mode != JobMode.Decode;
        foreach (var e in waiting)
        {
            if (trains && !SlotFree(fresh)) break;
            bool retry = e.Last?.State == SceneState.Failed;
            var job = Job(e, request) with { Attempt = retry ? e.Retries + 1 : e.Retries };
            SceneStatus status;
            if (trains) RequestContext.Set(TrainingSlotPlacement.StartsTraining, true);
            try
            {
                status = await GrainFactory.GetGrain<ISceneGrain>(e.SceneId).Start(job);
            }
            catch (Exception ex)
            {
                log.LogWarning(ex, "Batch {Batch}: scene {Scene} not started now (no compute silo?)", BatchId, e.SceneId);
                startsUnanswered.Add(e.SceneId);
                break;
            }
            finally
            {
                RequestContext.Remove(TrainingSlotPlacement.StartsTraining);
            }
            if (retry)
            {
                e.Retries++;
                log.LogInformation("Batch {Batch}: retrying {Scene} ({Retry}/{Max}) on {Silo} after: {Error}",
                    BatchId, e.SceneId, e.Retries, request.Options.MaxRetries, status.Silo, e.Last?.Error);
                metrics.RecordRetry();
            }
            // The slot counts as taken until its silo reports the scene, also when the grain answered from a silo whose
            // device is broken and moves on (placement then puts it on the freest working silo).
            if (trains && status.State.NeedsTraining() && load.SlotHolder(status.Silo) is { } address)
                load.Reserve(e.SceneId, address);
            e.Last = status;
            changed = true;
        }
        return changed;
    }

    private bool SlotFree(bool fresh)
    {
        if (!fresh) return true;
        // No compute silo has reported yet (the cluster is starting, or has none): wait for one rather than start
        // every scene at once on whichever silo placement meets first.
        if (load.Silos.Count == 0) return false;
        // A silo that reported its load and is not known to be leaving counts, also before this silo's membership view
        // has it as active: otherwise a lagging view hides the working silo, "only broken devices" holds, and every
        // waiting scene starts at once on the one free slot.
        bool Alive(SiloAddress s) => membership.CurrentSnapshot.GetSiloStatus(s) is not (SiloStatus.Dead or SiloStatus.ShuttingDown or SiloStatus.Stopping);
        return load.FreeSlots(Alive) > 0 || !load.AnyWorking(Alive);
    }

    /// <summary>Keeps one line per failed attempt.</summary>
    private static void NoteFailure(BatchSceneEntry e, SceneStatus status)
    {
        var prefix = $"attempt {status.Attempt} ";
        if (e.Failures.Any(f => f.StartsWith(prefix, StringComparison.Ordinal))) return;
        e.Failures.Add($"{prefix}on {status.Silo ?? "?"}: {status.Error}");
    }

    /// <summary>
    /// Starts a decoding pass over the trained scenes when none is running and either no scene is still waiting or
    /// training, or a full group is trained. The pass runs detached on this activation's scheduler (interleaving with
    /// status calls at its awaits), so the batch stays responsive while views render.
    /// </summary>
    private void StartDecodingIfDue()
    {
        if (decoding is { IsCompleted: false }) return;
        var ready = S.Scenes.Where(e => e.Last?.State.AwaitsDecoding() == true).ToList();
        if (ready.Count == 0) return;
        bool stillTraining = S.Scenes.Any(e => AwaitsDispatch(e) || e.Last!.State.NeedsTraining());
        int group = Math.Max(1, options.Value.DecodeGroupSize);
        if (stillTraining && ready.Count < group) return;
        decoding = DecodePass(ready.Take(group).ToList());
    }

    private async Task DecodePass(List<BatchSceneEntry> entries)
    {
        int pass = ++S.DecodePasses;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await Write();
            var targets = new List<DecodeTarget>();
            foreach (var e in entries)
            {
                try
                {
                    e.Last = await GrainFactory.GetGrain<ISceneGrain>(e.SceneId).BeginDecoding(pass);
                    targets.Add(new DecodeTarget(e.SceneId, e.SceneDirectory, e.OutputDirectory, S.Request?.Options.Masks, S.Request?.Options.Decode,
                        MasksFromResult: S.Request?.Options.Mode == JobMode.Decode,
                        Downscale: S.Request?.Options is { } o ? (o.Mode == JobMode.Decode ? o.Downscale : o.TrainingDownscale()) : 1));
                }
                catch (Exception ex) { log.LogWarning(ex, "Batch {Batch}: scene {Scene} not decodable now", BatchId, e.SceneId); }
            }
            log.LogInformation("Batch {Batch}: decoding pass {Pass} over {Count} scenes", BatchId, pass, targets.Count);
            var outcomes = await new BatchDecoder(GrainFactory, metrics, roots, log).RunAsync(pass, targets);
            foreach (var o in outcomes)
            {
                // A view grain's silo died or did not answer: the scene stays Decoding and the next pass decodes it again
                // (it failed the scene, spending a retry); three such passes in a row, and it fails as any other error.
                if (o.Transient && (transientDecodeFailures[o.SceneId] = transientDecodeFailures.GetValueOrDefault(o.SceneId) + 1) <= MaxTransientDecodeFailures)
                {
                    log.LogWarning("Batch {Batch}: scene {Scene} decodes again at the next pass after: {Error}", BatchId, o.SceneId, o.Error);
                    continue;
                }
                transientDecodeFailures.Remove(o.SceneId);
                var scene = GrainFactory.GetGrain<ISceneGrain>(o.SceneId);
                var e = S.Scenes.First(x => x.SceneId == o.SceneId);
                e.Last = o.Result is { } r ? await scene.CompleteDecoding(r) : await scene.FailDecoding(o.Error ?? "decoding failed");
                if (e.Last.State == SceneState.Failed) NoteFailure(e, e.Last);
            }
            log.LogInformation("Batch {Batch}: decoding pass {Pass} done in {Seconds:0.0} s", BatchId, pass, clock.Elapsed.TotalSeconds);
            await Write();
        }
        catch (Exception ex)
        {
            // The scenes stay Decoding; the next supervision tick runs another pass over them.
            log.LogWarning(ex, "Batch {Batch}: decoding pass {Pass} failed", BatchId, pass);
        }
    }

    /// <summary>This batch's scenes by status (a scene not started yet counts as queued) into the silo's gauges.</summary>
    private void ReportCounts()
    {
        int queued = 0, training = 0, done = 0, failed = 0, cancelled = 0;
        foreach (var e in S.Scenes)
        {
            switch (e.Last?.State ?? SceneState.NotSubmitted)
            {
                case SceneState.NotSubmitted or SceneState.Queued: queued++; break;
                case SceneState.Loading or SceneState.Training or SceneState.Trained or SceneState.Decoding: training++; break;
                case SceneState.Done: done++; break;
                case SceneState.Failed: failed++; break;
                case SceneState.Cancelled: cancelled++; break;
            }
        }
        metrics.SetBatchStatus(BatchId, new SceneStatusCounts(queued, training, done, failed, cancelled));
    }

    /// <summary>
    /// Saves the batch; when its record was gone (Redis restarted empty or flushed) it is written again from this
    /// activation, and the batch's reminder and index entry, lost with it, are made again.
    /// </summary>
    private async Task Write()
    {
        if (!await state.WriteSurvivingLossAsync(log, $"Batch {BatchId}")) return;
        try
        {
            await GrainFactory.GetGrain<IBatchIndexGrain>(0).Add(BatchId);
            if (S.FinishedUtc is null)
                await this.RegisterOrUpdateReminder(SupervisionReminder, options.Value.ReminderPeriod, options.Value.ReminderPeriod);
        }
        catch (Exception e) { log.LogWarning(e, "Batch {Batch}: reminder or index entry not restored now", BatchId); }
    }

    /// <summary>Best effort: a reminder left behind only wakes a finished batch, which then removes it.</summary>
    private async Task StopReminder()
    {
        try
        {
            var r = await this.GetReminder(SupervisionReminder);
            if (r is not null) await this.UnregisterReminder(r);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Batch {Batch}: supervision reminder not removed", BatchId);
        }
    }

    private SceneJob Job(BatchSceneEntry e, BatchRequest request) =>
        new(e.SceneId, e.SceneDirectory, e.OutputDirectory, request.Options, BatchId, e.Retries);

    private BatchStatus Summary() => new(
        BatchId,
        S.Scenes.Select(e => new BatchSceneStatus(e.SceneDirectory, e.SceneId, e.Last ?? NotSubmitted(e.SceneId, e.SceneDirectory), e.Retries, e.Failures.ToList())).ToList(),
        S.SubmittedUtc, S.FinishedUtc, S.Cancelled, S.Request?.OutputRoot ?? "");

    /// <summary>Refuses at submission a path outside this silo's data roots (the scene and decoding check again at use).</summary>
    private void CheckPaths(string sceneDirectory, string outputDirectory, BatchRequest request)
    {
        roots.CheckScene(sceneDirectory, "scene directory");
        if (request.OutputDirectories is null) roots.CheckOutput(request.OutputRoot, "output root");
        roots.CheckOutput(outputDirectory, "output directory");
        if (request.Options.InitialPly is { } ply) roots.CheckReadable(ply, "initial PLY");
    }

    private static SceneStatus NotSubmitted(string sceneId, string dir) => new() { SceneId = sceneId, SceneDirectory = dir };

    /// <summary>A grain-key-safe name from the directory's last component.</summary>
    internal static string SceneName(string dir, int index)
    {
        var last = Path.GetFileName(dir.TrimEnd('/', '\\'));
        var chars = last.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray();
        var name = new string(chars);
        return string.IsNullOrEmpty(name) ? $"scene{index}" : name;
    }
}
