namespace UniCLift.Cluster.Tests.Ops;

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Core.Internal;
using UniCLift.Compute.Synthetic;
using UniCLift.Grains;
using UniCLift.Grains.Telemetry;
using UniCLift.Silo;

[CollectionDefinition(Name)]
public sealed class RunningSiloCollection : ICollectionFixture<RunningSilo>
{
    public const string Name = "running silo";
}

/// <summary>
/// A real silo web host built by <see cref="SiloHost.Build"/> (as src/Silo/Program.cs does) on free loopback ports,
/// and, on first request, one real training run of a tiny generated scene on it (<see cref="TrainingRun"/>).
/// </summary>
public sealed class RunningSilo : IAsyncLifetime
{
    /// <summary>Checkpoint interval of this silo: the tiny run checkpoints a few times and once more at its end.</summary>
    public const int CheckpointInterval = 20;
    public const int Iterations = 60;

    private WebApplication? _app;
    private readonly string _root = Directory.CreateTempSubdirectory("uniclift-ops-").FullName;
    private readonly object _runGate = new();
    private Task<TinyTrainingRun>? _run;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };
    public WebApplication App => _app ?? throw new InvalidOperationException("Silo not started.");
    public UniCLiftMetrics Metrics => App.Services.GetRequiredService<UniCLiftMetrics>(); // the process-wide instance

    public async Task InitializeAsync()
    {
        _app = Create(Http, Path.Combine(_root, "checkpoints"));
        await _app.StartAsync();
    }

    /// <summary>The one real training run (started by the first test that asks; later callers get the same run).</summary>
    public Task<TinyTrainingRun> TrainingRun()
    {
        lock (_runGate) return _run ??= Task.Run(RunTinySceneAsync);
    }

    /// <summary>Builds (does not start) a silo host on free loopback ports and points <paramref name="http"/> at it.</summary>
    public static WebApplication Create(HttpClient http, string? checkpointDirectory = null)
    {
        checkpointDirectory ??= Directory.CreateTempSubdirectory("uniclift-ops-ckpt-").FullName;
        var httpPort = TestPorts.Free();
        var app = SiloHost.Build(
        [
            $"--urls=http://127.0.0.1:{httpPort}",
            "--UniCLift:Clustering=localhost",
            $"--UniCLift:SiloPort={TestPorts.Free()}",
            $"--UniCLift:GatewayPort={TestPorts.Free()}",
            "--UniCLift:Compute=true",
            "--UniCLift:TrainingSlots=2",
            "--UniCLift:Device=cpu",
            $"--UniCLift:CheckpointInterval={CheckpointInterval}",
            $"--UniCLift:CheckpointDirectory={checkpointDirectory}",
            "--UniCLift:SupervisionInterval=00:00:00.500",
        ]);
        http.BaseAddress = new Uri($"http://127.0.0.1:{httpPort}");
        return app;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>
    /// Generates a tiny scene (6 views at 48x36, 3 objects, ground truth), submits it as a batch through the silo's
    /// IClusterClient, scrapes /metrics while it trains, deactivates the scene grain after its first checkpoints so
    /// that it really resumes from a checkpoint, and scrapes again after the batch finished.
    /// </summary>
    private async Task<TinyTrainingRun> RunTinySceneAsync()
    {
        var sceneDir = Path.Combine(_root, "scenes", "tiny");
        SyntheticSceneWriter.Write(sceneDir, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions
        {
            Seed = 11, Objects = 3, Views = 6, Width = 48, Height = 36, TestEvery = 3, PointCount = 1500,
        }));
        var client = App.Services.GetRequiredService<IClusterClient>();
        var batchId = "ops-" + Guid.NewGuid().ToString("N")[..8];
        var coordinator = client.GetGrain<ICoordinatorGrain>(batchId);
        var before = await ScrapeAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var submitted = await coordinator.SubmitBatch(new BatchRequest([sceneDir], Path.Combine(_root, "out"),
            new JobOptions(Iterations: Iterations, Seed: 3, MaxRetries: 0)));
        var sceneId = submitted.Scenes[0].SceneId;
        var scene = client.GetGrain<ISceneGrain>(sceneId);

        // While it trains: scrapes that show this scene's Gaussians, until the counter moved between two of them and
        // a periodic checkpoint exists; then deactivate the grain (checkpoint, stop) so the next poll resumes it.
        var training = new List<Scrape>();
        var statuses = new List<SceneStatus>();
        bool deactivated = false;
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            var status = await scene.GetStatus();
            statuses.Add(status);
            if (status.State.IsTerminal()) break;
            var scrape = await ScrapeAsync();
            if (scrape.Find("uniclift_scene_gaussians", $"scene={sceneId}").Any()) training.Add(scrape);
            bool moved = training.Count >= 2 && training[^1].Value("uniclift_training_iterations_total") > training[0].Value("uniclift_training_iterations_total");
            if (!deactivated && moved && status.LastCheckpointStep >= CheckpointInterval && status.Step < Iterations)
            {
                await scene.Cast<IGrainManagementExtension>().DeactivateOnIdle();
                deactivated = true;
            }
        }
        BatchStatus final;
        while (!(final = await coordinator.GetBatchStatus()).IsFinished && clock.Elapsed < TimeSpan.FromSeconds(90))
            await Task.Delay(200);
        var after = await ScrapeAsync();
        return new TinyTrainingRun(sceneId, before, training, after, final, deactivated, statuses, clock.Elapsed);
    }

    /// <summary>GET /metrics; waits past the exporter's 300 ms response cache so each call is a fresh collection.</summary>
    public async Task<Scrape> ScrapeAsync()
    {
        await Task.Delay(350);
        using var response = await Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Scrape.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls /health/ready until 200 or the timeout.</summary>
    public static async Task<HttpStatusCode> WaitReadyAsync(HttpClient http, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var response = await http.GetAsync("/health/ready");
            if (response.StatusCode == HttpStatusCode.OK || DateTime.UtcNow > deadline) return response.StatusCode;
            await Task.Delay(200);
        }
    }
}

/// <summary>What the tiny real run produced: scrapes before, during (this scene's gauges present) and after it.</summary>
public sealed record TinyTrainingRun(
    string SceneId, Scrape Before, IReadOnlyList<Scrape> WhileTraining, Scrape After, BatchStatus Batch, bool Deactivated,
    IReadOnlyList<SceneStatus> Statuses, TimeSpan Elapsed);
