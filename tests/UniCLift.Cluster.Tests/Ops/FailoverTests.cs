namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orleans.Configuration;
using StackExchange.Redis;
using UniCLift.Client;
using UniCLift.Grains;
using UniCLift.Grains.Hosting;

/// <summary>
/// Failover at production settings (issue #19): three real silo processes (the silo program, as k8s/base runs it: two
/// compute silos and one control silo) cluster through a real redis-server with the membership, supervision and load
/// report settings a deployed silo has (nothing tightened, unlike <see cref="TestCluster"/>). A scene trains on one
/// compute silo; that silo's process is killed with SIGKILL; the test measures how long the membership takes to
/// declare it dead (its row in the Redis membership table) and how long until the scene trains again on the other
/// compute silo from its last checkpoint, and how many steps were lost.
/// </summary>
public sealed class FailoverTests
{
    /// <summary>The issue's bound: a scene trains again on another silo within this time of its silo's kill -9.</summary>
    public static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(30);
    private const int CheckpointInterval = 20;

    [Fact]
    public async Task AKilledComputeSilosSceneTrainsAgainElsewhereWithin30Seconds_AtProductionSettings()
    {
        var redis = new RedisServerFixture(); // a server of its own: the silos use the production cluster id "uniclift"
        await redis.InitializeAsync();
        var root = Directory.CreateTempSubdirectory("uniclift-failover-").FullName;
        var silos = new Dictionary<string, ChildSilo>();
        ClusterConnection? connection = null;
        try
        {
            string[] Args(string name, bool compute) =>
            [
                "--UniCLift:Clustering=redis", $"--UniCLift:Redis={redis.Address}", "--UniCLift:AdvertisedAddress=127.0.0.1", $"--UniCLift:SiloName={name}",
                "--UniCLift:Kubernetes=false", $"--UniCLift:Compute={(compute ? "true" : "false")}",
                $"--UniCLift:TrainingSlots={(compute ? 1 : 0)}", "--UniCLift:Device=cpu",
                $"--UniCLift:CheckpointInterval={CheckpointInterval}", "--UniCLift:CheckpointMinInterval=00:00:00", $"--UniCLift:CheckpointDirectory={Path.Combine(root, "checkpoints")}",
                $"--UniCLift:SceneRoots={root}", $"--UniCLift:OutputRoots={root}",
                // Nothing else: ClusterMembershipOptions, SupervisionInterval, LoadReportInterval and ReminderPeriod
                // are what a deployed silo runs with.
            ];
            // The worst case: the batch is submitted while compute-a is the only silo, so its coordinator and its
            // scene both live there and both die with it; the other silos join while the scene trains.
            silos["compute-a"] = await ChildSilo.StartAsync(Args("compute-a", true));
            connection = await ClusterConnection.ConnectAsync(redis.Address);
            var client = connection.Client;
            await TestCluster.WaitForComputeSilosAsync(client, 1, TimeSpan.FromSeconds(60));
            var scene = TinyScene.Write(Path.Combine(root, "tiny"));
            var coordinator = client.GetGrain<ICoordinatorGrain>("failover-batch");
            await coordinator.SubmitBatch(new BatchRequest([scene], Path.Combine(root, "out"),
                new JobOptions(Iterations: 100_000, MaxRetries: 0)));
            var others = await Task.WhenAll(ChildSilo.StartAsync(Args("compute-b", true)), ChildSilo.StartAsync(Args("control", false)));
            silos["compute-b"] = others[0];
            silos["control"] = others[1];
            await TestCluster.WaitForComputeSilosAsync(client, 2, TimeSpan.FromSeconds(60));

            // Trains on compute-a, has written checkpoints (the state in Redis names them) and gone some steps beyond.
            var clock = Stopwatch.StartNew();
            SceneStatus before;
            while (true)
            {
                before = (await coordinator.GetBatchStatus()).Scenes[0].Status;
                if (before.State == SceneState.Training && before.LastCheckpointStep >= 2 * CheckpointInterval
                    && before.Step > before.LastCheckpointStep) break;
                Assert.False(before.State.IsTerminal(), $"the scene ended before the kill: {before.State} {before.Error}");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"the scene did not train: {before.State} step {before.Step}");
                await Task.Delay(200);
            }
            const string victim = "compute-a", survivor = "compute-b";
            Assert.Equal(victim, before.Silo);
            var sceneId = (await coordinator.GetBatchStatus()).Scenes[0].SceneId;
            before = await client.GetGrain<ISceneGrain>(sceneId).GetStatus(); // the latest step before the kill

            // kill -9 of the training silo's process (Process.Kill sends SIGKILL): no checkpoint, no membership update.
            // From here on nobody calls a grain (no `uniclift watch`): the cluster fails over by itself. The test only
            // watches the membership table in Redis, the survivor's log and its /metrics.
            var killed = Stopwatch.StartNew();
            await silos[victim].DisposeAsync();
            silos.Remove(victim);

            TimeSpan? declaredDead = null, resumed = null, trainsAgain = null;
            int? resumedFrom = null;
            var resumeLine = new Regex($@"Scene {Regex.Escape(sceneId)} resumes on {survivor} \(state \w+, checkpoint step (\d+)\)");
            while (killed.Elapsed < TimeSpan.FromSeconds(120) && trainsAgain is null)
            {
                if (declaredDead is null && await MembershipStatusAsync(redis, victim) == "Dead") declaredDead = killed.Elapsed;
                if (resumed is null && resumeLine.Match(silos[survivor].Output) is { Success: true } m)
                {
                    resumed = killed.Elapsed;
                    resumedFrom = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                }
                if (resumed is not null && (await silos[survivor].ScrapeAsync()).Find("uniclift_training_iterations_total").Sum(x => x.Value) > 0)
                    trainsAgain = killed.Elapsed;
                await Task.Delay(100);
            }
            // The test's client knew only compute-a's gateway (the one silo when it connected): it finds the others
            // on its next gateway list refresh, so its first calls after the kill may fail.
            SceneStatus after;
            while (true)
            {
                try { after = (await coordinator.GetBatchStatus().WaitAsync(TimeSpan.FromSeconds(10))).Scenes[0].Status; break; }
                catch (Exception e) when (e is TimeoutException or OrleansException && killed.Elapsed < TimeSpan.FromSeconds(180)) { await Task.Delay(500); }
            }
            var membership = new ClusterMembershipOptions();
            var silo = new UniCLiftSiloOptions();
            Console.WriteLine(
                $"failover at production settings (ProbeTimeout {membership.ProbeTimeout.TotalSeconds} s, NumMissedProbesLimit {membership.NumMissedProbesLimit}, " +
                $"NumVotesForDeathDeclaration {membership.NumVotesForDeathDeclaration}, NumProbedSilos {membership.NumProbedSilos}, " +
                $"SupervisionInterval {silo.SupervisionInterval.TotalSeconds} s, LoadReportInterval {silo.LoadReportInterval.TotalSeconds} s): " +
                $"kill -9 of {victim} (the scene's and the coordinator's silo) at step {before.Step} (checkpoint {before.LastCheckpointStep}); " +
                $"declared dead after {Seconds(declaredDead)}; resumes on {survivor} after {Seconds(resumed)} from checkpoint step {resumedFrom?.ToString() ?? "?"}; " +
                $"trains again after {Seconds(trainsAgain)}; steps lost {(resumedFrom is { } f ? Math.Max(0, before.Step - f).ToString() : "?")} " +
                $"(checkpoint interval {CheckpointInterval})");

            Assert.True(declaredDead is not null, $"{victim} was not declared dead in the membership table within 120 s");
            Assert.True(trainsAgain is not null, $"the scene did not train again on {survivor} within 120 s of the kill; survivor's log:\n{silos[survivor].Output}");
            Assert.Equal(survivor, after.Silo);
            Assert.True(after.Resumes >= 1, "the status counts no resume");
            // Nothing checkpointed before the kill is lost: the scene resumed from the newest checkpoint it reported
            // (the state in Redis is current), so what is lost is at most the steps since, under one interval.
            Assert.True(resumedFrom >= before.LastCheckpointStep,
                $"resumed from {resumedFrom}, but checkpoint {before.LastCheckpointStep} was reported before the kill");
            Assert.True(before.Step - resumedFrom <= CheckpointInterval, $"lost {before.Step - resumedFrom} steps (step {before.Step}, resumed from {resumedFrom})");
            Assert.True(trainsAgain < FailoverBound, $"failover took {Seconds(trainsAgain)}, more than {FailoverBound.TotalSeconds} s");
            // While the scene was unreachable its coordinator said so once per silo, on one line (it was a warning with
            // the whole exception at every poll).
            foreach (var (name, s) in silos)
                Assert.True(s.Output.Split('\n').Count(l => l.Contains($"scene {sceneId} unreachable", StringComparison.Ordinal)) <= 1,
                    $"{name} said the scene was unreachable more than once:\n{s.Output}");

            await coordinator.Cancel();
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync();
            foreach (var s in silos.Values) await s.DisposeAsync();
            await redis.DisposeAsync();
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private static string Seconds(TimeSpan? t) => t is { } v ? $"{v.TotalSeconds:0.0} s" : "never";

    /// <summary>The silo's status in the Redis membership table (Orleans.Clustering.Redis: a hash "{service}/members/{cluster}"
    /// with one JSON row per silo), or null while it has no row.</summary>
    private static async Task<string?> MembershipStatusAsync(RedisServerFixture redis, string siloName)
    {
        foreach (var row in await redis.Connection.GetDatabase().HashGetAllAsync("uniclift/members/uniclift"))
        {
            if (row.Name == "Version") continue;
            using var json = JsonDocument.Parse((string)row.Value!);
            if (!json.RootElement.TryGetProperty("SiloName", out var name) || name.GetString() != siloName) continue;
            var status = json.RootElement.GetProperty("Status");
            return status.ValueKind == JsonValueKind.Number ? ((SiloStatus)status.GetInt32()).ToString() : status.GetString();
        }
        return null;
    }
}
