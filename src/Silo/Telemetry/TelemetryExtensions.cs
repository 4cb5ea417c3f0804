namespace UniCLift.Silo.Telemetry;

using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using UniCLift.Grains.Telemetry;

/// <summary>
/// Telemetry and health for the silo host, set up in one place (as eShop's ServiceDefaults): OpenTelemetry metrics
/// (Orleans, UniCLift, .NET runtime) exported for Prometheus, and liveness/readiness checks. The instruments themselves
/// (<see cref="UniCLiftMetrics"/>) live with the grains that record them.
/// </summary>
public static class TelemetryExtensions
{
    public const string MetricsPath = "/metrics";
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";
    private const string LiveTag = "live";
    private const string ReadyTag = "ready";

    public static IHostApplicationBuilder AddUniCLiftTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddUniCLiftMetrics();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter("Microsoft.Orleans", UniCLiftMetrics.MeterName)
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());

        builder.Services.AddSingleton<RedisReadyHealthCheck>(); // one kept connection, not one per probe
        builder.Services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy("Process is up."), tags: [LiveTag])
            .AddCheck<SiloReadyHealthCheck>("orleans-silo", tags: [ReadyTag])
            .AddCheck<RedisReadyHealthCheck>("redis", tags: [ReadyTag]);
        return builder;
    }

    /// <summary>Maps /metrics (Prometheus text), /health/live (process up) and /health/ready (silo joined).</summary>
    public static WebApplication MapUniCLiftEndpoints(this WebApplication app)
    {
        // Create the metrics now so the silo's gauges (device, slots) are in the first scrape, before any grain asks.
        app.Services.GetRequiredService<UniCLiftMetrics>();
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = c => c.Tags.Contains(LiveTag) });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag) });
        return app;
    }
}
