namespace UniCLift.Cluster.Tests;

using UniCLift.Grains;
using UniCLift.Grains.Scenes;

/// <summary>
/// What a client can make real silos (Redis clustering, a client over the gateway) read and write: only what lies under
/// the silos' scene and output roots, whichever grain it calls, and never a checkpoint outside the checkpoint directory.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class DataRootsClusterTests(RedisServerFixture redis) : IAsyncLifetime
{
    private readonly string top = Directory.CreateTempSubdirectory("uniclift-roots-cluster-").FullName;
    private string Scenes => Path.Combine(top, "scenes");
    private string Results => Path.Combine(top, "results");
    private string Outside => Path.Combine(top, "outside");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Scenes);
        Directory.CreateDirectory(Results);
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Outside, "secret"), "not for clients");
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(top, recursive: true);
        return Task.CompletedTask;
    }

    private async Task<(TestCluster Cluster, IClusterClient Client)> StartAsync(string name)
    {
        var cluster = new TestCluster(redis, name);
        cluster.SceneRoots.Clear();
        cluster.SceneRoots.Add(Scenes);
        cluster.OutputRoots.Clear();
        cluster.OutputRoots.Add(Results);
        await cluster.StartSiloAsync("compute-1", compute: true, checkpointInterval: 5);
        return (cluster, await cluster.ConnectAsync());
    }

    private string[] OutsideFiles() => Directory.GetFileSystemEntries(Outside, "*", SearchOption.AllDirectories).Order().ToArray();

    [Fact]
    public async Task A_Batch_Naming_Paths_Outside_The_Roots_Is_Refused_At_Submission_And_Nothing_Is_Written()
    {
        var (cluster, client) = await StartAsync("roots-submit");
        await using var _ = cluster;
        var scene = TinyScene.Write(Path.Combine(Scenes, "tiny"));
        var outsideScene = TinyScene.Write(Path.Combine(Outside, "tiny"));
        Directory.CreateSymbolicLink(Path.Combine(Results, "link"), Outside);
        var before = OutsideFiles();
        var options = new JobOptions(Iterations: 5, MaxRetries: 0);

        async Task<string> Refused(BatchRequest request)
        {
            var coordinator = client.GetGrain<ICoordinatorGrain>($"refused-{Guid.NewGuid():N}");
            var e = await Assert.ThrowsAsync<ArgumentException>(() => coordinator.SubmitBatch(request));
            await Assert.ThrowsAsync<KeyNotFoundException>(() => coordinator.GetBatchStatus()); // no batch was created
            return e.Message;
        }

        Assert.Equal($"scene directory {outsideScene} is outside the silo's scene roots ({Scenes}).",
            await Refused(new BatchRequest([outsideScene], Results, options)));
        var escape = Path.Combine(Scenes, "..", "outside", "tiny");
        Assert.Equal($"scene directory {escape} is outside the silo's scene roots ({Scenes}).",
            await Refused(new BatchRequest([escape], Results, options)));
        Assert.Equal($"output root {Path.Combine(Results, "link")} is outside the silo's output roots ({Results}): it leads out of them through a symbolic link.",
            await Refused(new BatchRequest([scene], Path.Combine(Results, "link"), options)));
        Assert.Equal($"output directory {Path.Combine(Outside, "one")} is outside the silo's output roots ({Results}).",
            await Refused(new BatchRequest([scene], Results, options, [Path.Combine(Outside, "one")])));
        Assert.Equal($"initial PLY /etc/passwd is outside the silo's scene and output roots ({Scenes}, {Results}).",
            await Refused(new BatchRequest([scene], Results, options with { Mode = JobMode.Lift, InitialPly = "/etc/passwd" })));
        // A file that exists and one that does not get the same answer.
        var existing = await Refused(new BatchRequest([Path.Combine(Outside, "secret")], Results, options));
        var missing = await Refused(new BatchRequest([Path.Combine(Outside, "nothing")], Results, options));
        Assert.Equal(existing.Replace("secret", "nothing"), missing);

        Assert.Equal(before, OutsideFiles());
    }

    [Fact]
    public async Task A_View_Grain_Reads_And_Writes_Only_Under_The_Roots()
    {
        var (cluster, client) = await StartAsync("roots-view");
        await using var _ = cluster;
        double[] pose = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        ViewSource Source(string image) => new(image, null, 8, 6, 8, 8, 4, 3, pose);
        var view = client.GetGrain<IViewGrain>("any/0000");
        var model = Path.Combine(Results, "r", "model.ply");

        // Reading: the same answer for /etc/shadow and a file that is not there.
        var shadow = await Assert.ThrowsAsync<ArgumentException>(() => view.DecodeCodes(new ViewDecodeRequest(Source("/etc/shadow"), model)));
        var nothing = await Assert.ThrowsAsync<ArgumentException>(() => view.DecodeCodes(new ViewDecodeRequest(Source("/etc/no-such-file"), model)));
        Assert.Equal($"image /etc/shadow is outside the silo's scene roots ({Scenes}).", shadow.Message);
        Assert.Equal(shadow.Message.Replace("/etc/shadow", "/etc/no-such-file"), nothing.Message);
        Assert.Equal($"trained model {Path.Combine(Outside, "model.ply")} is outside the silo's output roots ({Results}).",
            (await Assert.ThrowsAsync<ArgumentException>(() => view.DecodeCodes(new ViewDecodeRequest(Source(Path.Combine(Scenes, "a.png")), Path.Combine(Outside, "model.ply"))))).Message);

        // Writing: a label map or an overlay outside the output roots (directly or through a link) is never written.
        Directory.CreateSymbolicLink(Path.Combine(Results, "link"), Outside);
        var codebook = new SceneCodebook([], null, [], []);
        var decode = new ViewDecodeRequest(Source(Path.Combine(Scenes, "tiny", "color", "0000.jpg")), model);
        foreach (var (label, overlay) in new[]
                 {
                     (Path.Combine(Outside, "labels.png"), (string?)null),
                     (Path.Combine(Results, "link", "labels.png"), null),
                     (Path.Combine(Results, "..", "outside", "labels.png"), null),
                     (Path.Combine(Results, "ok.png"), Path.Combine(Outside, "overlay.png")),
                 })
        {
            var e = await Assert.ThrowsAsync<ArgumentException>(() => view.WriteLabels(new ViewWriteRequest(decode, codebook, label, overlay)));
            Assert.Contains("is outside the silo's output roots", e.Message);
        }
        Assert.Equal(["secret"], OutsideFiles().Select(Path.GetFileName));
        Assert.False(File.Exists(Path.Combine(Results, "ok.png")));
    }

    [Fact]
    public async Task A_Scene_Grain_Fails_A_Job_Outside_The_Roots_And_Keeps_A_Path_Like_Keys_Checkpoints_In_The_Checkpoint_Directory()
    {
        var (cluster, client) = await StartAsync("roots-scene");
        await using var _ = cluster;
        var scene = TinyScene.Write(Path.Combine(Scenes, "tiny"));
        var outsideScene = TinyScene.Write(Path.Combine(Outside, "tiny"));
        var before = OutsideFiles();

        // A client calling a scene grain directly: the scene fails with the reason, before reading anything.
        var bad = client.GetGrain<ISceneGrain>("direct-bad");
        await bad.Start(new SceneJob("direct-bad", outsideScene, Path.Combine(Results, "bad"), new JobOptions(Iterations: 5)));
        var failed = await WaitAsync(bad, s => s.State.IsTerminal());
        Assert.Equal(SceneState.Failed, failed.State);
        Assert.Equal($"scene directory {outsideScene} is outside the silo's scene roots ({Scenes}).", failed.Error);
        var badOut = client.GetGrain<ISceneGrain>("direct-bad-out");
        await badOut.Start(new SceneJob("direct-bad-out", scene, Path.Combine(Outside, "out"), new JobOptions(Iterations: 5)));
        Assert.Equal($"output directory {Path.Combine(Outside, "out")} is outside the silo's output roots ({Results}).",
            (await WaitAsync(badOut, s => s.State.IsTerminal())).Error);

        // A scene inside the roots with a link inside it that leads out: the scene fails before reading through it.
        var linked = TinyScene.Write(Path.Combine(Scenes, "linked"));
        var colour = Directory.GetFiles(Path.Combine(linked, "color"))[0];
        File.Delete(colour);
        File.CreateSymbolicLink(colour, Path.Combine(Outside, "secret"));
        var viaLink = client.GetGrain<ISceneGrain>("direct-link");
        await viaLink.Start(new SceneJob("direct-link", linked, Path.Combine(Results, "linked"), new JobOptions(Iterations: 5)));
        var linkFailed = await WaitAsync(viaLink, s => s.State.IsTerminal());
        Assert.Equal(SceneState.Failed, linkFailed.State);
        Assert.Equal($"file of scene {linked} {colour} is outside the silo's scene roots ({Scenes}): it leads out of them through a symbolic link.", linkFailed.Error);

        // A key that looks like a path: a legitimate job trains, and its checkpoints stay in the checkpoint directory.
        var key = $"../escape-{Guid.NewGuid():N}";
        var grain = client.GetGrain<ISceneGrain>(key);
        await grain.Start(new SceneJob(key, scene, Path.Combine(Results, "escape"), new JobOptions(Iterations: 10)));
        var trained = await WaitAsync(grain, s => s.State.IsTerminal() || s.State == SceneState.Trained);
        Assert.True(trained.State == SceneState.Trained, $"{trained.State}: {trained.Error}");
        var folder = new SceneCheckpoints(cluster.CheckpointDirectory, key).Directory;
        Assert.Equal(cluster.CheckpointDirectory, Path.GetDirectoryName(folder));
        Assert.NotEmpty(Directory.GetFiles(folder, "ckpt-*.bin"));
        Assert.StartsWith(folder + "/", trained.CheckpointPath);
        Assert.False(Directory.Exists(Path.Combine(cluster.CheckpointDirectory, key)), "a checkpoint folder was joined from the raw key");
        Assert.True(File.Exists(Path.Combine(Results, "escape", "model.ply")));

        Assert.Equal(before, OutsideFiles());
    }

    [Fact]
    public async Task A_Batch_Under_The_Roots_Runs_To_The_End()
    {
        var (cluster, client) = await StartAsync("roots-ok");
        await using var _ = cluster;
        var scene = TinyScene.Write(Path.Combine(Scenes, "tiny"));
        await client.GetGrain<ICoordinatorGrain>("roots-ok-batch").SubmitBatch(new BatchRequest([scene], Path.Combine(Results, "batch"), new JobOptions(Iterations: 10, MaxRetries: 0)));
        var done = await TestCluster.WaitForBatchAsync(client, "roots-ok-batch", TimeSpan.FromMinutes(3));
        var s = done.Scenes[0];
        Assert.True(s.Status.State == SceneState.Done, $"{s.Status.State}: {s.Status.Error}");
        Assert.True(File.Exists(Path.Combine(Results, "batch", "tiny", "metrics.json")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(Results, "batch", "tiny", "instance"), "*.png"));
    }

    private static async Task<SceneStatus> WaitAsync(ISceneGrain grain, Func<SceneStatus, bool> until)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var s = await grain.GetStatus();
            if (until(s)) return s;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"scene still {s.State} (step {s.Step}) after 3 minutes: {s.Error}");
            await Task.Delay(200);
        }
    }
}
