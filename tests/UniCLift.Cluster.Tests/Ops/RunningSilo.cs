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

/// <summary>
/// Runs alone, after the parallel collections: the silo metrics are the process's (<see cref="UniCLiftMetrics.Shared"/>),
/// so a silo another test starts meanwhile sets the device gauge to its own (a CI run scraped device=cuda from a
/// placement test's silo while this silo trained on cpu).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
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
    public const int CheckpointInterval = 50;
    /// <summary>Long enough (a few seconds on this machine) for several scrapes while the resumed run trains.</summary>
    public const int Iterations = 200;

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

    /// <summary>Builds (does not start) a silo host on free loopback ports and points <paramref name="http"/> at it; the
    /// caller owns <paramref name="checkpointDirectory"/> and deletes it.</summary>
    public static WebApplication Create(HttpClient http, string checkpointDirectory)
    {
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
            $"--UniCLift:CheckpointInterval={CheckpointInterval}", "--UniCLift:CheckpointMinInterval=00:00:00",
            $"--UniCLift:CheckpointDirectory={checkpointDirectory}",
            // The tests' scenes and results are temporary folders.
            $"--UniCLift:SceneRoots={Path.GetTempPath()}",
            $"--UniCLift:OutputRoots={Path.GetTempPath()}",
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
    /// IClusterClient and deactivates its scene grain as soon as it trains: the run checkpoints at its next step and
    /// stops, and the next status call resumes it from that checkpoint, so the resume is early in the run instead of
    /// racing its last steps. /metrics is scraped before, all along the run (concurrently, so the deactivation never
    /// waits for a scrape; those showing this scene's Gaussians are kept) and after the batch finished.
    /// </summary>
    private async Task<TinyTrainingRun> RunTinySceneAsync()
    {
        var sceneDir = Path.Combine(_root, "scenes", "tiny");
        SyntheticSceneWriter.Write(sceneDir, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions
        {
            Seed = 11, Objects = 3, Views = 6, Width = 48, Height = 36, TestEvery = 3, PointCount = 1500,
        }));
        var client = App.Services.GetRequiredService<IClusterClient>();
        var before = await ScrapeAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int attempt = 1; ; attempt++)
        {
            var run = await AttemptAsync(client, sceneDir, before, clock, attempt);
            // The deactivation lands within a step or two of the first one. Should the whole run still have finished
            // first (a stalled test process), that run shows nothing about resuming: run a new batch, at most 3 in all.
            if (run.Batch.Scenes[0].Status.Resumes > 0 || attempt == MaxAttempts) return run;
        }
    }

    /// <summary>Runs of the tiny scene until one resumed (see <see cref="RunTinySceneAsync"/>).</summary>
    public const int MaxAttempts = 3;

    private async Task<TinyTrainingRun> AttemptAsync(IClusterClient client, string sceneDir, Scrape before, System.Diagnostics.Stopwatch clock, int attempt)
    {
        var batchId = "ops-" + Guid.NewGuid().ToString("N")[..8];
        var coordinator = client.GetGrain<ICoordinatorGrain>(batchId);
        var submitted = await coordinator.SubmitBatch(new BatchRequest([sceneDir], Path.Combine(_root, "out", batchId),
            new JobOptions(Iterations: Iterations, Seed: 3, MaxRetries: 0)));
        var sceneId = submitted.Scenes[0].SceneId;
        var scene = client.GetGrain<ISceneGrain>(sceneId);
        var timeout = clock.Elapsed + TimeSpan.FromSeconds(180); // a loaded 2-core machine trains it 10x slower

        using var stopScraping = new CancellationTokenSource();
        var scraping = ScrapeWhileTrainingAsync(sceneId, stopScraping.Token);
        var statuses = new List<SceneStatus>();
        bool deactivated = false;
        try
        {
            while (clock.Elapsed < timeout)
            {
                var status = await scene.GetStatus();
                statuses.Add(status);
                if (status.State.IsTerminal()) break;
                if (!deactivated && status.State == SceneState.Training && status.Step >= 1)
                {
                    await scene.Cast<IGrainManagementExtension>().DeactivateOnIdle();
                    deactivated = true;
                }
                await Task.Delay(deactivated ? 200 : 10);
            }
            BatchStatus final;
            while (!(final = await coordinator.GetBatchStatus()).IsFinished && clock.Elapsed < timeout)
                await Task.Delay(200);
            stopScraping.Cancel();
            var training = await scraping;
            var after = await ScrapeAsync();
            return new TinyTrainingRun(sceneId, before, training, after, final, deactivated, statuses, clock.Elapsed, attempt);
        }
        finally
        {
            stopScraping.Cancel();
        }
    }

    /// <summary>Scrapes until cancelled; keeps the scrapes that show <paramref name="sceneId"/>'s Gaussians (it trains).</summary>
    private async Task<List<Scrape>> ScrapeWhileTrainingAsync(string sceneId, CancellationToken stop)
    {
        var training = new List<Scrape>();
        while (!stop.IsCancellationRequested)
        {
            var scrape = await ScrapeAsync();
            if (scrape.Find("uniclift_scene_gaussians", $"scene={sceneId}").Any()) training.Add(scrape);
        }
        return training;
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

/// <summary>What the tiny real run produced: scrapes before, during (this scene's gauges present) and after it; which attempt.</summary>
public sealed record TinyTrainingRun(
    string SceneId, Scrape Before, IReadOnlyList<Scrape> WhileTraining, Scrape After, BatchStatus Batch, bool Deactivated,
    IReadOnlyList<SceneStatus> Statuses, TimeSpan Elapsed, int Attempt);
