namespace UniCLift.Grains.Scenes;

using System.Diagnostics;
using Microsoft.Extensions.Logging;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Training;
using UniCLift.Grains.Security;
using UniCLift.Grains.Telemetry;

/// <summary>How a run ended. Suspended: checkpointed and stopped for a graceful shutdown; Aborted: the silo went away.</summary>
public enum SceneRunEnd { Finished, Suspended, Aborted }

/// <summary>
/// One scene's training on a dedicated compute thread (never on the Orleans scheduler): wait for a training slot
/// (FIFO), read the scene's layout once and hand it to the trainer (which reads each training view's image and mask once
/// and mines the mask's boundary index where it samples triplets), create or restore the trainer, step with periodic
/// checkpoints, and end Trained with model.ply and training.json in the output directory (the batch's coordinator
/// decodes them). The grain reads <see cref="Progress"/> (thread-safe: a <see cref="SceneStatus"/> that starts from the
/// scene's status when the run started, so a resumed run shows where the scene was until it trains) and asks it to stop through
/// <see cref="Cancel"/>, <see cref="Suspend"/> or <see cref="Abort"/>, which the loop honours between steps.
/// </summary>
/// <remarks>
/// Checkpoints: the training thread serialises the trainer's complete state into an in-memory snapshot (a reused
/// <see cref="SnapshotBuffer"/>; tensors are read only there, inside the trainer's dispose scopes) and a background task
/// hashes those bytes and writes them to the checkpoint file (temporary file, fsync, rename). At most one write per scene runs at a
/// time and one snapshot is held: a checkpoint that falls due while the previous write still runs is deferred (not
/// queued) and taken at the first step boundary after that write ended. <see cref="SceneStatus.LastCheckpointStep"/>
/// and <see cref="SceneStatus.CheckpointPath"/> change only once the file is in place. A write that fails (a full disk,
/// for one) leaves no temporary file and the previous checkpoint as it was, is logged and counted, and training goes
/// on: the next interval tries again. Suspend and the end of training wait for their checkpoint's write; Abort does not.
/// </remarks>
public sealed class SceneRun
{
    private readonly object gate = new();
    private readonly CancellationTokenSource cancel = new(), abort = new(), suspend = new();
    private readonly TrainingSlots slots;
    private readonly SceneCheckpoints checkpoints;
    private readonly DataRoots roots;
    private readonly CheckpointCadence cadence;
    /// <summary>Step and time (Stopwatch ticks) at which the newest periodic checkpoint (or this run's training) started.</summary>
    private int lastCheckpointStep;
    private long lastCheckpointTicks;
    private readonly ILogger log;
    private readonly UniCLiftMetrics? metrics;
    private SceneStatus progress;
    /// <summary>The end reached while the slot is still held (null: none yet); see <see cref="Update"/>.</summary>
    private SceneStatus? ending;
    private bool holdsSlot;
    /// <summary>The one snapshot this run holds, reused by every checkpoint; never reset while <see cref="writing"/> runs.</summary>
    private readonly SnapshotBuffer snapshot = new();
    /// <summary>The background write of <see cref="snapshot"/> (null: none yet); only the training thread sets it.</summary>
    private Task? writing;
    /// <summary>Step of the newest checkpoint known to be on disk (-1: none); written by the background write.</summary>
    private int durableStep = -1;
    /// <summary>The silo's torch device (cpu, cuda, cuda:N): where the scene's state lives and its steps run.</summary>
    private readonly string device;

    /// <param name="start">The scene's status when the run starts: its training time so far, step, losses, last checkpoint.</param>
    /// <param name="roots">Where the job's scene, output and initial PLY may be: checked before anything is read or written.</param>
    /// <param name="metrics">Where the run reports iterations, checkpoints, resumes, decode time and PQ (null: nowhere).</param>
    public SceneRun(SceneJob job, TrainingSlots slots, SceneCheckpoints checkpoints, DataRoots roots, CheckpointCadence cadence, SceneStatus start, ILogger log,
        UniCLiftMetrics? metrics = null, string device = "cpu")
    {
        Job = job;
        this.roots = roots;
        this.device = device;
        this.metrics = metrics;
        this.slots = slots;
        this.checkpoints = checkpoints;
        this.cadence = cadence;
        this.log = log;
        progress = start with { State = SceneState.Queued, Error = null, BadInput = false, MillisecondsPerStep = 0 };
        Completion = Task.Run(RunAsync);
    }

