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
public sealed class SceneRun
{
    private readonly object gate = new();
    private readonly CancellationTokenSource cancel = new(), abort = new(), suspend = new();
    private readonly TrainingSlots slots;
    private readonly SceneCheckpoints checkpoints;
    private readonly DataRoots roots;
    private readonly int checkpointInterval;
    private readonly ILogger log;
    private readonly UniCLiftMetrics? metrics;
    private SceneStatus progress;
    /// <summary>The silo's torch device (cpu, cuda, cuda:N): where the scene's state lives and its steps run.</summary>
    private readonly string device;

    /// <param name="start">The scene's status when the run starts: its training time so far, step, losses, last checkpoint.</param>
    /// <param name="roots">Where the job's scene, output and initial PLY may be: checked before anything is read or written.</param>
    /// <param name="metrics">Where the run reports iterations, checkpoints, resumes, decode time and PQ (null: nowhere).</param>
    public SceneRun(SceneJob job, TrainingSlots slots, SceneCheckpoints checkpoints, DataRoots roots, int checkpointInterval, SceneStatus start, ILogger log,
        UniCLiftMetrics? metrics = null, string device = "cpu")
    {
        Job = job;
        this.roots = roots;
        this.device = device;
        this.metrics = metrics;
        this.slots = slots;
        this.checkpoints = checkpoints;
        this.checkpointInterval = Math.Max(1, checkpointInterval);
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

    private void Update(Func<SceneStatus, SceneStatus> change)
    {
        lock (gate) progress = change(progress);
    }

    private async Task<SceneRunEnd> RunAsync()
    {
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
        using (lease)
        {
            // A dedicated thread: TorchSharp dispose scopes are per thread and a step must not block the grain scheduler.
            return await Task.Factory.StartNew(Train, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .ConfigureAwait(false);
        }
    }

    private SceneRunEnd Train()
    {
        try
        {
            return TrainOrFail();
        }
        finally
        {
            // However the run ends here (done, failed, cancelled, suspended, aborted), this silo stops training the scene.
            metrics?.RemoveScene(Job.SceneId);
        }
    }

    private SceneRunEnd TrainOrFail()
    {
        try
        {
            return TrainCore();
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
        var dir = Job.SceneDirectory;
        // A job is a client's request: its paths must lie under this silo's roots before anything is looked up.
        roots.CheckScene(dir, "scene directory");
        roots.CheckOutput(Job.OutputDirectory, "output directory");
        if (Job.Options.InitialPly is { } ply) roots.CheckReadable(ply, "initial PLY");
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"scene directory '{dir}' does not exist (expected a scene in a supported layout: Panoptic Lifting, Messy Rooms, 3DGS output, nerfstudio or COLMAP).");
        Scene scene;
        using (roots.ReadingScene(dir)) scene = SceneInspector.Read(dir);
        roots.CheckSceneFiles(scene);
        if (!scene.HasMasks)
            throw new InvalidDataException($"scene '{dir}' has views without a predicted instance mask; UniC-Lift lifts one mask per view.");
        using var trainer = RestoreLatest(scene, out var resumed) ?? Create(scene);
        Update(p => p with
        {
            State = SceneState.Training, Step = trainer.CurrentStep, Iterations = trainer.Options.Iterations,
            Gaussians = trainer.GaussianCount,
            LastCheckpointStep = resumed ? trainer.CurrentStep : p.LastCheckpointStep,
        });
        var clock = Stopwatch.StartNew();
        double baseSeconds = Progress.Seconds;
        int lastCheckpoint = resumed ? trainer.CurrentStep : -1;

        // The loss curve of this run (after a resume: from the resumed step on) goes into metrics.json and the report.
        var curve = new List<TrainingStepReport>(Math.Max(0, trainer.Options.Iterations - trainer.CurrentStep));
        while (!trainer.IsComplete)
        {
            if (abort.IsCancellationRequested) return SceneRunEnd.Aborted;
            if (cancel.IsCancellationRequested)
            {
                Update(p => p with { State = SceneState.Cancelled });
                return SceneRunEnd.Finished;
            }
            if (suspend.IsCancellationRequested)
            {
                if (lastCheckpoint != trainer.CurrentStep) Checkpoint(trainer);
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
            if (trainer.CurrentStep % checkpointInterval == 0)
            {
                Checkpoint(trainer);
                lastCheckpoint = trainer.CurrentStep;
            }
        }
        if (lastCheckpoint != trainer.CurrentStep) Checkpoint(trainer);

        // The trained model and how it was trained, for the coordinator's batch-wide Embedding-to-Label pass.
        var seconds = baseSeconds + clock.Elapsed.TotalSeconds;
        Directory.CreateDirectory(Job.OutputDirectory);
        TrainedGaussians.FromModel(trainer.Model).Write(Path.Combine(Job.OutputDirectory, TrainedGaussians.FileName));
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

    private void Checkpoint(SceneTrainer trainer)
    {
        var clock = Stopwatch.StartNew();
        int step = trainer.CurrentStep;
        var path = checkpoints.Write(step, trainer.Save);
        var elapsed = clock.Elapsed;
        if (metrics is { } m)
        {
            long bytes;
            try { bytes = new FileInfo(path).Length; }
            catch (IOException) { bytes = 0; } // pruned by another silo in between: the duration still counts
            m.RecordCheckpoint(elapsed, bytes);
        }
        Update(p => p with { LastCheckpointStep = step, CheckpointPath = path });
    }
}
