namespace UniCLift.Cluster.Tests;

using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Training;
using UniCLift.Grains;
using UniCLift.Grains.Scenes;
using UniCLift.Grains.Security;
using UniCLift.Grains.Telemetry;
using Xunit.Abstractions;

/// <summary>
/// Checkpoints are snapshotted on the training thread and written in the background (issue #19): a slow write does not
/// stop training, the scene's status names only checkpoints on disk, suspend waits for its write, and a full disk (a
/// real tmpfs, mounted by the test: it needs root) leaves the old checkpoint intact while training goes on.
/// A <see cref="SceneRun"/> on a tiny scene, without a silo; <see cref="SceneCheckpoints.BeforeWrite"/> lets a test hold
/// a write (on the background thread) to see what training does meanwhile.
/// </summary>
public sealed class CheckpointWriteTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
    private readonly string root = Directory.CreateTempSubdirectory("uniclift-ckptw-").FullName;
    private readonly Meter meter = new("UniCLift.Tests." + Guid.NewGuid().ToString("N"));
    private readonly ListLogger log = new();
    private readonly List<SceneRun> runs = [];
    private string? mounted;

    public void Dispose()
    {
        foreach (var r in runs) r.Abort(); // a test that failed half way leaves no training behind
        if (mounted is not null) Run("umount", "-l", mounted);
        meter.Dispose();
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private (SceneRun Run, SceneCheckpoints Checkpoints) Start(string checkpointRoot, int interval, int iterations, Action<int> beforeWrite,
        UniCLiftMetrics? metrics = null, string? results = null, SceneStatus? start = null, TrainingSlots? slots = null, TimeSpan minTime = default)
    {
        var scenes = Path.Combine(root, "scenes");
        var scene = Path.Combine(scenes, "tiny");
        if (!Directory.Exists(scene)) TinyScene.Write(scene);
        results ??= Path.Combine(root, "results");
        var job = new SceneJob("tiny", scene, Path.Combine(results, "tiny"), new JobOptions(Iterations: iterations, Seed: 1));
        var checkpoints = new SceneCheckpoints(checkpointRoot, job.SceneId) { BeforeWrite = beforeWrite };
        var roots = new DataRoots([scenes], [results], checkpointRoot);
        var run = new SceneRun(job, slots ?? new TrainingSlots(1), checkpoints, roots, new CheckpointCadence(interval, minTime), start ?? new SceneStatus { SceneId = job.SceneId }, log, metrics);
        runs.Add(run);
        return (run, checkpoints);
    }

    private static async Task Until(Func<bool> condition, string what, SceneRun run)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            var p = run.Progress;
            Assert.False(run.Completion.IsCompleted, $"the run ended ({p.State} at step {p.Step}: {p.Error}) before {what}");
            Assert.True(clock.Elapsed < Patience, $"no {what} within {Patience} (step {p.Step}, last checkpoint {p.LastCheckpointStep})");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task TrainingGoesOnWhileACheckpointWriteIsHeldAndTheStatusNamesOnlyWrittenCheckpoints()
    {
        const int interval = 5, iterations = 60;
        using var release = new ManualResetEventSlim();
        var steps = new List<int>();
        var (run, checkpoints) = Start(Path.Combine(root, "ckpt"), interval, iterations, step =>
        {
            lock (steps) steps.Add(step);
            if (steps.Count == 1) release.Wait(Patience); // the first write hangs, as on a slow disk
        });

        // Training went 3 intervals past the held checkpoint: the step loop does not wait for the write.
        await Until(() => { lock (steps) return steps.Count == 1; }, "first checkpoint write", run);
        await Until(() => run.Progress.Step >= 4 * interval, "progress while the first checkpoint write is held", run);
        var p = run.Progress;
        output.WriteLine($"step {p.Step} while the write of step {steps[0]} was held");
        Assert.Equal(interval, steps[0]);
        Assert.Equal(0, p.LastCheckpointStep); // the write is not done: the status names no checkpoint
        Assert.Null(p.CheckpointPath);
        Assert.Empty(checkpoints.List());
        lock (steps) Assert.Single(steps); // the checkpoints due meanwhile wait (deferred), they are not queued

        release.Set();
        Assert.Equal(SceneRunEnd.Finished, await run.Completion.WaitAsync(Patience));
        p = run.Progress;
        Assert.True(p.State == SceneState.Trained, $"{p.State}: {p.Error}");
        Assert.Equal(iterations, p.LastCheckpointStep); // the final checkpoint was written before the run ended
        Assert.Equal(checkpoints.PathFor(iterations), p.CheckpointPath);
        Assert.True(File.Exists(p.CheckpointPath));
        // The deferred checkpoint was taken at the first step after the held write ended, not 3 times over.
        lock (steps)
        {
            output.WriteLine($"checkpoints written at steps {string.Join(", ", steps)}");
            Assert.Equal(steps.Distinct().Count(), steps.Count);
            Assert.True(steps[1] >= 4 * interval, $"second checkpoint at step {steps[1]}, while the first write was still held");
        }
        Assert.DoesNotContain(log.Warnings, w => w.Contains("not written"));
    }

    [Fact]
    public async Task PeriodicCheckpointsWaitForTheirLeastTimeAsWellAsTheirIterations()
    {
        // A GPU runs 200 iterations in about a second: the iterations alone would checkpoint its hundreds of MB every
        // second. Here every iteration is due by count, and the least time (longer than the run) holds them all back,
        // but not the final checkpoint.
        var steps = new List<int>();
        var (run, checkpoints) = Start(Path.Combine(root, "ckpt-time"), 1, 30, step => { lock (steps) steps.Add(step); },
            minTime: TimeSpan.FromHours(1));
        Assert.Equal(SceneRunEnd.Finished, await run.Completion.WaitAsync(Patience));
        lock (steps) Assert.Equal([30], steps);
        Assert.Equal(30, run.Progress.LastCheckpointStep);

        // By count alone (the least time 0), every 10 iterations.
        steps.Clear();
        var (every, _) = Start(Path.Combine(root, "ckpt-count"), 10, 30, step => { lock (steps) steps.Add(step); });
        Assert.Equal(SceneRunEnd.Finished, await every.Completion.WaitAsync(Patience));
        lock (steps) Assert.Equal([10, 20, 30], steps);
    }

    [Fact]
    public async Task BadGroundTruthAndAnOutputThatIsAFileFailTheSceneBeforeItTrains()
    {
        // Both were found only once the training was done: the evaluation reads the test views' ground truth, and the
        // results are written at the end.
        var steps = new List<int>();
        var (first, _) = Start(Path.Combine(root, "ckpt-gt"), 1000, 30, step => { lock (steps) steps.Add(step); });
        Assert.Equal(SceneRunEnd.Finished, await first.Completion.WaitAsync(Patience)); // writes the scene; trains it as it is
        var scene = SceneInspector.Read(Path.Combine(root, "scenes", "tiny"));
        var test = scene.Views.First(v => scene.TestViews.Contains(v.Name));
        Compute.IO.ImageIO.WriteLabels16(test.GtInstancePath!, new LabelMap(16, 12));

        steps.Clear();
        var (run, _) = Start(Path.Combine(root, "ckpt-gt2"), 1000, 30, step => { lock (steps) steps.Add(step); }, results: Path.Combine(root, "results-2"));
        Assert.Equal(SceneRunEnd.Finished, await run.Completion.WaitAsync(Patience));
        var p = run.Progress;
        Assert.Equal(SceneState.Failed, p.State);
        Assert.True(p.BadInput);
        Assert.Contains(test.GtInstancePath!, p.Error);
        Assert.Contains("16x12", p.Error);
        Assert.Equal(0, p.Step);
        lock (steps) Assert.Empty(steps); // not even a checkpoint: nothing trained

        var results3 = Path.Combine(root, "results-3");
        Directory.CreateDirectory(results3);
        File.WriteAllText(Path.Combine(results3, "tiny"), "a file where the output directory goes");
        Compute.IO.ImageIO.WriteLabels16(test.GtInstancePath!, new LabelMap(test.Camera.Width, test.Camera.Height));
        var (file, _) = Start(Path.Combine(root, "ckpt-gt3"), 1000, 30, _ => { }, results: results3);
        Assert.Equal(SceneRunEnd.Finished, await file.Completion.WaitAsync(Patience));
        Assert.Equal(SceneState.Failed, file.Progress.State);
        Assert.True(file.Progress.BadInput);
        Assert.Contains("is a file", file.Progress.Error);
        Assert.Equal(0, file.Progress.Step);
    }

    [Fact]
    public async Task ARunIntoAnOldResultsDirectoryKeepsItWholeUntilItsOwnModelReplacesIt()
    {
        // metrics.json marks a finished result (it is written last, by the decoding pass). A new run that is cancelled
        // (Ctrl-C, SIGTERM) or fails while it loads or trains leaves the old result as it was; once trained, its model
        // replaces the old one and the old metrics.json goes with it, so a decoding that then fails does not leave the
        // new model beside the old metrics, a folder that would look finished.
        var results = Path.Combine(root, "results-old");
        var old = Path.Combine(results, "tiny", "metrics.json");
        var oldModel = Path.Combine(results, "tiny", "model.ply");
        Directory.CreateDirectory(Path.GetDirectoryName(old)!);
        File.WriteAllText(old, "{\"pq\": {\"pq_scene\": 99}}");
        File.WriteAllText(oldModel, "the old run's model");
        var oldLabels = Path.Combine(results, "tiny", "instance", "a-view-the-scene-no-longer-has.png");
        Directory.CreateDirectory(Path.GetDirectoryName(oldLabels)!);
        File.WriteAllText(oldLabels, "the old run's label map");

        var (cancelled, _) = Start(Path.Combine(root, "ckpt-old-cancelled"), 1000, 100_000, _ => { }, results: results);
        await Until(() => cancelled.Progress.Step >= 3, "training", cancelled);
        cancelled.Cancel();
        Assert.Equal(SceneRunEnd.Finished, await cancelled.Completion.WaitAsync(Patience));
        Assert.Equal(SceneState.Cancelled, cancelled.Progress.State);
        Assert.Equal("{\"pq\": {\"pq_scene\": 99}}", File.ReadAllText(old));
        Assert.Equal("the old run's model", File.ReadAllText(oldModel));
        Assert.True(File.Exists(oldLabels));

        var (run, _) = Start(Path.Combine(root, "ckpt-old"), 1000, 10, _ => { }, results: results);
        Assert.Equal(SceneRunEnd.Finished, await run.Completion.WaitAsync(Patience));
        Assert.Equal(SceneState.Trained, run.Progress.State);
        Assert.False(File.Exists(old));
        Assert.False(File.Exists(oldLabels)); // a map of a view this run does not have is not left beside its own
        Assert.NotEqual("the old run's model", File.ReadAllText(oldModel, System.Text.Encoding.Latin1)[..19]);
    }

    [Fact]
    public void ACheckpointIsDueAfterItsIterationsAndItsLeastTime()
    {
        var cadence = new CheckpointCadence(200, TimeSpan.FromSeconds(20));
        Assert.False(cadence.IsDue(199, TimeSpan.FromMinutes(5)));
        Assert.False(cadence.IsDue(5000, TimeSpan.FromSeconds(19.9)));
        Assert.True(cadence.IsDue(200, TimeSpan.FromSeconds(20)));
        Assert.True(new CheckpointCadence(200, TimeSpan.Zero).IsDue(200, TimeSpan.Zero)); // by iterations alone
        Assert.True(new CheckpointCadence(0, TimeSpan.Zero).IsDue(1, TimeSpan.Zero)); // at least one iteration apart
        Assert.False(new CheckpointCadence(0, TimeSpan.Zero).IsDue(0, TimeSpan.Zero));
    }

    /// <summary>
    /// A coordinator that sees a scene end starts the next one in its slot: the end must not show while the run still
    /// holds the slot (disposing its trainer), or the next scene queues behind it (a flaky placement test on CI did).
    /// A thread spins on the status and reads the slot count the moment the end shows.
    /// </summary>
    [Fact]
    public async Task ARunShowsItsEndOnlyOnceItsTrainingSlotIsFree()
    {
        var slots = new TrainingSlots(1);
        var (run, _) = Start(Path.Combine(root, "ckpt"), interval: 100, iterations: 15, _ => { }, slots: slots);
        var watcher = Task.Factory.StartNew(() =>
        {
            var clock = Stopwatch.StartNew();
            while (run.Progress.State.NeedsTraining())
                if (clock.Elapsed > Patience) return (SceneState.Training, -1);
            return (run.Progress.State, slots.Active);
        }, TaskCreationOptions.LongRunning);
        var (state, active) = await watcher;
        Assert.Equal(SceneRunEnd.Finished, await run.Completion.WaitAsync(Patience));
        Assert.True(state == SceneState.Trained, $"{state}: {run.Progress.Error}");
        Assert.Equal(0, active);
        Assert.Equal(1, slots.TotalGranted);
    }

    /// <summary>A newest checkpoint with one byte changed (a torn write, a bad disk): the run says it does not restore,
    /// resumes from the one before it (never from step 0 while one works), and ends with a good final checkpoint.</summary>
    [Fact]
    public async Task ACorruptNewestCheckpointIsSkippedAndTheRunResumesFromThePreviousOne()
    {
        const int interval = 10, iterations = 30;
        var ckpt = Path.Combine(root, "ckpt");
        var (first, checkpoints) = Start(ckpt, interval, iterations, _ => { });
        Assert.Equal(SceneRunEnd.Finished, await first.Completion.WaitAsync(Patience));
        Assert.Equal([iterations, iterations - interval], checkpoints.List().Select(c => c.Step)); // the newest two are kept
        var newest = checkpoints.PathFor(iterations);
        var bytes = await File.ReadAllBytesAsync(newest);
        bytes[bytes.Length / 2] ^= 0x5A;
        await File.WriteAllBytesAsync(newest, bytes);

        var (second, _) = Start(ckpt, interval, iterations, _ => { });
        Assert.Equal(SceneRunEnd.Finished, await second.Completion.WaitAsync(Patience));
        var p = second.Progress;
        Assert.True(p.State == SceneState.Trained, $"{p.State}: {p.Error}");
        Assert.Equal(iterations, p.Step);
        Assert.Contains(log.Warnings, w => w.Contains(newest) && w.Contains("does not restore") && w.Contains("SHA-256"));
        Assert.Contains(log.Messages, m => m.Contains("resumes from") && m.Contains(checkpoints.PathFor(iterations - interval)));
        // The step-30 checkpoint was written again from the resumed run, and it restores.
        await using (var stream = File.OpenRead(newest))
        using (var restored = SceneTrainer.Restore(SceneInspector.Read(Path.Combine(root, "scenes", "tiny")), stream))
            Assert.Equal(iterations, restored.CurrentStep);
    }

    /// <summary>What the background write puts on disk (the snapshot, then its SHA-256) is byte for byte what
    /// <see cref="SceneTrainer.Save"/> writes, and taking snapshots leaves no tensor behind.</summary>
    [Fact]
    public void ASnapshotWrittenWithItsHashIsTheTrainersCheckpointAndLeavesNoTensor()
    {
        var scene = SceneInspector.Read(TinyScene.Write(Path.Combine(root, "scenes", "tiny")));
        using var trainer = SceneTrainer.Create(scene, new TrainingOptions { Iterations = 50, Seed = 1 });
        for (int i = 0; i < 3; i++) trainer.Step();
        var saved = new MemoryStream();
        trainer.Save(saved);

        var snapshot = new SnapshotBuffer();
        // Counted in a dispose scope of this thread (Tensor.TotalCount is the process's, and other tests train meanwhile).
        using (var scope = TorchSharp.torch.NewDisposeScope())
        {
            for (int i = 0; i < 3; i++)
            {
                snapshot.Reset();
                trainer.SavePayload(snapshot);
            }
            Assert.Equal(0, scope.DisposablesCount);
        }
        var written = new MemoryStream();
        using (var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256))
        {
            snapshot.WriteTo(written, sha);
            written.Write(sha.GetHashAndReset());
        }
        Assert.Equal(saved.ToArray(), written.ToArray());
        Assert.Equal(saved.Length, snapshot.Length + SceneTrainer.CheckpointHashBytes);
        written.Position = 0;
        using var restored = SceneTrainer.Restore(scene, written);
        Assert.Equal(trainer.CurrentStep, restored.CurrentStep);
    }

    [Fact]
    public async Task SuspendReturnsOnlyOnceItsCheckpointIsWritten()
    {
        const int interval = 100000, iterations = 100000; // no periodic checkpoint: only the suspension's
        using var release = new ManualResetEventSlim();
        int held = -1;
        var (run, checkpoints) = Start(Path.Combine(root, "ckpt"), interval, iterations, step =>
        {
            Volatile.Write(ref held, step);
            release.Wait(Patience);
        });
        await Until(() => run.Progress.Step >= 3, "training", run);
        run.Suspend();
        await Until(() => Volatile.Read(ref held) >= 0, "suspension checkpoint write", run);
        await Task.Delay(500);
        Assert.False(run.Completion.IsCompleted, "the run ended Suspended before its checkpoint was written");
        Assert.Equal(0, run.Progress.LastCheckpointStep);

        release.Set();
        Assert.Equal(SceneRunEnd.Suspended, await run.Completion.WaitAsync(Patience));
        var p = run.Progress;
        Assert.Equal(held, p.Step); // 0 steps lost
        Assert.Equal(held, p.LastCheckpointStep);
        Assert.Equal(checkpoints.PathFor(held), Assert.Single(checkpoints.List()).Path);
    }

    /// <summary>
    /// A real full disk: the checkpoint directory is a small tmpfs, and after the first checkpoint a filler file takes
    /// the rest of it. The writes that fail leave the first checkpoint byte for byte and no temporary file; the status
    /// keeps the first checkpoint's step; training goes on; once the filler is deleted, the next checkpoint is written
    /// and the scene trains to the end with its final checkpoint.
    /// </summary>
    [Fact]
    public async Task AFullDiskKeepsTheLastGoodCheckpointAndTrainingGoesOnUntilSpaceIsBack()
    {
        const int interval = 5, iterations = 60;
        var disk = MountSmallDisk();
        var filler = Path.Combine(disk, "filler");
        using var freed = new ManualResetEventSlim();
        var steps = new List<int>();
        var metrics = new UniCLiftMetrics(meter);
        var (run, checkpoints) = Start(disk, interval, iterations, step =>
        {
            int call;
            lock (steps) { steps.Add(step); call = steps.Count; }
            if (call == 2) Fill(filler); // the disk is full from the second checkpoint on
            if (call == 4) freed.Wait(Patience); // the fourth waits until the test has looked and freed space
        }, metrics);

        await Until(() => log.Warnings.Count(w => w.Contains("not written")) >= 2, "two failed checkpoint writes", run);
        int first = run.Progress.LastCheckpointStep;
        Assert.Equal(interval, first);
        var firstPath = checkpoints.PathFor(first);
        var firstBytes = File.ReadAllBytes(firstPath);
        foreach (var w in log.Warnings) output.WriteLine(w);
        var warning = log.Warnings.First(w => w.Contains("not written"));
        Assert.Contains(checkpoints.PathFor(steps[1]), warning); // names the file
        Assert.Contains("No space left on device", warning); // and the reason
        Assert.Equal(2, ObservedCounter(metrics, "uniclift.checkpoint.failures"));

        // While the disk is full: the old checkpoint as it was, no temporary file, the old step in the status, training on.
        await Until(() => run.Progress.Step >= 4 * interval, "training while the disk is full", run);
        Assert.Equal(first, run.Progress.LastCheckpointStep);
        Assert.Equal(firstPath, run.Progress.CheckpointPath);
        Assert.Equal(new[] { firstPath }, Directory.GetFiles(checkpoints.Directory));
        Assert.Equal(firstBytes, File.ReadAllBytes(firstPath));

        File.Delete(filler);
        freed.Set();
        Assert.Equal(SceneRunEnd.Finished, await run.Completion.WaitAsync(Patience));
        var p = run.Progress;
        Assert.True(p.State == SceneState.Trained, $"{p.State}: {p.Error}");
        Assert.Equal(iterations, p.LastCheckpointStep);
        Assert.True(File.Exists(Path.Combine(run.Job.OutputDirectory, "model.ply")));
        var files = Directory.GetFiles(checkpoints.Directory).Select(Path.GetFileName).Order().ToArray();
        output.WriteLine($"checkpoint writes at steps {string.Join(", ", steps)}; files at the end: {string.Join(", ", files)}");
        Assert.All(files, f => Assert.Matches(@"^ckpt-\d{8}\.bin$", f)); // no temporary file left
        Assert.Contains(Path.GetFileName(checkpoints.PathFor(iterations)), files);
        Assert.True(steps.Count >= 4, "the write after space came back was not tried");
        Assert.Equal(2, ObservedCounter(metrics, "uniclift.checkpoint.failures"));
    }

    /// <summary>
    /// The end of training on a full disk: the final checkpoint is not written, and neither is model.ply (the output is
    /// on the same disk), so the scene fails, not as bad input, which is what the coordinator retries. The retry (a new
    /// run from the failed status, as the scene grain starts it) resumes from the last good checkpoint once there is
    /// space again, and trains to the end.
    /// </summary>
    [Fact]
    public async Task AFullDiskAtTheEndFailsTheSceneAndItsRetryResumesFromTheLastGoodCheckpoint()
    {
        const int interval = 10, iterations = 25;
        var disk = MountSmallDisk();
        var filler = Path.Combine(disk, "filler");
        var metrics = new UniCLiftMetrics(meter);
        var written = new List<int>();
        var (run, checkpoints) = Start(Path.Combine(disk, "ckpt"), interval, iterations, step =>
        {
            if (step == iterations) Fill(filler);
            else lock (written) written.Add(step);
        }, metrics, results: Path.Combine(disk, "results"));
        Assert.Equal(SceneRunEnd.Finished, await run.Completion.WaitAsync(Patience));
        var failed = run.Progress;
        output.WriteLine($"{failed.State}: {failed.Error}");
        Assert.Equal(SceneState.Failed, failed.State);
        Assert.False(failed.BadInput, "a full disk is not bad input: the coordinator must retry it");
        Assert.Contains("No space left on device", failed.Error);
        // The periodic checkpoints (at 10 and 20, or a step or two later where a slow write deferred one) are all there.
        int lastGood = written[^1];
        Assert.Equal(lastGood, failed.LastCheckpointStep);
        Assert.Equal(written.TakeLast(2).Select(checkpoints.PathFor), Directory.GetFiles(checkpoints.Directory).Order());
        Assert.True(ObservedCounter(metrics, "uniclift.checkpoint.failures") >= 1); // the final one (twice if a deferred periodic one fell on the last step)

        File.Delete(filler);
        var steps = new List<int>();
        var (retry, _) = Start(Path.Combine(disk, "ckpt"), interval, iterations, step => { lock (steps) steps.Add(step); }, metrics,
            results: Path.Combine(disk, "results"), start: failed with { Attempt = 1 });
        Assert.Equal(SceneRunEnd.Finished, await retry.Completion.WaitAsync(Patience));
        var done = retry.Progress;
        Assert.True(done.State == SceneState.Trained, $"{done.State}: {done.Error}");
        Assert.Equal(1, ObservedCounter(metrics, "uniclift.training.resumes"));
        Assert.Equal(iterations, steps[^1]);
        Assert.All(steps, s => Assert.True(s > lastGood, $"the retry wrote step {s}: it did not resume from step {lastGood}"));
        Assert.Equal(iterations, done.LastCheckpointStep);
        Assert.True(File.Exists(Path.Combine(retry.Job.OutputDirectory, "model.ply")));
    }

    /// <summary>Not an I/O failure to ride out: a symbolic link planted in place of the scene's checkpoint folder
    /// still fails the scene (OPERATIONS, "Security model"), and nothing is written where it leads.</summary>
    [Fact]
    public async Task ALinkInPlaceOfTheCheckpointFolderStillFailsTheScene()
    {
        var outside = Directory.CreateDirectory(Path.Combine(root, "outside")).FullName;
        var ckpt = Directory.CreateDirectory(Path.Combine(root, "ckpt")).FullName;
        // Planted while the scene trains, just before its first checkpoint write: that write refuses it (in the
        // background, logged), and the next checkpoint, on the training thread, fails the scene.
        int planted = 0;
        var (run, _) = Start(ckpt, interval: 3, iterations: 20, _ =>
        {
            if (Interlocked.Exchange(ref planted, 1) == 0) Directory.CreateSymbolicLink(new SceneCheckpoints(ckpt, "tiny").Directory, outside);
        });
        Assert.Equal(SceneRunEnd.Finished, await run.Completion.WaitAsync(Patience));
        Assert.Equal(SceneState.Failed, run.Progress.State);
        Assert.Contains("is a symbolic link", run.Progress.Error);
        Assert.Empty(Directory.GetFileSystemEntries(outside));
    }

    private string MountSmallDisk()
    {
        var disk = Directory.CreateDirectory(Path.Combine(root, "small-disk")).FullName;
        var (rc, text) = Run("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", disk);
        Assert.True(rc == 0, $"this test needs root to mount a tmpfs (a real full disk): 'mount -t tmpfs -o size=16m tmpfs {disk}' failed ({rc}): {text}");
        mounted = disk;
        return disk;
    }

    /// <summary>Writes to <paramref name="path"/> until the disk is full (what a filler leaves is a few bytes at most).</summary>
    private static void Fill(string path)
    {
        var block = new byte[64 << 10];
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1);
        try
        {
            while (true) fs.Write(block);
        }
        catch (IOException)
        {
        }
        // Then byte by byte to the last page.
        try
        {
            while (true) { fs.Write(block, 0, 1); fs.Flush(); }
        }
        catch (IOException)
        {
        }
    }

    private static double ObservedCounter(UniCLiftMetrics metrics, string name)
    {
        double value = double.NaN;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter == metrics.Meter && i.Name == name) l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((_, v, _, _) => value = v);
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }

    private static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var text = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, text.Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    private sealed class ListLogger : ILogger
    {
        private readonly List<string> warnings = [], messages = [];
        public IReadOnlyList<string> Warnings { get { lock (warnings) return warnings.ToList(); } }
        /// <summary>Everything logged at Information or above.</summary>
        public IReadOnlyList<string> Messages { get { lock (messages) return messages.ToList(); } }
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = formatter(state, exception) + (exception is null ? "" : " | " + exception.Message);
            if (logLevel >= LogLevel.Information) lock (messages) messages.Add(text);
            if (logLevel >= LogLevel.Warning) lock (warnings) warnings.Add(text);
        }
    }
}