    public SceneJob Job { get; }
    public Task<SceneRunEnd> Completion { get; }
    public SceneStatus Progress { get { lock (gate) return progress; } }
    /// <summary>Set when the run failed on the silo's device itself (a <see cref="Compute.Cuda.CudaException"/>): the
    /// one-line reason, which says the silo rather than the scene is at fault.</summary>
    public string? DeviceProblem { get; private set; }
    /// <summary>Since when the run waits for a training slot on this silo; null once it holds one (or never waited).</summary>
    public DateTimeOffset? WaitingForSlotSince => Volatile.Read(ref waitingSince) is > 0 and var ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
    private long waitingSince; // UTC ticks, 0: not waiting

    public void Cancel() => cancel.Cancel();
    /// <summary>Checkpoint at the next step boundary and stop; the scene resumes from that checkpoint elsewhere.</summary>
    public void Suspend() => suspend.Cancel();
    /// <summary>Stop without a checkpoint (the silo is dying); the scene resumes from its last periodic checkpoint.</summary>
    public void Abort() => abort.Cancel();

    /// <summary>
    /// Applies a change to the status. An end (Trained, Failed, Cancelled) reached while the run holds its training slot
    /// is published only once the slot is given back (<see cref="PublishEnd"/>): a coordinator that sees the scene end
    /// and starts the next one in that slot finds it free rather than queueing behind a run that is still leaving.
    /// </summary>
    private void Update(Func<SceneStatus, SceneStatus> change)
    {
        lock (gate)
        {
            if (ending is not null) { ending = change(ending); return; }
            var next = change(progress);
            if (holdsSlot && !next.State.NeedsTraining()) ending = next;
            else progress = next;
        }
    }

    /// <summary>The slot is given back: the end the run reached (if any) becomes its status.</summary>
    private void PublishEnd()
    {
        lock (gate)
        {
            holdsSlot = false;
            if (ending is { } end) progress = end;
            ending = null;
        }
    }

