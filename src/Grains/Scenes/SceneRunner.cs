namespace UniCLift.Grains.Scenes;

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Security;
using UniCLift.Grains.Telemetry;

/// <summary>
/// Per-silo owner of the compute threads: starts <see cref="SceneRun"/>s against this silo's <see cref="TrainingSlots"/>
/// and, when the silo's services are disposed (process going away without a graceful grain shutdown), aborts the
/// runs still going so no thread outlives its silo.
/// </summary>
public sealed partial class SceneRunner(TrainingSlots slots, IOptions<UniCLiftSiloOptions> options, DataRoots roots, ILoggerFactory logs, UniCLiftMetrics metrics) : IDisposable
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
        // One run per scene on a silo: a run of it still here belongs to no activation now (one whose start failed after
        // its run began); it would train on beside this one, which no cancel or suspension of the grain reaches.
        foreach (var stray in runs.Keys.Where(r => r.Job.SceneId == job.SceneId && !r.Completion.IsCompleted))
        {
            log.LogWarning("Scene {SceneId}: a run of it from an earlier activation is still going on this silo: stopping it", job.SceneId);
            stray.Abort();
        }
        AdoptLegacyCheckpoints(o.CheckpointDirectory, job.SceneId, log);
        SceneRun run;
        // The run's thread (and its background writes) inherit the confinement: every file it opens is checked as opened.
        using (roots.Confine()) run = new SceneRun(job, slots, Checkpoints(job), roots, new CheckpointCadence(o.CheckpointInterval, o.CheckpointMinInterval), start, log, metrics, o.Device);
        runs[run] = 0;
        run.Completion.ContinueWith(_ => runs.TryRemove(run, out byte _), TaskScheduler.Default);
        return run;
    }

    /// <summary>
    /// Builds before issue #19 kept a scene's checkpoints in &lt;root&gt;/&lt;sceneId&gt;: a scene that was training
    /// across the upgrade takes that folder over (renamed to its <see cref="SceneCheckpoints.DirectoryName"/>) so it
    /// resumes instead of starting again. Only an id that is one plain name ([A-Za-z0-9][A-Za-z0-9._-]*, as the
    /// coordinator makes them) and a real folder directly in the checkpoint directory qualify; anything else is left.
    /// </summary>
    internal static void AdoptLegacyCheckpoints(string root, string sceneId, ILogger log)
    {
        if (!LegacyId().IsMatch(sceneId)) return;
        var legacy = new DirectoryInfo(Path.Combine(root, sceneId));
        var current = new SceneCheckpoints(root, sceneId).Directory;
        try
        {
            if (!legacy.Exists || legacy.LinkTarget is not null || Directory.Exists(current)) return;
            legacy.MoveTo(current);
            log.LogInformation("Scene {SceneId}: checkpoints moved from {Legacy} to {Current}", sceneId, legacy.FullName, current);
        }
        catch (IOException e)
        {
            log.LogWarning(e, "Scene {SceneId}: older checkpoints in {Legacy} not taken over", sceneId, Path.Combine(root, sceneId)); // another silo moved them
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")]
    private static partial System.Text.RegularExpressions.Regex LegacyId();

    /// <summary>Stops every run without checkpointing, as if the process died (tests use it to kill a silo).</summary>
    public void AbortAll()
    {
        foreach (var run in runs.Keys) run.Abort();
    }

    public void Dispose() => AbortAll();
}
