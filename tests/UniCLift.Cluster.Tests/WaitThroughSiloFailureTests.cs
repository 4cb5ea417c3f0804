namespace UniCLift.Cluster.Tests;

using System.Diagnostics;
using UniCLift.Client;
using UniCLift.Client.Terminal;
using UniCLift.Grains;

/// <summary>
/// `submit --wait` / `segment` follow a batch through the death of the silo that runs its coordinator: the silo the
/// batch was submitted to is killed while its scene trains; the wait keeps polling (saying so once) while the
/// coordinator and the scene come back on the other silos from their state in Redis, and ends with the batch done.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class WaitThroughSiloFailureTests(RedisServerFixture redis)
{
    [Fact]
    public async Task TheWaitSurvivesTheCoordinatorsSiloDyingAndEndsWithTheBatchDone()
    {
        await using var cluster = new TestCluster(redis, "wait-failover");
        // The only silo when the batch is submitted: it holds the coordinator and the scene.
        var first = await cluster.StartSiloAsync("first", compute: true, checkpointInterval: 20);
        var client = await cluster.ConnectAsync();
        var root = TestFolders.Create("uniclift-wait-").FullName;
        var scene = TinyScene.Write(Path.Combine(root, "tiny"));
        await client.GetGrain<ICoordinatorGrain>("wait-batch").SubmitBatch(
            new BatchRequest([scene], Path.Combine(root, "out"), new JobOptions(Iterations: 400, MaxRetries: 1)));
        await cluster.StartSiloAsync("second", compute: true, checkpointInterval: 20);
        await cluster.StartSiloAsync("third", compute: true, checkpointInterval: 20);

        var output = new StringWriter();
        var error = new StringWriter();
        var console = new CommandConsole(TextWriter.Synchronized(output), TextWriter.Synchronized(error));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var wait = BatchConsole.WaitAsync(client, "wait-batch", console, timeout.Token);

        // Kill the first silo once the scene trains there.
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var s = (await client.GetGrain<ICoordinatorGrain>("wait-batch").GetBatchStatus()).Scenes[0].Status;
            if (s.State == SceneState.Training && s.Step >= 40) break;
            Assert.False(s.State.IsTerminal(), $"the scene ended before the kill: {s.State} {s.Error}");
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "the scene did not start training");
            await Task.Delay(100);
        }
        await cluster.KillSiloAsync(first);

        var status = await wait; // throws if the wait gave up on the first failure
        var log = error.ToString();
        Assert.True(status.IsFinished, $"wait returned an unfinished batch; stderr:\n{log}");
        var end = status.Scenes[0].Status;
        Assert.True(end.State == SceneState.Done, $"{end.State} {end.Error}; stderr:\n{log}");
        Assert.NotEqual("first", end.Silo);
        // Said once when the cluster stopped answering, and once when it answered again.
        if (log.Contains("did not answer"))
        {
            Assert.Single(log.Split('\n'), l => l.Contains("did not answer"));
            Assert.Contains("answers again", log);
        }
        Console.WriteLine($"wait through a silo kill: {clock.Elapsed.TotalSeconds:0.0} s in all; stderr: {log.Trim()}");
    }
}
