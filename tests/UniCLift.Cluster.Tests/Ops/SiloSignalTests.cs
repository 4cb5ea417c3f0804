namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics;
using System.Net;
using UniCLift.Client;
using UniCLift.Grains;
using UniCLift.Grains.Scenes;
using UniCLift.Silo;
using UniCLift.Testing;

/// <summary>
/// SIGTERM (Kubernetes, docker stop) and SIGINT (Ctrl-C) on the real silo program (UniCLift.Silo.dll in a child
/// process, Redis clustering) while it trains: it checkpoints the running scene, stops within seconds and exits 143 / 130.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class SiloSignalTests(RedisServerFixture redis)
{
    private static readonly TimeSpan StopWithin = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(ChildProcess.SIGTERM, 143)]
    [InlineData(ChildProcess.SIGINT, 130)]
    public async Task ASignalledSiloCheckpointsItsRunningSceneAndExitsWithTheSignalsCode(int signal, int expectedExitCode)
    {
        var root = Directory.CreateTempSubdirectory("uniclift-silo-signal-").FullName;
        var checkpoints = Path.Combine(root, "checkpoints");
        var clusterId = $"signal-{Guid.NewGuid():N}";
        var httpPort = TestPorts.Free();
        try
        {
            // No periodic checkpoint: the only one can come from the shutdown.
            await using var silo = ChildProcess.Start(typeof(SiloHost).Assembly.Location,
            [
                $"--urls=http://127.0.0.1:{httpPort}", "--UniCLift:Clustering=redis", $"--UniCLift:Redis={redis.Address}", "--UniCLift:AdvertisedAddress=127.0.0.1",
                $"--UniCLift:ClusterId={clusterId}", $"--UniCLift:ServiceId={clusterId}",
                $"--UniCLift:SiloPort={TestPorts.Free()}", $"--UniCLift:GatewayPort={TestPorts.Free()}",
                "--UniCLift:CheckpointInterval=100000", $"--UniCLift:CheckpointDirectory={checkpoints}",
                $"--UniCLift:SceneRoots={root}", $"--UniCLift:OutputRoots={root}",
            ]);
            using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) })
                await WaitReadyAsync(http, silo, TimeSpan.FromSeconds(90));

            var scene = TinyScene.Write(Path.Combine(root, "tiny"));
            await using var client = await ClusterConnection.ConnectAsync(redis.Address, clusterId: clusterId, serviceId: clusterId);
            var coordinator = client.Client.GetGrain<ICoordinatorGrain>("signal-batch");
            var submitted = await coordinator.SubmitBatch(new BatchRequest([scene], Path.Combine(root, "out"), new JobOptions(Iterations: 100000, MaxRetries: 0)));
            var sceneId = submitted.Scenes[0].SceneId;
            SceneStatus status;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            do
            {
                await Task.Delay(100);
                status = await client.Client.GetGrain<ISceneGrain>(sceneId).GetStatus();
                Assert.True(DateTime.UtcNow < deadline, $"scene not training after 90 s: {status.State} step {status.Step} {status.Error}\n{silo.Output}");
            }
            while (!(status.State == SceneState.Training && status.Step >= 3));
            Assert.Equal(0, status.LastCheckpointStep);

            var clock = Stopwatch.StartNew();
            silo.Signal(signal);
            var code = await silo.WaitForExitAsync(StopWithin);
            Assert.True(code is not null, $"silo still running {StopWithin.TotalSeconds:F0} s after signal {signal}; output:\n{silo.Output}");
            Assert.True(code == expectedExitCode, $"silo exit code {code}, expected {expectedExitCode} after signal {signal}; output:\n{silo.Output}");
            Assert.True(clock.Elapsed < StopWithin);

            // The shutdown checkpoint: at or after the step seen before the signal, and complete (no temporary file).
            var dir = new SceneCheckpoints(checkpoints, sceneId).Directory;
            var files = Directory.Exists(dir) ? Directory.GetFiles(dir) : [];
            Assert.True(files.Length > 0, $"no checkpoint in {dir} after the signal; silo output:\n{silo.Output}");
            Assert.DoesNotContain(files, f => f.EndsWith(".tmp", StringComparison.Ordinal));
            int saved = files.Select(f => int.Parse(Path.GetFileNameWithoutExtension(f)[5..])).Max();
            Assert.True(saved >= status.Step, $"checkpoint at step {saved}, the scene was at step {status.Step}");
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task WaitReadyAsync(HttpClient http, ChildProcess silo, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Assert.False(silo.HasExited, $"silo exited ({(silo.HasExited ? silo.ExitCode : 0)}) before it was ready: {silo.Output}");
            try
            {
                using var ready = await http.GetAsync("/health/ready");
                if (ready.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { /* not listening yet */ }
            catch (TaskCanceledException) { /* slow start under load */ }
            Assert.True(DateTime.UtcNow < deadline, $"silo not ready within {timeout.TotalSeconds:F0} s: {silo.Output}");
            await Task.Delay(250);
        }
    }
}
