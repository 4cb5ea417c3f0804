namespace UniCLift.Cluster.Tests;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using UniCLift.Client;
using UniCLift.Grains;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Scenes;

/// <summary>Real silo hosts (each with its own ports) and a real client, clustered through one Redis, in this process.</summary>
public sealed class TestCluster(string redisAddress, string name) : IAsyncDisposable
{
    public TestCluster(RedisServerFixture redis, string name) : this(redis.Address, name) { }

    private readonly List<IHost> silos = [];
    private readonly List<ClusterConnection> clients = [];

    public string ClusterId { get; } = $"{name}-{Guid.NewGuid():N}";
    public string CheckpointDirectory { get; } = Directory.CreateTempSubdirectory("uniclift-ckpt-").FullName;
    /// <summary>The silos' data roots: the tests write their scenes and results into temporary folders.</summary>
    public List<string> SceneRoots { get; } = [Path.GetTempPath()];
    public List<string> OutputRoots { get; } = [Path.GetTempPath()];

    /// <param name="configure">Runs last on the silo's options (a device, cleanup settings).</param>
    public async Task<IHost> StartSiloAsync(string siloName, bool compute, int slots = 1, int checkpointInterval = 200,
        Action<UniCLiftSiloOptions>? configure = null, Action<ISiloBuilder>? orleans = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddUniCLiftSilo(o =>
        {
            o.Clustering = "redis";
            o.Redis = redisAddress;
            o.ClusterId = ClusterId;
            o.ServiceId = ClusterId;
            o.SiloName = siloName;
            o.Compute = compute;
            o.TrainingSlots = slots;
            o.SiloPort = TestPorts.Free();
            o.GatewayPort = TestPorts.Free();
            o.AdvertisedAddress = "127.0.0.1"; // loopback only: nothing of a test cluster is reachable from the network
            o.CheckpointDirectory = CheckpointDirectory;
            o.SceneRoots = [.. SceneRoots];
            o.OutputRoots = [.. OutputRoots];
            o.CheckpointInterval = checkpointInterval;
            o.CheckpointMinInterval = TimeSpan.Zero; // tiny scenes step in milliseconds: checkpoint by iterations alone
            o.SupervisionInterval = TimeSpan.FromMilliseconds(500);
            o.LoadReportInterval = TimeSpan.FromMilliseconds(200);
            configure?.Invoke(o);
        }, silo =>
        {
            silo.Configure<SiloMessagingOptions>(m => m.ResponseTimeout = TimeSpan.FromSeconds(5)).Configure<ClusterMembershipOptions>(m =>
            {
                // Declare a killed silo dead within a few seconds instead of the production minute.
                m.ProbeTimeout = TimeSpan.FromSeconds(1);
                m.NumMissedProbesLimit = 2;
                m.NumVotesForDeathDeclaration = 1;
                m.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                m.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
            });
            orleans?.Invoke(silo); // a test's own grain call filters, say
        });
        var host = builder.Build();
        await host.StartAsync();
        silos.Add(host);
        return host;
    }

    public async Task<IClusterClient> ConnectAsync()
    {
        var c = await ClusterConnection.ConnectAsync(redisAddress, clusterId: ClusterId, serviceId: ClusterId);
        clients.Add(c);
        return c.Client;
    }

    /// <summary>Graceful stop: scene grains checkpoint and persist before the silo leaves.</summary>
    public async Task StopSiloAsync(IHost host)
    {
        silos.Remove(host);
        await host.StopAsync(TimeSpan.FromSeconds(30));
        host.Dispose();
    }

    /// <summary>As close to a process kill as one process allows: compute threads stop without a checkpoint, the
    /// silo stops ungracefully (no deactivation, no membership update) and its services are disposed.</summary>
    public async Task KillSiloAsync(IHost host)
    {
        silos.Remove(host);
        host.Services.GetRequiredService<SceneRunner>().AbortAll();
        try { await host.StopAsync(new CancellationToken(canceled: true)); } catch (OperationCanceledException) { }
        host.Dispose();
    }

    /// <summary>Waits until the compute-load table lists <paramref name="count"/> compute silos, then one more report
    /// interval, so every silo's copy has them.</summary>
    public static async Task WaitForComputeSilosAsync(IClusterClient client, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while ((await client.GetGrain<IComputeLoadGrain>(0).List()).Count < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"fewer than {count} compute silos reported their slots after {timeout}");
            await Task.Delay(100);
        }
        await Task.Delay(500);
    }

    public static string SiloName(IHost host) => host.Services.GetRequiredService<ILocalSiloDetails>().Name;
    public static TrainingSlots Slots(IHost host) => host.Services.GetRequiredService<TrainingSlots>();

    /// <summary>Polls the batch until it finishes, recording every status seen.</summary>
    public static async Task<BatchStatus> WaitForBatchAsync(IClusterClient client, string batchId, TimeSpan timeout, Action<BatchStatus>? observe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var coordinator = client.GetGrain<ICoordinatorGrain>(batchId);
        while (true)
        {
            BatchStatus status;
            try { status = await coordinator.GetBatchStatus(); }
            catch (Exception) when (DateTime.UtcNow < deadline) { await Task.Delay(250); continue; } // its silo just died
            observe?.Invoke(status);
            if (status.IsFinished) return status;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"batch {batchId} not finished after {timeout}: " +
                    string.Join("; ", status.Scenes.Select(s => $"{s.SceneId} {s.Status.State} {s.Status.Step}/{s.Status.Iterations} {s.Status.Error}")));
            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in clients) await c.DisposeAsync();
        foreach (var s in silos.ToList())
        {
            try { await s.StopAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
            s.Dispose();
        }
        try { Directory.Delete(CheckpointDirectory, recursive: true); } catch (IOException) { }
    }
}
