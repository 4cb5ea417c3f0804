namespace UniCLift.Grains.Scenes;

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Telemetry;

/// <summary>
/// Per-silo owner of the compute threads: starts <see cref="SceneRun"/>s against this silo's <see cref="TrainingSlots"/>
/// and, when the silo's services are disposed (process going away without a graceful grain shutdown), aborts the
/// runs still going so no thread outlives its silo.
/// </summary>
public sealed class SceneRunner(TrainingSlots slots, IOptions<UniCLiftSiloOptions> options, ILoggerFactory logs, UniCLiftMetrics metrics) : IDisposable
{
    private readonly ConcurrentDictionary<SceneRun, byte> runs = new();
    private readonly ILogger log = logs.CreateLogger("UniCLift.SceneRun");

    public TrainingSlots Slots => slots;
    public int Running => runs.Count;
    /// <summary>The scenes this silo holds runs for (waiting for a slot or training).</summary>
    public IReadOnlyList<string> SceneIds => runs.Keys.Select(r => r.Job.SceneId).ToList();

    /// <summary>A scene's checkpoints in this silo's (shared) checkpoint directory.</summary>
    public SceneCheckpoints Checkpoints(SceneJob job) =>
        new(options.Value.CheckpointDirectory, job.SceneId, options.Value.CheckpointsToKeep);

    /// <param name="start">The scene's status as the run starts from it (see <see cref="SceneRun.Progress"/>).</param>
    public SceneRun Start(SceneJob job, SceneStatus start)
    {
        var o = options.Value;
        var run = new SceneRun(job, slots, Checkpoints(job), o.CheckpointInterval, start, log, metrics, o.Device);
        runs[run] = 0;
        run.Completion.ContinueWith(_ => runs.TryRemove(run, out byte _), TaskScheduler.Default);
        return run;
    }

    /// <summary>Stops every run without checkpointing, as if the process died (tests use it to kill a silo).</summary>
    public void AbortAll()
    {
        foreach (var run in runs.Keys) run.Abort();
    }

    public void Dispose() => AbortAll();
}
