namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics;
using System.Text.RegularExpressions;
using UniCLift.Client;
using UniCLift.Grains;
using UniCLift.Testing;

/// <summary>
/// The console killed and reattached (issue #19), all real processes: a redis-server, a silo process (the silo program
/// on Redis clustering) and the `uniclift` console. `submit --wait` is killed with SIGKILL while its scene trains; the
/// batch goes on in the cluster; `uniclift watch BATCH` in a new process, its output redirected (not a terminal),
/// picks the batch up, logs its progress and exits 0 once it is done, with the scene's outputs written.
/// </summary>
public sealed partial class ClientReattachTests
{
    private const int SIGKILL = 9;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120); // a loaded 2-core machine is slow

    [Fact]
    public async Task AKilledSubmitWaitLeavesTheBatchRunning_AndWatchInANewProcessFollowsItToTheEnd()
    {
        var redis = new RedisServerFixture(); // a server of its own: the console uses the default cluster id "uniclift"
        await redis.InitializeAsync();
        var root = Directory.CreateTempSubdirectory("uniclift-reattach-").FullName;
        ChildSilo? silo = null;
        ClusterConnection? connection = null;
        try
        {
            silo = await ChildSilo.StartAsync(
            [
                "--UniCLift:Clustering=redis", $"--UniCLift:Redis={redis.Address}", "--UniCLift:AdvertisedAddress=127.0.0.1", "--UniCLift:SiloName=compute",
                "--UniCLift:Kubernetes=false", "--UniCLift:Compute=true", "--UniCLift:Device=cpu",
                "--UniCLift:CheckpointInterval=50", "--UniCLift:CheckpointMinInterval=00:00:00", $"--UniCLift:CheckpointDirectory={Path.Combine(root, "checkpoints")}",
                $"--UniCLift:SceneRoots={root}", $"--UniCLift:OutputRoots={root}",
            ]);
            var scene = TinyScene.Write(Path.Combine(root, "tiny"));
            var output = Path.Combine(root, "out");
            var clock = Stopwatch.StartNew();

            // 1. submit --wait, its output redirected; killed (SIGKILL: no handler runs, nothing cancels the batch)
            //    once it has logged the scene training.
            string batchId;
            int stepAtKill;
            await using (var submit = ChildProcess.Start(RepoPaths.ClientDll(),
                ["submit", scene, "--out", output, "--iterations", "600", "--redis", redis.Address, "--wait"], root))
            {
                batchId = (await submit.WaitForLineAsync(l => BatchId().IsMatch(l), "the batch id", Patience)).Trim();
                var training = await submit.WaitForLineAsync(l => l.Contains(": training, step "), "a training line", Patience);
                stepAtKill = Step(training);
                submit.Signal(SIGKILL);
                Assert.Equal(128 + SIGKILL, await submit.WaitForExitAsync(TimeSpan.FromSeconds(10)));
                Console.WriteLine($"submit --wait killed at {clock.Elapsed.TotalSeconds:0.0} s (logged step {stepAtKill}); its output:\n{submit.Output.TrimEnd()}");
                // It said how to follow the batch again.
                Assert.Contains($"`uniclift watch {batchId}` follows it again", submit.Output);
            }

            // 2. The batch goes on without its console: not cancelled, the scene still trains (or is further).
            connection = await ClusterConnection.ConnectAsync(redis.Address);
            var coordinator = connection.Client.GetGrain<ICoordinatorGrain>(batchId);
            var afterKill = await coordinator.GetBatchStatus();
            Assert.False(afterKill.Cancelled, "killing the console cancelled the batch");
            Assert.NotEqual(SceneState.Cancelled, afterKill.Scenes[0].Status.State);
            var goesOn = Stopwatch.StartNew();
            while (true)
            {
                var s = (await coordinator.GetBatchStatus()).Scenes[0].Status;
                if (s.Step > stepAtKill || s.State.IsTerminal()) break;
                Assert.True(goesOn.Elapsed < Patience, $"the scene did not go on after the console's kill: {s.State} step {s.Step}");
                await Task.Delay(200);
            }

            // 3. watch BATCH in a new process, output redirected: resumes following, logs progress, exits 0 when done.
            await using var watch = ChildProcess.Start(RepoPaths.ClientDll(), ["watch", batchId, "--redis", redis.Address], root);
            var exit = await watch.WaitForExitAsync(Patience);
            var log = watch.Output;
            Console.WriteLine($"watch {batchId} exited {exit?.ToString() ?? "(still running)"} at {clock.Elapsed.TotalSeconds:0.0} s; its output:\n{log.TrimEnd()}");
            Assert.True(exit == 0, $"watch exited {exit?.ToString() ?? "(still running)"}:\n{log}");
            // A progress line per state: what it found (training further along, or later), then done; and the summary.
            var sceneId = afterKill.Scenes[0].SceneId;
            var lines = log.Split('\n').Select(l => l.TrimEnd()).ToList();
            Assert.Contains(lines, l => l.StartsWith($"{sceneId}: ") && !l.Contains(": done"));
            Assert.Contains(lines, l => l.StartsWith($"{sceneId}: done, step 600/600"));
            Assert.Contains($"batch {batchId}: 1 done, 0 failed of 1, finished in", log);
            // The summary table in a log: one line per scene, whole paths (not wrapped at 80 columns).
            Assert.Contains(lines, l => l.Contains(scene) && l.Contains("Done") && l.Contains(Path.Combine(output, "tiny")));
            Assert.DoesNotContain("\u001b[", log); // no escape sequences in a log
            var progress = lines.Where(l => l.StartsWith($"{sceneId}: training, step ")).Select(Step).ToList();
            Assert.All(progress, s => Assert.True(s >= stepAtKill, $"watch showed step {s}, before the {stepAtKill} logged before the kill"));

            // 4. The outputs are there.
            var end = (await coordinator.GetBatchStatus()).Scenes[0].Status;
            Assert.Equal(SceneState.Done, end.State);
            Assert.NotNull(end.OutputDirectory);
            Assert.True(File.Exists(Path.Combine(end.OutputDirectory!, "model.ply")), $"no model.ply in {end.OutputDirectory}");
            Assert.True(File.Exists(Path.Combine(end.OutputDirectory!, "metrics.json")), $"no metrics.json in {end.OutputDirectory}");

            // 5. Watching a finished batch prints its end at once and exits 0 as well.
            await using var again = ChildProcess.Start(RepoPaths.ClientDll(), ["watch", batchId, "--redis", redis.Address], root);
            Assert.Equal(0, await again.WaitForExitAsync(Patience));
            Assert.Contains($"batch {batchId}: 1 done, 0 failed of 1", again.Output);

            // 6. A batch the index lists whose own state is gone (Redis restarted empty and the index was written back
            //    from memory): `status` lists it as lost and every other batch as before (one lost batch was exit 2 and
            //    no list at all).
            await connection.Client.GetGrain<IBatchIndexGrain>(0).Add("b20261207-000000-dead");
            await using var list = ChildProcess.Start(RepoPaths.ClientDll(), ["status", "--redis", redis.Address], root);
            Assert.Equal(0, await list.WaitForExitAsync(Patience));
            Assert.Contains($"{batchId}  1/1 done, 0 failed, finished", list.Output);
            Assert.Contains("b20261207-000000-dead  state lost", list.Output);
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync();
            if (silo is not null) await silo.DisposeAsync();
            await redis.DisposeAsync();
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The step in a progress line: "SCENE: training, step 120/600, ...".</summary>
    private static int Step(string line) => int.Parse(StepOf().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^b\d{8}-\d{6}-[0-9a-f]{4}\s*$")]
    private static partial Regex BatchId();

    [GeneratedRegex(@"step (\d+)/")]
    private static partial Regex StepOf();
}
