namespace UniCLift.Cluster.Tests;

using UniCLift.Grains;

/// <summary>Two real silos and a client clustered through a real Redis; nothing here needs the trainer.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisClusterTests(RedisServerFixture redis)
{
    [Fact]
    public async Task SceneGrainsActivateOnlyOnTheComputeSilo()
    {
        await using var cluster = new TestCluster(redis, "placement");
        var compute = await cluster.StartSiloAsync("compute-1", compute: true);
        var plain = await cluster.StartSiloAsync("plain-1", compute: false);
        var client = await cluster.ConnectAsync();

        // Both silos joined through Redis membership.
        var hosts = await client.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: true);
        Assert.Equal(new HashSet<string> { "compute-1", "plain-1" }, hosts.Select(h => h.SiloName).ToHashSet());

        var placed = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => client.GetGrain<ISceneGrain>($"placement-{i}").GetSilo()));
        Assert.All(placed, s => Assert.Equal(TestCluster.SiloName(compute), s));
        Assert.NotEqual(TestCluster.SiloName(compute), TestCluster.SiloName(plain));

        var keys = await redis.DumpAsync();
        Assert.Contains(keys, k => (k.Key + k.Value).Contains(cluster.ClusterId) && k.Value.Contains("compute-1") && k.Value.Contains("plain-1"));
    }

    [Fact]
    public async Task BadInputFailsEachSceneClearlyAndTheBatchSummaryOutlivesTheSilos()
    {
        await using var cluster = new TestCluster(redis, "badinput");
        var computeSilo = await cluster.StartSiloAsync("compute-1", compute: true);
        var plainSilo = await cluster.StartSiloAsync("plain-1", compute: false);
        var client = await cluster.ConnectAsync();
        var missing = Path.Combine(Path.GetTempPath(), $"uniclift-missing-{Guid.NewGuid():N}");
        var aFile = Path.GetTempFileName();
        var output = TestFolders.Create("uniclift-out-").FullName;

        var submitted = await client.GetGrain<ICoordinatorGrain>("bad-batch").SubmitBatch(
            new BatchRequest([missing, aFile], output, new JobOptions(Iterations: 10, MaxRetries: 1)));
        Assert.Equal(2, submitted.Scenes.Count);
        var done = await TestCluster.WaitForBatchAsync(client, "bad-batch", TimeSpan.FromSeconds(60));

        Assert.All(done.Scenes, s =>
        {
            Assert.Equal(SceneState.Failed, s.Status.State);
            Assert.Contains(s.SceneDirectory, s.Status.Error);
            Assert.Contains("does not exist", s.Status.Error);
            // Bad input (a missing folder, a file that is no scene) fails the same way again: not retried despite MaxRetries = 1.
            Assert.True(s.Status.BadInput);
            Assert.Equal(0, s.Retries);
            Assert.Equal(0, s.Status.Attempt);
        });

        // Grain state lives in Redis under this service id.
        var keys = await redis.DumpAsync();
        Assert.Contains(keys, k => k.Key.Contains(cluster.ClusterId) && k.Key.Contains("bad-batch") && !k.Key.Contains(".0"));
        Assert.Contains(keys, k => k.Key.Contains(cluster.ClusterId) && k.Key.Contains(done.Scenes[0].SceneId));

        // Restart: every silo goes away, new ones come; the summary and scene states come back from Redis.
        await cluster.StopSiloAsync(plainSilo);
        await cluster.StopSiloAsync(computeSilo);
        await cluster.StartSiloAsync("compute-2", compute: true);
        var client2 = await cluster.ConnectAsync();
        var again = await client2.GetGrain<ICoordinatorGrain>("bad-batch").GetBatchStatus();
        Assert.Equal(done.FinishedUtc, again.FinishedUtc);
        Assert.Equal(done.Scenes.Select(s => s.Status.Error), again.Scenes.Select(s => s.Status.Error));
        var scene = await client2.GetGrain<ISceneGrain>(done.Scenes[1].SceneId).GetStatus();
        Assert.Equal(SceneState.Failed, scene.State);
        Assert.Contains(aFile, scene.Error);
        Assert.Contains("bad-batch", await client2.GetGrain<IBatchIndexGrain>(0).List());
        File.Delete(aFile);
    }

    [Fact]
    public async Task QueuedSceneKeepsAReminderInRedisAndCancelEndsItWithoutTakingASlot()
    {
        await using var cluster = new TestCluster(redis, "cancel");
        // The silo reports its free slot once and not again during the test, so the coordinator starts the scene on it
        // and the scene queues behind the slot the test takes. (With 200 ms reports a report of the busy slot could
        // reach the coordinator first on a loaded machine: the scene then rightly waits in the batch, NotSubmitted.)
        var compute = await cluster.StartSiloAsync("compute-1", compute: true, slots: 1,
            configure: o => o.LoadReportInterval = TimeSpan.FromSeconds(60));
        var client = await cluster.ConnectAsync();
        await TestCluster.WaitForComputeSilosAsync(client, 1, TimeSpan.FromSeconds(30));
        var slots = TestCluster.Slots(compute);
        using var held = await slots.AcquireAsync(CancellationToken.None); // the silo's only slot is busy
        var sceneDir = TestFolders.Create("uniclift-scene-").FullName;
        var output = TestFolders.Create("uniclift-out-").FullName;

        var status = await client.GetGrain<ICoordinatorGrain>("cancel-batch").SubmitBatch(
            new BatchRequest([sceneDir], output, new JobOptions(Iterations: 10)));
        var sceneId = status.Scenes[0].SceneId;
        var scene = client.GetGrain<ISceneGrain>(sceneId);
        Assert.Equal(SceneState.Queued, (await scene.GetStatus()).State);
        Assert.Equal(1, slots.Waiting);

        var keys = await redis.DumpAsync();
        Assert.Contains(keys, k => (k.Key + k.Value).Contains("scene-supervision") && (k.Key + k.Value).Contains(sceneId));
        Assert.Contains(keys, k => (k.Key + k.Value).Contains("batch-supervision") && (k.Key + k.Value).Contains("cancel-batch"));

        var cancelled = await client.GetGrain<ICoordinatorGrain>("cancel-batch").Cancel();
        Assert.True(cancelled.Cancelled);
        Assert.Equal(SceneState.Cancelled, cancelled.Scenes[0].Status.State);
        Assert.True(cancelled.IsFinished);
        Assert.Equal(0, slots.Waiting);
        Assert.Equal(1, slots.TotalGranted); // only the test's own lease

        keys = await redis.DumpAsync();
        Assert.DoesNotContain(keys, k => (k.Key + k.Value).Contains("scene-supervision") && (k.Key + k.Value).Contains(sceneId));
    }
}
