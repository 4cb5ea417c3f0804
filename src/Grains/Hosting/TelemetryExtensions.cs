namespace UniCLift.Grains.Hosting;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using UniCLift.Grains.Telemetry;

/// <summary>
/// Telemetry and health for every UniCLift host, set up in one place (as eShop's ServiceDefaults):
/// OpenTelemetry metrics (Orleans, UniCLift, .NET runtime) exported for Prometheus, and liveness/readiness checks.
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

        builder.Services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy("Process is up."), tags: [LiveTag])
            .AddCheck<SiloReadyHealthCheck>("orleans-silo", tags: [ReadyTag]);
        return builder;
    }

    /// <summary>
    /// Registers <see cref="UniCLiftMetrics.Shared"/> (idempotent). Hosts that do not call AddUniCLiftTelemetry
    /// still get it, so grains can always inject it; without an exporter the measurements simply go nowhere.
    /// </summary>
    public static IServiceCollection AddUniCLiftMetrics(this IServiceCollection services)
    {
        // Device and slot gauges are set once at silo start (SiloBuilderExtensions.SiloMetricsAtStart), not here.
        services.TryAddSingleton(UniCLiftMetrics.Shared);
        return services;
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
