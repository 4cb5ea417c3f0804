namespace UniCLift.Cluster.Tests.Ops;

using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using UniCLift.Grains.Hosting;
using UniCLift.Silo.Telemetry;

/// <summary>/health/ready's Redis check against a real redis-server of its own: ready while it answers, not ready
/// (naming the address, never the password) once it is gone.</summary>
public sealed class RedisReadinessTests
{
    [Fact]
    public async Task ReadyWhileRedisAnswers_NotReadyWhenItIsGone()
    {
        var redis = new RedisServerFixture();
        await redis.InitializeAsync();
        int port = redis.Port;
        var options = Options.Create(new UniCLiftSiloOptions { Clustering = "redis", Redis = $"{redis.Address},password=not-shown" });
        await using var check = new RedisReadyHealthCheck(options);
        bool killed = false;
        try
        {
            // redis-server without requirepass accepts AUTH-less clients; the password only has to stay out of answers.
            var up = await check.CheckHealthAsync(new HealthCheckContext());
            Assert.True(up.Status == HealthStatus.Healthy, up.Description);

            await redis.DisposeAsync(); // the process is killed
            killed = true;
            var down = await check.CheckHealthAsync(new HealthCheckContext());
            Assert.Equal(HealthStatus.Unhealthy, down.Status);
            Assert.Contains($"127.0.0.1:{port}", down.Description);
            Assert.DoesNotContain("not-shown", down.Description);
        }
        finally
        {
            if (!killed) await redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task ASiloWithoutRedisClusteringIsReadyAsFarAsRedisGoes()
    {
        await using var check = new RedisReadyHealthCheck(Options.Create(new UniCLiftSiloOptions { Clustering = "localhost" }));
        var result = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Healthy, result.Status);
    }
}
