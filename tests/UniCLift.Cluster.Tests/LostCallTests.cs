namespace UniCLift.Cluster.Tests;

using Microsoft.Extensions.DependencyInjection;
using UniCLift.Grains;
using UniCLift.Grains.Scenes;

/// <summary>A grain call filter that loses calls of one method of grain interface <typeparamref name="TGrain"/>, as calls
/// to a hung or dying silo time out: before they run (<paramref name="answered"/> false: the call never arrived) or after
/// (true: it ran, its answer did not come back); the first only, or every one.</summary>
internal sealed class LoseCalls<TGrain>(string method, bool answered = false, bool every = false) : IIncomingGrainCallFilter
{
    private int lost;
    public int Lost => Volatile.Read(ref lost);

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        bool target = context.Grain is TGrain && context.InterfaceMethod.Name == method;
        if (target && !answered && Lose()) throw new TimeoutException($"test: a {method} call is lost");
        await context.Invoke();
        if (target && answered && Lose()) throw new TimeoutException($"test: the answer to a {method} call is lost");
    }

    private bool Lose() => every ? Interlocked.Increment(ref lost) > 0 : Interlocked.CompareExchange(ref lost, 1, 0) == 0;
}

/// <summary>Calls that do not arrive, and runs that no activation owns: the batch still ends, and a scene trains once.</summary>
[Collection(RedisCollection.Name)]
public sealed class LostCallTests(RedisServerFixture redis)
{
    [Fact]
    public async Task ACancelThatDoesNotReachAScene_IsSentAgain_AndTheCancelledBatchFinishes()
    {
        // Before: the coordinator logged the failed Cancel and never sent it again; the scene trained on to Trained,
        // which a cancelled batch never decodes, and the batch never finished (watch and submit --wait waited for ever).
        var filter = new LoseCalls<ISceneGrain>(nameof(ISceneGrain.Cancel));
        await using var rig = await Rig.StartAsync(redis, "lost-cancel", filter, checkpointInterval: 20);
        var client = rig.Client;
        var coordinator = client.GetGrain<ICoordinatorGrain>("lost-cancel-batch");
        await coordinator.SubmitBatch(new BatchRequest([rig.Scene()], rig.Output,
            new JobOptions(Iterations: 100_000, MaxRetries: 0)));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await coordinator.GetBatchStatus()).Scenes[0].Status.State != SceneState.Training)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "the scene did not start training");
            await Task.Delay(100);
        }

        await coordinator.Cancel();
        Assert.Equal(1, filter.Lost);
        var done = await TestCluster.WaitForBatchAsync(client, "lost-cancel-batch", TimeSpan.FromMinutes(1));
        Assert.True(done.Cancelled);
        Assert.Equal(SceneState.Cancelled, done.Scenes[0].Status.State);
        Assert.Equal(SceneState.Cancelled, (await client.GetGrain<ISceneGrain>(done.Scenes[0].SceneId).GetStatus()).State);
    }

    [Fact]
    public async Task A_Scene_Whose_Start_Went_Unanswered_Is_Told_Of_The_Cancel()
    {
        // Its start arrived and the scene trained, but the coordinator never heard back, so its entry still said "never
        // started": a cancel marked it cancelled there without telling the grain, and the scene trained on.
        var filter = new LoseCalls<ISceneGrain>(nameof(ISceneGrain.Start), answered: true, every: true);
        await using var rig = await Rig.StartAsync(redis, "lost-start", filter);
        var client = rig.Client;
        var coordinator = client.GetGrain<ICoordinatorGrain>("lost-start-batch");
        await coordinator.SubmitBatch(new BatchRequest([rig.Scene()], rig.Output,
            new JobOptions(Iterations: 100_000, MaxRetries: 0)));
        var id = (await coordinator.GetBatchStatus()).Scenes[0].SceneId;
        var scene = client.GetGrain<ISceneGrain>(id);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await scene.GetStatus()).State != SceneState.Training)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "the scene did not start training");
            await Task.Delay(100);
        }
        Assert.True(filter.Lost > 0);
        Assert.Equal(SceneState.NotSubmitted, (await coordinator.GetBatchStatus()).Scenes[0].Status.State); // as the coordinator knows it

        var cancelled = await coordinator.Cancel();
        Assert.True(cancelled.IsFinished);
        Assert.Equal(SceneState.Cancelled, (await scene.GetStatus()).State);
    }

    [Fact]
    public async Task A_Submission_Whose_Answer_Is_Lost_Is_Asked_Again_As_The_Same_Batch()
    {
        // The console printed an error and no batch id while the batch ran; a second submit made a second batch.
        var filter = new LoseCalls<ICoordinatorGrain>(nameof(ICoordinatorGrain.SubmitBatch), answered: true);
        await using var rig = await Rig.StartAsync(redis, "lost-submit", filter);
        var client = rig.Client;
        var notes = new StringWriter();
        var console = new UniCLift.Client.Terminal.CommandConsole(new StringWriter(), notes);
        await UniCLift.Client.Commands.SubmitCommand.SubmitAsync(client.GetGrain<ICoordinatorGrain>("lost-submit-batch"), "lost-submit-batch",
            new BatchRequest([rig.Scene()], rig.Output, new JobOptions(Iterations: 20, MaxRetries: 0)), console);
        Assert.Equal(1, filter.Lost);
        Assert.Contains("asking again (2/3, the same batch)", notes.ToString());
        var done = await TestCluster.WaitForBatchAsync(client, "lost-submit-batch", TimeSpan.FromMinutes(1));
        Assert.Equal(SceneState.Done, Assert.Single(done.Scenes).Status.State);
    }

    [Fact]
    public async Task A_View_Grain_That_Does_Not_Answer_While_Decoding_Makes_The_Scene_Decode_Again_Not_Fail()
    {
        // A view grain's silo dying (or a call timing out) during decoding failed the scene like bad input, spending a
        // retry; with MaxRetries 0 the scene failed for good.
        var filter = new LoseCalls<IViewGrain>(nameof(IViewGrain.DecodeCodes));
        await using var rig = await Rig.StartAsync(redis, "lost-view", filter);
        var client = rig.Client;
        await client.GetGrain<ICoordinatorGrain>("lost-view-batch").SubmitBatch(new BatchRequest([rig.Scene()],
            rig.Output, new JobOptions(Iterations: 30, MaxRetries: 0)));
        var done = await TestCluster.WaitForBatchAsync(client, "lost-view-batch", TimeSpan.FromMinutes(2));
        Assert.Equal(1, filter.Lost);
        var scene = done.Scenes[0];
        Assert.True(scene.Status.State == SceneState.Done, $"{scene.Status.State} {scene.Status.Error}");
        Assert.Equal(0, scene.Retries);
        Assert.True(File.Exists(Path.Combine(scene.Status.OutputDirectory!, "metrics.json")));
    }

    [Fact]
    public async Task A_Second_Run_Of_A_Scene_On_A_Silo_Stops_The_First()
    {
        // A run left by an activation whose start failed after its run began trained on beside the next activation's
        // (the same scene twice on one silo, one of them out of reach of cancel and suspension).
        await using var cluster = new TestCluster(redis, "one-run");
        var silo = await cluster.StartSiloAsync("compute-1", compute: true, slots: 2, checkpointInterval: 20);
        var runner = silo.Services.GetRequiredService<SceneRunner>();
        var root = TestFolders.Create("uniclift-scenes-").FullName;
        var scene = TinyScene.Write(Path.Combine(root, "tiny"));
        var job = new SceneJob("one-run.000.tiny", scene, Path.Combine(root, "out"), new JobOptions(Iterations: 100_000));
        var start = new SceneStatus { SceneId = job.SceneId, State = SceneState.Queued };

        var first = runner.Start(job, start);
        var second = runner.Start(job, start);
        Assert.Equal(SceneRunEnd.Aborted, await first.Completion.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.False(second.Completion.IsCompleted);
        // The ended run leaves the runner's list by a continuation of its completion: a moment later.
        for (int i = 0; i < 100 && runner.SceneIds.Count > 1; i++) await Task.Delay(50);
        Assert.Equal([job.SceneId], runner.SceneIds);
        second.Abort();
        await second.Completion.WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>A cluster of one compute silo whose calls go through <paramref name="filter"/>, a client, and a folder
    /// for the test's scene and outputs.</summary>
    private sealed class Rig(TestCluster cluster, IClusterClient client, string root) : IAsyncDisposable
    {
        public IClusterClient Client => client;
        public string Output => Path.Combine(root, "out");
        public string Scene() => TinyScene.Write(Path.Combine(root, "tiny"));

        public static async Task<Rig> StartAsync(RedisServerFixture redis, string name, IIncomingGrainCallFilter filter, int checkpointInterval = 200)
        {
            var cluster = new TestCluster(redis, name);
            try
            {
                await cluster.StartSiloAsync("compute-1", compute: true, checkpointInterval: checkpointInterval,
                    orleans: silo => silo.ConfigureServices(s => s.AddSingleton(filter)));
                var client = await cluster.ConnectAsync();
                await TestCluster.WaitForComputeSilosAsync(client, 1, TimeSpan.FromSeconds(60));
                return new Rig(cluster, client, TestFolders.Create("uniclift-scenes-").FullName);
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }

        public ValueTask DisposeAsync() => cluster.DisposeAsync();
    }
}
