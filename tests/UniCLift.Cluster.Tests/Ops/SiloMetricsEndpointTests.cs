namespace UniCLift.Cluster.Tests.Ops;

using System.Net;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using UniCLift.Grains.Telemetry;

/// <summary>
/// Metrics recorded through <see cref="UniCLiftMetrics"/> reach /metrics of a real silo over HTTP.
/// The metrics are process-wide and other test classes may record in parallel, so counters are checked to move
/// by at least what this test recorded, and gauges on scene names only this test uses.
/// </summary>
[Collection(RunningSiloCollection.Name)]
public sealed class SiloMetricsEndpointTests(RunningSilo silo)
{
    [Fact]
    public async Task ScrapeShowsProjectMetricsAndCountersMove()
    {
        var m = silo.Metrics;
        var scene = "ops-scene-" + Guid.NewGuid().ToString("N")[..8];
        // Stand-in for a training (the integrator replaces this with training a tiny scene).
        m.RecordIteration(scene, 10, 4.5, new LossComponents(0.25, 0.5, 0.125, double.NaN));
        m.SetGaussians(scene, 12_000);
        m.RecordCheckpoint(TimeSpan.FromMilliseconds(250), 3_000_000);
        m.RecordPq(71.5);
        var first = await silo.ScrapeAsync();

        m.RecordIteration(scene, 15, 6.0, new LossComponents(0.2, 0.4, 0.1, 0.05));
        m.SetGaussians(scene, 15_000);
        m.RecordCheckpoint(TimeSpan.FromSeconds(2), 5_000_000);
        m.RecordResume();
        var second = await silo.ScrapeAsync();

        Assert.True(first.Value("uniclift_training_iterations_total") >= 10);
        Assert.True(second.Value("uniclift_training_iterations_total") - first.Value("uniclift_training_iterations_total") >= 15);
        Assert.True(second.Value("uniclift_checkpoint_write_duration_seconds_count") - first.Value("uniclift_checkpoint_write_duration_seconds_count") >= 1);
        Assert.True(second.Value("uniclift_checkpoint_write_duration_seconds_sum") - first.Value("uniclift_checkpoint_write_duration_seconds_sum") >= 2.0 - 1e-9);
        Assert.True(second.Value("uniclift_checkpoint_size_bytes_sum") - first.Value("uniclift_checkpoint_size_bytes_sum") >= 5e6);
        Assert.True(second.Value("uniclift_training_resumes_total") >= 1);
        Assert.True(second.Value("uniclift_scene_pq_count") >= 1);
        // Seconds histograms use second-sized buckets (0.25 s lands in le="0.25", not in the first ms-sized bucket).
        Assert.True(second.Value("uniclift_checkpoint_write_duration_seconds_bucket", "le=0.25") >= 1);
        Assert.NotEmpty(second.Find("uniclift_scene_pq_bucket", "le=75"));

        // Gauges show the latest values; a component not computed (NaN) is absent, not zero.
        Assert.Equal(15_000, second.Value("uniclift_scene_gaussians", $"scene={scene}"));
        Assert.Equal(0.2, second.Value("uniclift_training_loss", $"scene={scene}", "component=render"));
        Assert.Empty(first.Find("uniclift_training_loss", $"scene={scene}", "component=smooth3d"));
        Assert.Equal(0.05, second.Value("uniclift_training_loss", $"scene={scene}", "component=smooth3d"));
        Assert.True(second.Value("uniclift_training_iteration_rate_per_second") >= 6.0);
        Assert.Equal(1, second.Value("uniclift_device_in_use", "device=cpu"));
        Assert.Single(second.Find("uniclift_training_slots", "state=used"));
        Assert.Single(second.Find("uniclift_training_slots", "state=free"));

        // A scene whose training ended leaves no per-scene series behind.
        m.RemoveScene(scene);
        var third = await silo.ScrapeAsync();
        Assert.Empty(third.Find("uniclift_scene_gaussians", $"scene={scene}"));
        Assert.Empty(third.Find("uniclift_training_loss", $"scene={scene}"));
        Assert.True(third.Value("uniclift_training_iterations_total") >= second.Value("uniclift_training_iterations_total"));
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
        await using var app = RunningSilo.Create(http);
        var check = new SiloReadyHealthCheck(app.Services);
        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new())).Status);

        await app.StartAsync();
        using (var live = await http.GetAsync("/health/live")) Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, await RunningSilo.WaitReadyAsync(http, TimeSpan.FromSeconds(30)));
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new())).Status);

        await app.StopAsync();
        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new())).Status);
    }
}
