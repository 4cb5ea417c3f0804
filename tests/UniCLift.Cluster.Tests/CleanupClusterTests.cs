namespace UniCLift.Cluster.Tests;

using UniCLift.Grains;

/// <summary>What a cluster keeps and for how long: the batch index's retention and the bound on retries.</summary>
[Collection(RedisCollection.Name)]
public sealed class CleanupClusterTests(RedisServerFixture redis)
{
    [Fact]
    public async Task TheBatchIndexKeepsTheNewestBatchesAndDeletesTheStateOfThoseItForgets()
    {
        await using var cluster = new TestCluster(redis, "retention");
        await cluster.StartSiloAsync("compute-1", compute: true, configure: o => o.BatchesToKeep = 2);
        await cluster.StartSiloAsync("plain-1", compute: false, configure: o => o.BatchesToKeep = 2);
        var client = await cluster.ConnectAsync();
        var output = TestFolders.Create("uniclift-out-").FullName;
        string[] ids = ["keep-old", "keep-mid", "keep-new"];
        string? oldScene = null;
        string? oldCheckpoints = null;
        foreach (var id in ids)
        {
            // The oldest a scene that trains (to Done, keeping one checkpoint); the others fail at once (no such folder).
            var scene = id == "keep-old" ? TinyScene.Write(Path.Combine(output, "tiny")) : Path.Combine(Path.GetTempPath(), $"uniclift-missing-{Guid.NewGuid():N}");
            await client.GetGrain<ICoordinatorGrain>(id).SubmitBatch(new BatchRequest([scene], Path.Combine(output, id), new JobOptions(Iterations: 10, MaxRetries: 0)));
            var done = await TestCluster.WaitForBatchAsync(client, id, TimeSpan.FromSeconds(60));
            oldScene ??= done.Scenes[0].SceneId;
            if (id == "keep-old")
            {
                Assert.Equal(SceneState.Done, done.Scenes[0].Status.State);
                // Its summary and its scene's state are in Redis while the index holds it, and its checkpoint on the volume.
                var before = await redis.DumpAsync();
                Assert.Contains(before, k => k.Key.Contains(cluster.ClusterId) && k.Key.Contains(oldScene));
                oldCheckpoints = new UniCLift.Grains.Scenes.SceneCheckpoints(cluster.CheckpointDirectory, oldScene).Directory;
                Assert.Single(Directory.GetFiles(oldCheckpoints, "ckpt-*.bin"));
            }
        }

        Assert.Equal(["keep-mid", "keep-new"], await client.GetGrain<IBatchIndexGrain>(0).List());
        var gone = await Assert.ThrowsAnyAsync<Exception>(() => client.GetGrain<ICoordinatorGrain>("keep-old").GetBatchStatus());
        Assert.Contains("no batch with id 'keep-old'", gone.Message);
        var keys = await redis.DumpAsync();
        Assert.DoesNotContain(keys, k => k.Key.Contains(cluster.ClusterId) && k.Key.Contains("keep-old"));
        Assert.Contains(keys, k => k.Key.Contains(cluster.ClusterId) && k.Key.Contains("keep-new"));
        Assert.Equal(SceneState.Failed, (await client.GetGrain<ICoordinatorGrain>("keep-mid").GetBatchStatus()).Scenes[0].Status.State);
        // The forgotten scene's checkpoint went with it (nothing names it any more; it stayed on the volume for ever).
        Assert.False(Directory.Exists(oldCheckpoints), $"{oldCheckpoints} is left");
    }

    [Fact]
    public async Task ABatchAskingForMoreThanTenRetriesIsRefusedNamingTheValue()
    {
        await using var cluster = new TestCluster(redis, "retries");
        await cluster.StartSiloAsync("compute-1", compute: true);
        var client = await cluster.ConnectAsync();
        var request = new BatchRequest(["/nowhere"], Path.GetTempPath(), new JobOptions(Iterations: 10, MaxRetries: 11));
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.GetGrain<ICoordinatorGrain>("too-many").SubmitBatch(request));
        Assert.Contains("max retries must be between 0 and 10, got 11", refused.Message);
        Assert.Throws<ArgumentException>(() => request.Options.Validate());
        Assert.DoesNotContain("too-many", await client.GetGrain<IBatchIndexGrain>(0).List());
    }
}