    private async Task<SceneRunEnd> RunAsync()
    {
        // A decode job trains nothing: no slot, no device; it checks the finished run is there and hands the scene
        // to the coordinator's decoding pass.
        if (Job.Options.Mode == JobMode.Decode) return await Task.Run(() => Guarded(FindTrained)).ConfigureAwait(false);
        IDisposable lease;
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token, abort.Token, suspend.Token))
        {
            Volatile.Write(ref waitingSince, DateTimeOffset.UtcNow.UtcTicks);
            try
            {
                lease = await slots.AcquireAsync(waiting.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return Stopped();
            }
            finally
            {
                Volatile.Write(ref waitingSince, 0L);
            }
        }
        lock (gate) holdsSlot = true;
        try
        {
            using (lease)
            {
                // A dedicated thread: TorchSharp dispose scopes are per thread and a step must not block the grain scheduler.
                return await Task.Factory.StartNew(Train, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                    .ConfigureAwait(false);
            }
        }
        finally
        {
            PublishEnd();
        }
    }

    private SceneRunEnd Train()
    {
        try
        {
            return Guarded(TrainCore);
        }
        finally
        {
            // However the run ends here (done, failed, cancelled, suspended, aborted), this silo stops training the scene.
            metrics?.RemoveScene(Job.SceneId);
        }
    }

    /// <summary>Runs <paramref name="body"/>; an exception fails the scene with one line (bad input said so).</summary>
    private SceneRunEnd Guarded(Func<SceneRunEnd> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            var message = UniCLift.Compute.FailurePolicy.Describe(e);
            if (e is Compute.Cuda.CudaException) DeviceProblem = message;
            log.LogWarning(e, "Scene {SceneId} failed", Job.SceneId);
            bool badInput = UniCLift.Compute.FailurePolicy.IsBadInput(e);
            Update(p => p with { State = SceneState.Failed, Error = message, BadInput = badInput });
            return SceneRunEnd.Finished;
        }
    }

    private SceneRunEnd TrainCore()
    {
        Update(p => p with { State = SceneState.Loading });
        CheckJobPaths();
        var dir = Job.SceneDirectory;
        Scene scene;
        using (roots.ReadingScene(dir)) scene = SceneInspector.Read(dir, Job.Options.Masks);
        roots.CheckSceneFiles(scene);
        scene = scene.Downscaled(Job.Options.TrainingDownscale());
        if (!scene.HasMasks)
            throw new InvalidDataException($"scene '{dir}' has no predicted instance masks (view '{scene.Views.First(v => v.MaskPath is null).Name}' has none): " +
                $"UniC-Lift lifts one mask per view; put a label map per view in one of {string.Join(", ", Compute.Scenes.SceneInspector.MaskFolderNames.Select(f => f + "/"))} " +
                "in the scene, or name their folder with --masks DIR (Segment Anything's amg.py output too).");
        CheckGroundTruth(scene);
        using var trainer = RestoreLatest(scene, out var resumed) ?? Create(scene);
        Update(p => p with
        {
            State = SceneState.Training, Step = trainer.CurrentStep, Iterations = trainer.Options.Iterations,
            Gaussians = trainer.GaussianCount,
            LastCheckpointStep = resumed ? trainer.CurrentStep : p.LastCheckpointStep,
        });
        var clock = Stopwatch.StartNew();
        double baseSeconds = Progress.Seconds;
        durableStep = resumed ? trainer.CurrentStep : -1;
        try
        {
            return TrainSteps(trainer, clock, baseSeconds);
        }
        finally
        {
            // However the run leaves (cancelled, failed), a write it started ends before the run does, so that
            // pruning after a cancel or a retry elsewhere never races it. Abort (the silo is dying) does not wait.
            if (!abort.IsCancellationRequested) WaitForWrite(rethrow: false);
        }
    }

    /// <summary>A job is a client's request: its paths must lie under this silo's roots before anything is looked up, and
    /// the scene directory must exist.</summary>
    private void CheckJobPaths()
    {
        var dir = Job.SceneDirectory;
        roots.CheckScene(dir, "scene directory");
        roots.CheckOutput(Job.OutputDirectory, "output directory");
        if (Job.Options.InitialPly is { } ply) roots.CheckReadable(ply, "initial PLY");
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"scene directory '{dir}' does not exist (expected a scene in a supported layout: Panoptic Lifting, Messy Rooms, 3DGS output, nerfstudio or COLMAP).");
        // Before the minutes of training, not when the results are written: a path through a file, a read-only or full
        // file system, a folder without write permission.
        SceneSegmentation.CheckOutputFolder(Job.OutputDirectory);
        Compute.IO.OutputFolder.EnsureWritable(Job.OutputDirectory, "output directory");
    }

    /// <summary>The ground truth the scene's evaluation reads after training (the test views'), read once before it: a
    /// map of another size or a truncated one was found only after the minutes of training.</summary>
    private static void CheckGroundTruth(Scene scene)
    {
        if (!scene.HasGroundTruth) return;
        var test = scene.TestViews.ToHashSet(StringComparer.Ordinal);
        foreach (var v in scene.Views.Where(v => test.Contains(v.Name)))
        {
            if (v.GtInstancePath is not null) SceneData.LoadGtInstance(scene, v);
            if (v.GtSemanticPath is not null) SceneData.LoadGtSemantic(scene, v);
        }
    }

    /// <summary>A decode job: the paths are allowed, the scene is there and the output directory holds a trained model
    /// (model.ply, and training.json for the status); the scene is then Trained as that run left it.</summary>
    private SceneRunEnd FindTrained()
    {
        Update(p => p with { State = SceneState.Loading });
        CheckJobPaths();
        var model = Path.Combine(Job.OutputDirectory, TrainedGaussians.FileName);
        if (!File.Exists(model))
            throw new FileNotFoundException($"no trained model '{model}': mode 'decode' decodes again what a finished train or lift run of the scene wrote there.", model);
        var summaryPath = Path.Combine(Job.OutputDirectory, TrainingSummary.FileName);
        var summary = File.Exists(summaryPath) ? TrainingSummary.Read(summaryPath) : null;
        int gaussians = Compute.IO.Ply.ElementCount(model); // the header alone: the decoding pass reads the model
        Update(p => p with
        {
            State = SceneState.Trained, Step = summary?.Iterations ?? 0, Iterations = summary?.Iterations ?? 0, Seconds = summary?.Seconds ?? 0,
            Gaussians = gaussians,
        });
        return SceneRunEnd.Finished;
    }

    private SceneRunEnd TrainSteps(SceneTrainer trainer, Stopwatch clock, double baseSeconds)
    {
        bool due = false; // a periodic checkpoint is due (it waits while the previous write still runs)
        (lastCheckpointStep, lastCheckpointTicks) = (trainer.CurrentStep, Stopwatch.GetTimestamp());

        // The loss curve of this run (after a resume: from the resumed step on) goes into metrics.json and the report.
        var curve = new List<TrainingStepReport>(Math.Max(0, trainer.Options.Iterations - trainer.CurrentStep));
        while (!trainer.IsComplete)
        {
            if (abort.IsCancellationRequested) return SceneRunEnd.Aborted;
            if (cancel.IsCancellationRequested)
            {
                WaitForWrite(rethrow: false); // the grain prunes a cancelled scene's checkpoints: none may land after
                Update(p => p with { State = SceneState.Cancelled });
                return SceneRunEnd.Finished;
            }
            if (suspend.IsCancellationRequested)
            {
                // Checkpoint first, 0 steps lost: returns once the file is in place (or its write failed, and the
                // scene resumes from its last good checkpoint).
                CheckpointAndWait(trainer);
                return SceneRunEnd.Suspended;
            }
            var r = trainer.Step();
            curve.Add(r);
            if (metrics is { } m)
            {
                // A lock, a counter add and no allocation per step; the exporter reads these values when scraped.
                m.RecordIteration(Job.SceneId, 1, r.Milliseconds > 0 ? 1000.0 / r.Milliseconds : 0,
                    new LossComponents(r.RenderLoss, r.ClusterLoss, r.TripletLoss, r.SmoothLoss));
                m.SetGaussians(Job.SceneId, r.Gaussians);
            }
            Update(p => p with
            {
                Step = trainer.CurrentStep, Gaussians = r.Gaussians, MillisecondsPerStep = r.Milliseconds,
                Losses = new SceneLosses(r.TotalLoss, r.RenderLoss, r.ClusterLoss, r.TripletLoss, r.SmoothLoss),
                Seconds = baseSeconds + clock.Elapsed.TotalSeconds,
            });
            if (cadence.IsDue(trainer.CurrentStep - lastCheckpointStep, Stopwatch.GetElapsedTime(lastCheckpointTicks))) due = true;
            // Deferred, not queued, while the previous write runs (one write and one snapshot at a time).
            if (due && !WriteRunning)
            {
                WaitForWrite(rethrow: true); // a write that failed on something other than I/O fails the scene
                StartCheckpoint(trainer);
                due = false;
            }
        }
        // The final checkpoint is on disk (or its write failed: then model.ply below decides) before the run ends Trained.
        CheckpointAndWait(trainer);

        // The Gaussians' codes as the views render them: a render per training view, stopped between views like a
        // step (the final checkpoint is in place: a suspended scene resumes here).
        TrainedGaussians model;
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token, abort.Token, suspend.Token))
        {
            try { model = TrainedGaussians.FromTrainer(trainer, stop.Token); }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { return Stopped(); }
        }
        // The trained model and how it was trained, for the coordinator's batch-wide Embedding-to-Label pass.
        var seconds = baseSeconds + clock.Elapsed.TotalSeconds;
        Directory.CreateDirectory(Job.OutputDirectory);
        SceneSegmentation.ReplacingResult(Job.OutputDirectory); // an earlier result stayed whole until now
        model.Write(Path.Combine(Job.OutputDirectory, TrainedGaussians.FileName));
        TrainingSummary.Of(trainer, seconds, curve).Write(Path.Combine(Job.OutputDirectory, TrainingSummary.FileName));
        Update(p => p with { State = SceneState.Trained, Step = trainer.CurrentStep, Gaussians = trainer.GaussianCount, Seconds = seconds });
        return SceneRunEnd.Finished;
    }

    private SceneRunEnd Stopped()
    {
        if (cancel.IsCancellationRequested) { Update(p => p with { State = SceneState.Cancelled }); return SceneRunEnd.Finished; }
        return abort.IsCancellationRequested ? SceneRunEnd.Aborted : SceneRunEnd.Suspended;
    }

    private SceneTrainer Create(Scene scene)
    {
        return SceneTrainer.Create(scene, Job.Options.ToTrainingOptions(), Job.Options.InitialPly, Compute.Cuda.CudaRuntime.ParseDevice(device));
    }

    /// <summary>The newest checkpoint that restores; an unreadable one is skipped (never restart from zero while one works).</summary>
    private SceneTrainer? RestoreLatest(Scene scene, out bool resumed)
    {
        foreach (var (step, path) in checkpoints.List())
        {
            try
            {
                using var stream = File.OpenRead(path);
                var trainer = SceneTrainer.Restore(scene, stream, Compute.Cuda.CudaRuntime.ParseDevice(device));
                log.LogInformation("Scene {SceneId} resumes from {Checkpoint} (step {Step})", Job.SceneId, path, step);
                metrics?.RecordResume();
                Update(p => p with { CheckpointPath = path });
                resumed = true;
                return trainer;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or EndOfStreamException)
            {
                log.LogWarning(e, "Scene {SceneId}: checkpoint {Checkpoint} does not restore; trying an older one", Job.SceneId, path);
            }
        }
        resumed = false;
        return null;
    }

    private bool WriteRunning => writing is { IsCompleted: false };

    /// <summary>Waits for the write in progress, then snapshots and writes the current step unless it is on disk already.</summary>
    private void CheckpointAndWait(SceneTrainer trainer)
    {
        WaitForWrite(rethrow: true);
        if (Volatile.Read(ref durableStep) == trainer.CurrentStep) return;
        StartCheckpoint(trainer);
        WaitForWrite(rethrow: true);
    }

    private void WaitForWrite(bool rethrow)
    {
        if (writing is not { } w) return;
        try { w.GetAwaiter().GetResult(); }
        catch (Exception) when (!rethrow) { }
    }

    /// <summary>
    /// On the training thread: serialises the trainer into <see cref="snapshot"/> (the only time training is blocked),
    /// then starts the background write of those bytes. The caller has made sure no write is running.
    /// </summary>
    private void StartCheckpoint(SceneTrainer trainer)
    {
        // A symbolic link planted in place of the scene's checkpoint folder fails the scene, here on the training thread;
        // the background write only logs what fails there (a full disk, for one) and lets the scene go on.
        checkpoints.RefuseLink();
        var clock = Stopwatch.StartNew();
        int step = trainer.CurrentStep;
        (lastCheckpointStep, lastCheckpointTicks) = (step, Stopwatch.GetTimestamp());
        snapshot.Reset();
        trainer.SavePayload(snapshot); // the SHA-256 that completes a checkpoint is computed by the write, off this thread
        metrics?.RecordCheckpointSnapshot(clock.Elapsed);
        writing = Task.Factory.StartNew(() => Write(step), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>In the background: managed bytes only. An I/O failure is logged and counted; the scene goes on.</summary>
    private void Write(int step)
    {
        var clock = Stopwatch.StartNew();
        string path;
        try
        {
            // A checkpoint is the trainer's payload followed by its SHA-256, as SceneTrainer.Save writes it.
            path = checkpoints.Write(step, file =>
            {
                using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
                snapshot.WriteTo(file, sha);
                file.Write(sha.GetHashAndReset());
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            metrics?.RecordCheckpointFailure();
            log.LogWarning("Scene {SceneId}: checkpoint {Checkpoint} (step {Step}) was not written: {Reason}. The last good checkpoint (step {Last}) stays; training goes on and the next checkpoint tries again",
                Job.SceneId, checkpoints.PathFor(step), step, e.Message, Volatile.Read(ref durableStep) is >= 0 and var last ? (object)last : "none");
            return;
        }
        metrics?.RecordCheckpoint(clock.Elapsed, snapshot.Length + SceneTrainer.CheckpointHashBytes);
        Volatile.Write(ref durableStep, step);
        Update(p => p with { LastCheckpointStep = step, CheckpointPath = path });
    }
}
