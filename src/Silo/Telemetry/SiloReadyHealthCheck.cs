namespace UniCLift.Silo.Telemetry;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

/// <summary>
/// Ready once this silo is Active in the cluster membership (it has joined and takes grain calls); not ready
/// while it joins or once it starts shutting down, so Kubernetes stops routing to a silo that is leaving.
/// Hosts without a silo (a client) are ready as soon as they run.
/// </summary>
public sealed class SiloReadyHealthCheck(IServiceProvider services) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var local = services.GetService<ILocalSiloDetails>();
        var membership = services.GetService<IClusterMembershipService>();
        if (local is null || membership is null)
            return Task.FromResult(HealthCheckResult.Healthy("No Orleans silo in this host."));

        var status = membership.CurrentSnapshot.GetSiloStatus(local.SiloAddress);
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy($"Silo {local.SiloAddress} is Active.")
            : HealthCheckResult.Unhealthy($"Silo {local.SiloAddress} is {status}, not Active."));
    }
}
