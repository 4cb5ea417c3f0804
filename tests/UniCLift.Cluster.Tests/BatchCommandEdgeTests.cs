namespace UniCLift.Cluster.Tests;

using System.Text.Json;
using UniCLift.Client;
using UniCLift.Client.Commands;
using UniCLift.Client.Terminal;
using UniCLift.Compute;
using UniCLift.Grains;

/// <summary>
/// The batch commands at the edges a cluster user meets (found with real processes: a redis-server, silo processes and
/// the console; here on the in-process test cluster, which runs the same coordinator and console code):
/// a cluster of control silos only, where a batch waited in silence ("notsubmitted") for as long as no compute silo
/// joined; a batch whose every scene failed for its input, which `submit --wait` / `watch` / `results` ended with exit
/// code 1 (`segment` exits 2 for the same scene); `cancel` of a finished or already cancelled batch, which printed the
/// same summary as a cancel that stopped scenes; `results --out` into a file, a folder of other files or another batch's
/// results, and an empty batch id.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class BatchCommandEdgeTests(RedisServerFixture redis)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2); // a loaded 2-core machine is slow

    [Fact]
    public async Task ABatchOnControlSilosOnlySaysNoSiloCanTrainIt_AndStartsWhenAComputeSiloJoins()
    {
        await using var cluster = new TestCluster(redis, "edge-nocompute");
        await cluster.StartSiloAsync("control", compute: false);
        var client = await cluster.ConnectAsync();
        var root = TestFolders.Create("uniclift-edge-").FullName;
        var scene = TinyScene.Write(Path.Combine(root, "tiny"));
        await client.GetGrain<ICoordinatorGrain>("edge-nocompute").SubmitBatch(
            new BatchRequest([scene], Path.Combine(root, "out"), new JobOptions(Iterations: 30)));

        var (console, output, error) = Capture();
        using var timeout = new CancellationTokenSource(Patience);
        var wait = BatchConsole.WaitAsync(client, "edge-nocompute", console, timeout.Token);
        await Until(() => error.ToString().Contains("no silo in the cluster can train"), "the wait to say that no silo can train the batch");
        Assert.False(wait.IsCompleted);
        Assert.Contains("edge-nocompute.000.tiny: waiting", output.ToString()); // not "notsubmitted"
        Assert.Single(error.ToString().Split('\n'), l => l.Contains("no silo in the cluster can train")); // said once

        // `status BATCH` says it too.
        var status = await client.GetGrain<ICoordinatorGrain>("edge-nocompute").GetBatchStatus();
        Assert.Contains("every silo is a control silo", await BatchConsole.NoComputeSiloAsync(client, status));

        // A compute silo joins: the batch starts and finishes, and the wait says so.
        await cluster.StartSiloAsync("compute", compute: true);
        var final = await wait;
        Assert.True(final.Done == 1, $"{final.Scenes[0].Status.State} {final.Scenes[0].Status.Error}");
        Assert.Contains("a compute silo has joined", error.ToString());
        Assert.Null(await BatchConsole.NoComputeSiloAsync(client, final));

        // cancel of the finished batch: nothing is cancelled, and the command says so.
        (console, _, error) = Capture();
        Assert.Equal(ExitCodes.Ok, await CancelCommand.RunAsync(client, "edge-nocompute", console));
        Assert.Contains("had already finished (1 done, 0 failed of 1); nothing was cancelled", error.ToString());
        Assert.False((await client.GetGrain<ICoordinatorGrain>("edge-nocompute").GetBatchStatus()).Cancelled);

        // A long batch cancelled twice: the second cancel says it already was.
        await client.GetGrain<ICoordinatorGrain>("edge-long").SubmitBatch(
            new BatchRequest([scene], Path.Combine(root, "long"), new JobOptions(Iterations: 100_000)));
        // `results` of it while it runs: nothing done yet is collected, and the exit code says the batch is not finished
        // (it was 0, as for a whole collection).
        (console, _, error) = Capture();
        Assert.Equal(ExitCodes.BatchRunning, await ResultsCommand.RunAsync(client, "edge-long", Path.Combine(root, "collected-early"), console));
        Assert.Contains("batch edge-long is still running: collected the 0 of 1 scenes done so far", error.ToString());
        Assert.True(File.Exists(Path.Combine(root, "collected-early", "summary.json")));
        (console, _, error) = Capture();
        Assert.Equal(ExitCodes.Ok, await CancelCommand.RunAsync(client, "edge-long", console));
        Assert.Contains("batch edge-long cancelled: 1 of 1 scenes stopped", error.ToString());
        (console, _, error) = Capture();
        Assert.Equal(ExitCodes.Ok, await CancelCommand.RunAsync(client, "edge-long", console));
        Assert.Contains("batch edge-long was already cancelled", error.ToString());

        // Every scene failed for its input (a scene folder that does not exist): exit code 2, as `segment`'s.
        await client.GetGrain<ICoordinatorGrain>("edge-bad").SubmitBatch(
            new BatchRequest([Path.Combine(root, "no-such-scene")], Path.Combine(root, "bad"), new JobOptions(Iterations: 30)));
        (console, _, error) = Capture();
        using var timeout2 = new CancellationTokenSource(Patience);
        var bad = await BatchConsole.WaitAsync(client, "edge-bad", console, timeout2.Token);
        Assert.Equal(1, bad.Failed);
        Assert.Equal(ExitCodes.UserError, BatchConsole.ExitCode(bad, console));
        Assert.Contains("does not exist", error.ToString());
    }

    [Fact]
    public void ResultsRefusesATargetThatIsAFileOrHoldsOtherThings_AsBadInputNamingOut()
    {
        var root = TestFolders.Create("uniclift-results-out-").FullName;
        var status = new BatchStatus("b-this", [], DateTime.UtcNow, DateTime.UtcNow, false, Path.Combine(root, "output-root"));

        var file = Path.Combine(root, "a-file");
        File.WriteAllText(file, "x");
        AssertBadInput(() => ResultsCommand.Collect(status, file), "is a file");

        var foreign = Directory.CreateDirectory(Path.Combine(root, "foreign")).FullName;
        File.WriteAllText(Path.Combine(foreign, "keep.txt"), "mine");
        AssertBadInput(() => ResultsCommand.Collect(status, foreign), "already holds other files");
        Assert.False(File.Exists(Path.Combine(foreign, "summary.json")));

        var other = Directory.CreateDirectory(Path.Combine(root, "other")).FullName;
        ResultsCommand.Collect(status with { BatchId = "b-other" }, other);
        AssertBadInput(() => ResultsCommand.Collect(status, other), "already holds the results of batch b-other");

        // What stays allowed: a new folder, the same collection again, the batch's own output root.
        var target = Path.Combine(root, "new");
        ResultsCommand.Collect(status, target);
        ResultsCommand.Collect(status, target);
        Assert.Equal("b-this", JsonDocument.Parse(File.ReadAllText(Path.Combine(target, "summary.json"))).RootElement.GetProperty("batch").GetString());
        Directory.CreateDirectory(status.OutputRoot);
        File.WriteAllText(Path.Combine(status.OutputRoot, "scene-output"), "x");
        ResultsCommand.Collect(status, status.OutputRoot);

        // Under a file: cannot be created, said as bad input naming --out.
        AssertBadInput(() => ResultsCommand.Collect(status, Path.Combine(file, "sub")), "cannot be written");

        AssertBadInput(() => BatchConsole.BatchId(" "), "the batch id is empty");
        Assert.Equal("b1", BatchConsole.BatchId(" b1\n"));
        Directory.Delete(root, recursive: true);
    }

    private static void AssertBadInput(Action action, string expected)
    {
        var e = Assert.ThrowsAny<Exception>(action);
        Assert.True(FailurePolicy.IsBadInput(e), $"{e.GetType().Name}: {e.Message}");
        Assert.Contains(expected, FailurePolicy.Describe(e));
        Assert.DoesNotContain("Exception", FailurePolicy.Describe(e));
    }

    private static (CommandConsole Console, StringWriter Output, StringWriter Error) Capture()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        return (new CommandConsole(TextWriter.Synchronized(output), TextWriter.Synchronized(error)), output, error);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"waited {Patience} for {what}");
            await Task.Delay(100);
        }
    }
}
