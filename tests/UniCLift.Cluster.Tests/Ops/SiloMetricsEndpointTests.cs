namespace UniCLift.Cluster.Tests.Ops;

using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using UniCLift.Grains;
using UniCLift.Grains.Telemetry;
using UniCLift.Silo.Telemetry;

/// <summary>
/// A real training run on a real silo host (SiloHost.Build) shows in /metrics over HTTP. The metrics are process-wide
/// and other test classes may train in parallel, so counters are checked to move by at least this run's share, and
/// per-scene gauges on this run's scene id.
/// </summary>
[Collection(RunningSiloCollection.Name)]
public sealed class SiloMetricsEndpointTests(RunningSilo silo, Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task ARealTrainingRunMovesTheProjectMetrics()
    {
        var run = await silo.TrainingRun();
        var scene = run.SceneId;
        var end = run.Batch.Scenes[0].Status;
        Assert.True(run.Batch.IsFinished, $"batch not finished after {run.Elapsed}: {end.State} step {end.Step} {end.Error}");
        Assert.Equal(SceneState.Done, end.State);
        Assert.Equal(RunningSilo.Iterations, end.Step);
        Assert.NotNull(end.PqScene); // generated scenes have ground truth

        // During training: two scrapes with this scene's gauges, the iteration counter moving between them.
        Assert.True(run.WhileTraining.Count >= 2, $"only {run.WhileTraining.Count} scrapes while the scene trained");
        var first = run.WhileTraining[0];
        var second = run.WhileTraining[^1];
        // The project's lines of one scrape during and one after the run, for whoever reads the test log.
        output.WriteLine($"run took {run.Elapsed.TotalSeconds:F1} s (attempt {run.Attempt}), {run.WhileTraining.Count} scrapes while training; during:");
        foreach (var l in second.Samples.Where(x => x.Name.StartsWith("uniclift_") && !x.Name.EndsWith("_bucket"))) output.WriteLine(l.Line);
        output.WriteLine("after:");
        foreach (var l in run.After.Samples.Where(x => x.Name.StartsWith("uniclift_") && !x.Name.EndsWith("_bucket"))) output.WriteLine(l.Line);
        Assert.True(second.Value("uniclift_training_iterations_total") > first.Value("uniclift_training_iterations_total"));
        Assert.True(first.Value("uniclift_scene_gaussians", $"scene={scene}") > 0);
        Assert.True(second.Value("uniclift_training_iteration_rate_per_second") > 0);
        Assert.True(second.Value("uniclift_scene_iteration_rate_per_second", $"scene={scene}") > 0);
        Assert.Empty(second.Find("uniclift_device_memory_bytes")); // a CPU silo has no GPU memory to report
        foreach (var term in new[] { "render", "cluster" })
            Assert.True(double.IsFinite(second.Value("uniclift_training_loss", $"scene={scene}", $"term={term}")));
        Assert.Equal(1, second.Value("uniclift_device_in_use", "device=cpu"));
        // Slots: one used/free pair per process (other silos of this test process share it, so no exact values here).
        Assert.Single(second.Find("uniclift_training_slots", "state=used"));
        Assert.Single(second.Find("uniclift_training_slots", "state=free"));

        // After: the counter grew by at least the run's iterations (plus those redone after the resume), checkpoints
        // were written (periodic, at suspension and at the end), the scene resumed once, decoded, and its PQ counted.
        double Delta(string name) => run.After.Value(name) - (run.Before.Find(name).Any() ? run.Before.Value(name) : 0);
        Assert.True(Delta("uniclift_training_iterations_total") >= RunningSilo.Iterations);
        Assert.True(Delta("uniclift_checkpoint_write_duration_seconds_count") >= RunningSilo.Iterations / RunningSilo.CheckpointInterval);
        Assert.True(Delta("uniclift_checkpoint_size_bytes_sum") > 10_000, "checkpoints of a few thousand Gaussians weigh more than 10 kB");
        // Each checkpoint blocked training only for its in-memory snapshot (a snapshot per write); none failed (the counter
        // is there from the start). The meters are the process's: a scene of a test running beside this one may have
        // taken its snapshot before the first scrape and finished its write before the last (seen once: 20 writes, 19
        // snapshots), and a scene writes one checkpoint at a time, so allow one such straddle per other running scene.
        Assert.InRange(Delta("uniclift_checkpoint_write_duration_seconds_count") - Delta("uniclift_checkpoint_snapshot_duration_seconds_count"), -2, 2);
        Assert.Equal(0, Delta("uniclift_checkpoint_failures_total"));
        Assert.True(run.Deactivated, "the run finished before the test could deactivate its grain");
        Assert.True(end.Resumes >= 1, $"no resume in {run.Attempt} runs: each finished before its scene grain's deactivation took effect");
        Assert.True(Delta("uniclift_training_resumes_total") >= 1);
        Assert.True(Delta("uniclift_decode_duration_seconds_count") >= 1);
        Assert.True(Delta("uniclift_scene_pq_count") >= 1);
        Assert.True(Delta("uniclift_batch_duration_seconds_count") >= 1);
        Assert.True(run.After.Value("uniclift_scenes", "status=done") >= 1);

        // A scene whose training ended leaves no per-scene series behind; the freed slot shows.
        Assert.Empty(run.After.Find("uniclift_scene_gaussians", $"scene={scene}"));
        Assert.Empty(run.After.Find("uniclift_training_loss", $"scene={scene}"));
        Assert.Empty(run.After.Find("uniclift_scene_iteration_rate_per_second", $"scene={scene}"));
    }

    [Fact]
    public async Task LiveAndReadyAnswer200OnARunningSilo()
    {
        using var live = await silo.Http.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, await RunningSilo.WaitReadyAsync(silo.Http, TimeSpan.FromSeconds(30)));
    }
}

/// <summary>/health/ready follows the silo's membership status: not before it joined, not after it left.</summary>
[Collection(RunningSiloCollection.Name)]
public sealed class SiloReadinessTests
{
    [Fact]
    public async Task ReadyOnlyWhileTheSiloIsActive()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var checkpoints = Directory.CreateTempSubdirectory("uniclift-ops-ckpt-").FullName;
        try
        {
            await using var app = RunningSilo.Create(http, checkpoints);
            var check = new SiloReadyHealthCheck(app.Services);
            Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new())).Status);

            await app.StartAsync();
            using (var live = await http.GetAsync("/health/live")) Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            Assert.Equal(HttpStatusCode.OK, await RunningSilo.WaitReadyAsync(http, TimeSpan.FromSeconds(30)));
            Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new())).Status);

            await app.StopAsync();
            Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new())).Status);
        }
        finally
        {
            try { Directory.Delete(checkpoints, recursive: true); } catch (IOException) { }
        }
    }
}
