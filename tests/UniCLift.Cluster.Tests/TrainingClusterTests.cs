namespace UniCLift.Cluster.Tests;

using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Training;
using UniCLift.Grains;
using UniCLift.Grains.Scenes;

/// <summary>
/// Cluster behaviour that needs real training (SceneTrainer, SceneSegmentation, the scene reader and writer).
/// Trait Needs=Trainer: these cannot pass before the compute library's trainer lands.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Needs", "Trainer")]
public sealed class TrainingClusterTests(RedisServerFixture redis)
{
    [Fact]
    public async Task MoreScenesThanSlotsStayWithinTheSlotsAndABadSceneDoesNotStopTheOthers()
    {
        await using var cluster = new TestCluster(redis, "slots");
        var compute = await cluster.StartSiloAsync("compute-1", compute: true, slots: 1);
        await cluster.StartSiloAsync("plain-1", compute: false);
        var client = await cluster.ConnectAsync();
        var root = TestFolders.Create("uniclift-scenes-").FullName;
        var scenes = Enumerable.Range(0, 3).Select(i => TinyScene.Write(Path.Combine(root, $"tiny{i}"))).ToList();
        var missing = Path.Combine(root, "missing");
        var output = Path.Combine(root, "out");

        await client.GetGrain<ICoordinatorGrain>("slots-batch").SubmitBatch(
            new BatchRequest([.. scenes, missing], output, new JobOptions(Iterations: 30, MaxRetries: 0)));
        var done = await TestCluster.WaitForBatchAsync(client, "slots-batch", TimeSpan.FromMinutes(5));

        var slots = TestCluster.Slots(compute);
        Assert.Equal(1, slots.Peak);
        Assert.True(slots.TotalGranted >= 3, $"granted {slots.TotalGranted}");
        foreach (var s in done.Scenes.Take(3))
        {
            Assert.True(s.Status.State == SceneState.Done, $"{s.SceneId}: {s.Status.State} {s.Status.Error}");
            Assert.Equal(30, s.Status.Step);
            Assert.True(File.Exists(Path.Combine(s.Status.OutputDirectory!, "metrics.json")), $"no metrics.json in {s.Status.OutputDirectory}");
            Assert.NotNull(s.Status.PqScene);
            Assert.Equal("compute-1", s.Status.Silo);
            // Decoded by the coordinator in one batch-wide pass, after the last scene trained; every view written.
            Assert.Equal(1, s.Status.DecodePass);
            var views = Directory.GetFiles(Path.Combine(s.SceneDirectory, "color")).Length;
            Assert.Equal(views, Directory.GetFiles(Path.Combine(s.Status.OutputDirectory!, "instance"), "*.png").Length);
            Assert.True(File.Exists(Path.Combine(s.Status.OutputDirectory!, "labels.ply")));
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(s.Status.OutputDirectory!, "overlays")));
        }
        Assert.Equal(SceneState.Failed, done.Scenes[3].Status.State);
        Assert.Contains(missing, done.Scenes[3].Status.Error);
    }

    [Fact]
    public async Task ADecodeBatchDecodesAFinishedRunAgainWhileTheOnlyTrainingSlotIsTaken()
    {
        await using var cluster = new TestCluster(redis, "decode");
        await cluster.StartSiloAsync("compute-1", compute: true, slots: 1);
        var client = await cluster.ConnectAsync();
        var root = TestFolders.Create("uniclift-scenes-").FullName;
        var scene = TinyScene.Write(Path.Combine(root, "tiny"));
        var busy = TinyScene.Write(Path.Combine(root, "busy"));
        var output = Path.Combine(root, "out");

        await client.GetGrain<ICoordinatorGrain>("decode-train").SubmitBatch(new BatchRequest([scene], output, new JobOptions(Iterations: 30, MaxRetries: 0)));
        var trained = (await TestCluster.WaitForBatchAsync(client, "decode-train", TimeSpan.FromMinutes(3))).Scenes[0].Status;
        Assert.Equal(SceneState.Done, trained.State);
        var model = File.ReadAllBytes(Path.Combine(trained.OutputDirectory!, "model.ply"));

        // A long training takes the one slot; a decode batch of the finished scene does not wait for it.
        await client.GetGrain<ICoordinatorGrain>("decode-busy").SubmitBatch(new BatchRequest([busy], Path.Combine(root, "busy-out"), new JobOptions(Iterations: 1_000_000, MaxRetries: 0)));
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while ((await client.GetGrain<ICoordinatorGrain>("decode-busy").GetBatchStatus()).Scenes[0].Status.State != SceneState.Training)
        {
            Assert.True(DateTime.UtcNow < deadline, "the long training never started");
            await Task.Delay(200);
        }
        await client.GetGrain<ICoordinatorGrain>("decode-again").SubmitBatch(new BatchRequest([scene], output,
            new JobOptions(JobMode.Decode, MaxRetries: 0, Decode: ["Cleanup=false"])));
        var decoded = (await TestCluster.WaitForBatchAsync(client, "decode-again", TimeSpan.FromMinutes(2))).Scenes[0].Status;
        Assert.True(decoded.State == SceneState.Done, $"{decoded.State} {decoded.Error}");
        Assert.Equal(trained.OutputDirectory, decoded.OutputDirectory);
        Assert.Equal(30, decoded.Step); // as training.json says
        Assert.Equal(SceneState.Training, (await client.GetGrain<ICoordinatorGrain>("decode-busy").GetBatchStatus()).Scenes[0].Status.State);
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(decoded.OutputDirectory!, "model.ply")));
        using (var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(decoded.OutputDirectory!, "metrics.json"))))
            Assert.Equal(["Cleanup=false"], metrics.RootElement.GetProperty("decode_settings").EnumerateArray().Select(e => e.GetString()));

        // A decode batch of a scene never trained fails it with the missing file named, as bad input.
        await client.GetGrain<ICoordinatorGrain>("decode-none").SubmitBatch(new BatchRequest([busy], Path.Combine(root, "nothing"), new JobOptions(JobMode.Decode, MaxRetries: 0)));
        var none = (await TestCluster.WaitForBatchAsync(client, "decode-none", TimeSpan.FromMinutes(1))).Scenes[0].Status;
        Assert.Equal(SceneState.Failed, none.State);
        Assert.True(none.BadInput);
        Assert.Contains(Path.Combine(root, "nothing", "busy", "model.ply"), none.Error);

        // A decode batch of two scenes, one of whose models has more embedding channels than decoding takes: that scene
        // fails, naming its model, and the other decodes (the pass decodes every scene's Gaussians in one call, which
        // threw for the whole batch, at every pass: the batch never finished).
        var wide = Path.Combine(root, "wide-out", "tiny");
        Directory.CreateDirectory(wide);
        foreach (var f in Directory.GetFiles(decoded.OutputDirectory!)) File.Copy(f, Path.Combine(wide, Path.GetFileName(f)));
        var ply = UniCLift.Compute.IO.Ply.Read(Path.Combine(wide, "model.ply"));
        var vertex = ply.Element("vertex");
        var columns = vertex.Columns.Concat(Enumerable.Range(12, 19).Select(k => UniCLift.Compute.IO.PlyColumn.Of($"emb_{k}", new float[vertex.Count]))).ToList();
        UniCLift.Compute.IO.Ply.Write(Path.Combine(wide, "model.ply"), new UniCLift.Compute.IO.PlyFile
        {
            Format = ply.Format, Comments = ply.Comments, Elements = [new UniCLift.Compute.IO.PlyElement("vertex", columns)],
        });
        await client.GetGrain<ICoordinatorGrain>("decode-two").SubmitBatch(new BatchRequest([scene, scene], Path.Combine(root, "unused"),
            new JobOptions(JobMode.Decode, MaxRetries: 0), [decoded.OutputDirectory!, wide]));
        var two = await TestCluster.WaitForBatchAsync(client, "decode-two", TimeSpan.FromMinutes(2));
        Assert.True(two.Scenes[0].Status.State == SceneState.Done, $"{two.Scenes[0].Status.State} {two.Scenes[0].Status.Error}");
        Assert.Equal(SceneState.Failed, two.Scenes[1].Status.State);
        Assert.Contains("has 31 embedding channels; decoding takes 1..30", two.Scenes[1].Status.Error);

        // Decoding again that fails while it writes (the overlays cannot be written: a file stands where their folder
        // goes) leaves no metrics.json: the outputs are part new, part missing, and the folder must not look finished.
        var overlaysFolder = Path.Combine(decoded.OutputDirectory!, "overlays");
        Directory.Delete(overlaysFolder, recursive: true);
        File.WriteAllText(overlaysFolder, "a file where the overlays go");
        await client.GetGrain<ICoordinatorGrain>("decode-broken").SubmitBatch(new BatchRequest([scene], output, new JobOptions(JobMode.Decode, MaxRetries: 0)));
        var broken = (await TestCluster.WaitForBatchAsync(client, "decode-broken", TimeSpan.FromMinutes(2))).Scenes[0].Status;
        Assert.Equal(SceneState.Failed, broken.State);
        Assert.False(File.Exists(Path.Combine(decoded.OutputDirectory!, "metrics.json")));
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(decoded.OutputDirectory!, "model.ply")));
        await client.GetGrain<ICoordinatorGrain>("decode-busy").Cancel();
    }

    [Fact]
    public async Task KilledSilosSceneFinishesOnTheSurvivorWithoutLosingMoreThanOneCheckpointIntervalAndMatchesAnUninterruptedRun()
    {
        const int interval = 5, iterations = 80;
        await using var cluster = new TestCluster(redis, "resume");
        var a = await cluster.StartSiloAsync("compute-a", compute: true, checkpointInterval: interval);
        var b = await cluster.StartSiloAsync("compute-b", compute: true, checkpointInterval: interval);
        var client = await cluster.ConnectAsync();
        var root = TestFolders.Create("uniclift-scenes-").FullName;
        var scenes = new[] { TinyScene.Write(Path.Combine(root, "tiny0")), TinyScene.Write(Path.Combine(root, "tiny1"), width: 28, height: 20) };

        await client.GetGrain<ICoordinatorGrain>("resume-batch").SubmitBatch(
            new BatchRequest(scenes, Path.Combine(root, "out"), new JobOptions(Iterations: iterations, MaxRetries: 0)));
        string sceneId = (await client.GetGrain<ICoordinatorGrain>("resume-batch").GetBatchStatus()).Scenes[0].SceneId;
        var grain = client.GetGrain<ISceneGrain>(sceneId);

        SceneStatus status;
        do
        {
            await Task.Delay(100);
            status = await grain.GetStatus();
            Assert.False(status.State.IsTerminal() || status.State.AwaitsDecoding(), $"scene ended before the kill: {status.State} {status.Error}");
        }
        while (status.LastCheckpointStep < 2 * interval);
        var victim = status.Silo == "compute-a" ? a : b;
        var survivor = victim == a ? "compute-b" : "compute-a";
        int stepAtKill = status.Step;
        var killed = System.Diagnostics.Stopwatch.StartNew();
        await cluster.KillSiloAsync(victim);

        int maxSeen = stepAtKill, resumedAt = -1;
        TimeSpan? resumedAfter = null;
        var done = await TestCluster.WaitForBatchAsync(client, "resume-batch", TimeSpan.FromMinutes(5), s =>
        {
            var st = s.Scenes[0].Status;
            if (st.State == SceneState.Training)
            {
                Assert.True(st.Step >= maxSeen - interval, $"step went back from {maxSeen} to {st.Step} (interval {interval})");
                if (st.Silo == survivor && resumedAfter is null) (resumedAfter, resumedAt) = (killed.Elapsed, st.Step);
                maxSeen = Math.Max(maxSeen, st.Step);
            }
        });
        foreach (var s in done.Scenes)
            Assert.True(s.Status.State == SceneState.Done, $"{s.SceneId}: {s.Status.State} {s.Status.Error}");
        var final = done.Scenes[0].Status;
        Assert.Equal(iterations, final.Step);
        Assert.Equal(survivor, final.Silo);
        Assert.True(final.Resumes >= 1);
        Assert.True(Directory.GetFiles(new SceneCheckpoints(cluster.CheckpointDirectory, sceneId).Directory, "ckpt-*.bin").Length <= 2);
        Console.WriteLine($"resume: killed at step {stepAtKill} (last checkpoint {status.LastCheckpointStep}); " +
            $"training again on {survivor} at step {resumedAt} after {resumedAfter?.TotalSeconds:0.00} s; steps lost {stepAtKill - status.LastCheckpointStep}");

        // The resumed scene and the other one equal an uninterrupted in-process run bit for bit (checkpoints are exact).
        foreach (var s in done.Scenes)
        {
            var scene = SceneInspector.Read(s.SceneDirectory);
            using var trainer = SceneTrainer.Create(scene, new TrainingOptions { Iterations = iterations, Seed = 1 });
            while (!trainer.IsComplete) trainer.Step();
            var reference = Path.Combine(root, "reference-" + Path.GetFileName(s.SceneDirectory));
            var expected = SceneSegmentation.Finish(scene, trainer, reference, 0);

            var clustered = TrainedGaussians.Read(Path.Combine(s.Status.OutputDirectory!, TrainedGaussians.FileName));
            var straight = TrainedGaussians.FromModel(trainer.Model);
            Assert.Equal(straight.Count, clustered.Count);
            Assert.True(straight.Embeddings.AsSpan().SequenceEqual(clustered.Embeddings), $"{s.SceneId}: embeddings differ from the uninterrupted run");
            Assert.True(straight.Cloud.Means.AsSpan().SequenceEqual(clustered.Cloud.Means), $"{s.SceneId}: means differ from the uninterrupted run");
            // The scene grain votes the Gaussians' codes from the views as the in-process run does.
            Assert.NotNull(clustered.ViewCodes);
            Assert.Equal(TrainedGaussians.Read(Path.Combine(reference, TrainedGaussians.FileName)).ViewCodes, clustered.ViewCodes);
            foreach (var v in scene.Views)
            {
                var mine = ImageIO.ReadLabels(SceneSegmentation.LabelPath(s.Status.OutputDirectory!, v));
                var theirs = ImageIO.ReadLabels(SceneSegmentation.LabelPath(reference, v));
                Assert.Equal(theirs.Labels, mine.Labels);
            }
            Assert.Equal(expected.PqScene!.Value, s.Status.PqScene!.Value, 9);
            Assert.Equal(expected.Instances, s.Status.Instances);
        }
    }

    [Fact]
    public async Task GracefulShutdownCheckpointsTheRunningSceneBeforeLeaving()
    {
        const int interval = 100000, iterations = 150; // no periodic checkpoint: only the shutdown one
        await using var cluster = new TestCluster(redis, "graceful");
        var a = await cluster.StartSiloAsync("compute-a", compute: true, checkpointInterval: interval);
        var b = await cluster.StartSiloAsync("compute-b", compute: true, checkpointInterval: interval);
        var client = await cluster.ConnectAsync();
        var root = TestFolders.Create("uniclift-scenes-").FullName;
        var scene = TinyScene.Write(Path.Combine(root, "tiny"));
        await client.GetGrain<ICoordinatorGrain>("graceful-batch").SubmitBatch(
            new BatchRequest([scene], Path.Combine(root, "out"), new JobOptions(Iterations: iterations, MaxRetries: 0)));
        string sceneId = (await client.GetGrain<ICoordinatorGrain>("graceful-batch").GetBatchStatus()).Scenes[0].SceneId;
        SceneStatus status;
        do
        {
            await Task.Delay(50);
            status = await client.GetGrain<ISceneGrain>(sceneId).GetStatus();
        }
        while (status.Step < 5 && !status.State.IsTerminal());
        Assert.True(status.State == SceneState.Training, $"scene should still be training at step {status.Step}: {status.State} {status.Error}");
        Assert.Equal(0, status.LastCheckpointStep);
        var leaving = status.Silo == "compute-a" ? a : b;
        var staying = leaving == a ? "compute-b" : "compute-a";

        await cluster.StopSiloAsync(leaving);

        var checkpoints = Directory.GetFiles(new SceneCheckpoints(cluster.CheckpointDirectory, sceneId).Directory, "ckpt-*.bin");
        Assert.NotEmpty(checkpoints);
        int saved = checkpoints.Select(f => int.Parse(Path.GetFileNameWithoutExtension(f)[5..])).Max();
        Assert.True(saved >= status.Step, $"checkpoint at {saved}, scene was at {status.Step}");
        var done = await TestCluster.WaitForBatchAsync(client, "graceful-batch", TimeSpan.FromMinutes(5));
        Assert.Equal(SceneState.Done, done.Scenes[0].Status.State);
        Assert.Equal(staying, done.Scenes[0].Status.Silo);
        Assert.True(done.Scenes[0].Status.Resumes >= 1);
    }

    [Fact]
    public async Task ASiloLeavingGracefullyDoesNotInterruptTheScenesTrainingOnTheOthers()
    {
        // With Orleans' default grain directory a silo that left took down, on the silos that stayed, every activation
        // whose directory entry it held: their scenes checkpointed, queued and resumed (a helper's audit saw it on two
        // silos, once per stop). Three scenes train on each of two silos; one silo leaves; the three on the other keep
        // training with no resume (with the old directory about one in two of them was interrupted).
        await using var cluster = new TestCluster(redis, "leaving");
        var a = await cluster.StartSiloAsync("compute-a", compute: true, slots: 3, checkpointInterval: 100000);
        var b = await cluster.StartSiloAsync("compute-b", compute: true, slots: 3, checkpointInterval: 100000);
        var client = await cluster.ConnectAsync();
        await TestCluster.WaitForComputeSilosAsync(client, 2, TimeSpan.FromSeconds(60));
        var root = TestFolders.Create("uniclift-scenes-").FullName;
        var scenes = Enumerable.Range(0, 6).Select(i => TinyScene.Write(Path.Combine(root, $"tiny{i}"))).ToArray();
        var coordinator = client.GetGrain<ICoordinatorGrain>("leaving-batch");
        await coordinator.SubmitBatch(new BatchRequest(scenes, Path.Combine(root, "out"), new JobOptions(Iterations: 1_000_000, MaxRetries: 0)));
        IReadOnlyList<SceneStatus> statuses;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            statuses = (await coordinator.GetBatchStatus()).Scenes.Select(s => s.Status).ToList();
            if (statuses.All(s => s.State == SceneState.Training && s.Step > 0)) break;
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), string.Join("; ", statuses.Select(s => $"{s.SceneId} {s.State} on {s.Silo}")));
            await Task.Delay(200);
        }
        Assert.Equal(3, statuses.Count(s => s.Silo == "compute-a"));
        var staying = statuses.Where(s => s.Silo == "compute-b").Select(s => s.SceneId).ToList();

        await cluster.StopSiloAsync(a);
        await Task.Delay(TimeSpan.FromSeconds(3)); // the membership change reaches compute-b; the old directory acted on it at once

        foreach (var id in staying)
        {
            var s = await client.GetGrain<ISceneGrain>(id).GetStatus();
            Assert.True(s.State == SceneState.Training && s.Silo == "compute-b" && s.Resumes == 0,
                $"scene {id} on the silo that stayed was interrupted: {s.State} on {s.Silo}, resumes {s.Resumes}");
        }
        await coordinator.Cancel();
    }
}
