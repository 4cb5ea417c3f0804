namespace UniCLift.Silo.Telemetry;

using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using UniCLift.Grains.Hosting;

/// <summary>
/// Ready only while the cluster's Redis answers a PING: membership, grain state and reminders live there, so a silo
/// that cannot reach it cannot place, persist or resume anything, whatever its membership snapshot still says. A
/// Redis outage shows in /health/ready (and Kubernetes stops routing clients to the gateway) instead of behind a
/// Healthy answer. Liveness is not affected: restarting the silo would not bring Redis back. Silos without Redis
/// clustering are ready as far as this check goes. One connection, made on the first probe and kept. Redis that
/// answers without the cluster's membership table (restarted empty, flushed: <see cref="RedisMembershipGuard"/>)
/// is not ready either, until the table is back.
/// </summary>
public sealed class RedisReadyHealthCheck(IOptions<UniCLiftSiloOptions> options, RedisMembershipGuard? guard = null) : IHealthCheck, IAsyncDisposable
{
    /// <summary>How long a probe waits for Redis's answer.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConnectionMultiplexer? _connection;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var o = options.Value;
        if (!string.Equals(o.Clustering, "redis", StringComparison.OrdinalIgnoreCase) || string.IsNullOrWhiteSpace(o.Redis))
            return HealthCheckResult.Healthy("No Redis clustering.");
        var config = ConfigurationOptions.Parse(o.Redis);
        var shown = config.ToString(includePassword: false); // never a password in a probe's answer
        try
        {
            var connection = await ConnectAsync(config, cancellationToken);
            var latency = await connection.GetDatabase().PingAsync().WaitAsync(ProbeTimeout, cancellationToken);
            if (guard?.TableMissingSince is { } since)
                return HealthCheckResult.Unhealthy($"Redis at {shown} answers, but the cluster's membership table is gone since {since:O} (Redis restarted empty or flushed); this silo puts it back.");
            return HealthCheckResult.Healthy($"Redis at {shown} answers in {latency.TotalMilliseconds:0.0} ms.");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis at {shown} does not answer: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions config, CancellationToken ct)
    {
        if (_connection is { } c) return c;
        await _gate.WaitAsync(ct);
        try
        {
            if (_connection is null)
            {
                // Not aborting on a failed first connect: the multiplexer keeps reconnecting, so the probe recovers
                // by itself once Redis is back.
                config.AbortOnConnectFail = false;
                config.ConnectTimeout = (int)ProbeTimeout.TotalMilliseconds;
                _connection = await ConnectionMultiplexer.ConnectAsync(config);
            }
            return _connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
        _gate.Dispose();
    }
}
