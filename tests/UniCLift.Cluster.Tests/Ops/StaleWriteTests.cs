namespace UniCLift.Cluster.Tests.Ops;

using System.Text.Json.Nodes;
using StackExchange.Redis;
using UniCLift.Grains;

/// <summary>
/// A grain whose state write timed out (Redis paused) and landed when Redis woke writes again over its own late write,
/// but not over another activation's: after a partition, a stale activation of a grain whose writes had timed out
/// must not write over the state its live activation on the other side stored since. A real silo and a redis-server of
/// the test's own; the batch index grain, whose every Add writes its state; the other activation's write is made
/// in Redis as Orleans' Redis grain storage makes one (a new ETag, the state's JSON with a stamp of its own).
/// </summary>
public sealed class StaleWriteTests
{
    [Fact]
    public async Task A_Write_That_Timed_Out_And_Landed_Is_Its_Own_But_Another_Activations_Write_Is_Kept()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var cluster = new TestCluster(redis.Address, "stale-write");
        await cluster.StartSiloAsync("control", compute: false);
        var client = await cluster.ConnectAsync();
        var index = client.GetGrain<IBatchIndexGrain>(0);
        await index.Add("b1");
        var key = (await redis.KeysAsync()).Single(k => k.Contains("/state/", StringComparison.Ordinal) && k.Contains("batchindex", StringComparison.OrdinalIgnoreCase));
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var db = connection.GetDatabase();

        async Task<List<string>> Stored() =>
            JsonNode.Parse((string)(await db.HashGetAsync(key, "data"))!)!["Batches"]!.AsArray().Select(b => (string)b!).ToList();

        async Task AddUnanswered(string id)
        {
            redis.Pause();
            try { await Assert.ThrowsAnyAsync<Exception>(() => index.Add(id).WaitAsync(TimeSpan.FromSeconds(40))); }
            finally { redis.Resume(); }
            // Redis runs the write the silo gave up on when it wakes.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!(await Stored()).Contains(id))
            {
                Assert.True(DateTime.UtcNow < deadline, $"the write of {id} sent while Redis was paused never landed");
                await Task.Delay(100);
            }
        }

        // 1. Its own late write: the next write goes through, nothing lost.
        await AddUnanswered("b2");
        await index.Add("b3");
        Assert.Equal(["b1", "b2", "b3"], await Stored());

        // 2. Its own late write, then another activation's write: the next write is a conflict, the other's state stays.
        await AddUnanswered("b4");
        var data = JsonNode.Parse((string)(await db.HashGetAsync(key, "data"))!)!;
        data["Batches"]!.AsArray().Add("elsewhere");
        data["WriteStamp"] = Guid.NewGuid().ToString("N");
        await db.HashSetAsync(key, [new HashEntry("etag", Guid.NewGuid().ToString("N")), new HashEntry("data", data.ToJsonString())]);

        await Assert.ThrowsAnyAsync<Exception>(() => index.Add("b5"));
        Assert.Equal(["b1", "b2", "b3", "b4", "elsewhere"], await Stored());
        // The grain goes on from the stored state (the runtime deactivated the activation that conflicted).
        await index.Add("b6");
        Assert.Equal(["b1", "b2", "b3", "b4", "elsewhere", "b6"], await Stored());
    }
}
