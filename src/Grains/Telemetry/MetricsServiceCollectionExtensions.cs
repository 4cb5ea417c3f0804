namespace UniCLift.Grains.Telemetry;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

/// <summary>Registers the metrics grains record into; exporting them is the host's business (src/Silo).</summary>
public static class MetricsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="UniCLiftMetrics.Shared"/> (idempotent). Every silo gets it, so grains can always inject it;
    /// without an exporter (the console's embedded silo, tests) the measurements simply go nowhere.
    /// </summary>
    public static IServiceCollection AddUniCLiftMetrics(this IServiceCollection services)
    {
        // Device and slot gauges are set once at silo start (SiloBuilderExtensions.SiloMetricsAtStart), not here.
        services.TryAddSingleton(UniCLiftMetrics.Shared);
        return services;
    }
}
