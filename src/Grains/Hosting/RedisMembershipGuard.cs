namespace UniCLift.Grains.Hosting;

using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Clustering.Redis;
using Orleans.Configuration;
using StackExchange.Redis;

/// <summary>
/// Puts the cluster's membership table back when Redis lost it (a Redis without persistence restarted empty, a
/// FLUSHALL, an expired key) while this silo is still a live member.
/// </summary>
/// <remarks>
/// Orleans 10.4.2's Redis membership table (one hash, <c>{ServiceId}/members/{ClusterId}</c>: a "Version" field and
/// one JSON row per silo) never recreates that hash after start-up: once it is gone every membership read throws
/// ("The Redis membership table version is missing"), the IAmAlive script fails on the missing row, gateways are
/// listed to no client, and nothing recovers. A silo only calls <c>InitializeMembershipTable</c> when it starts, and
/// a silo that then reads a newer table without its own row kills itself. So this service keeps, every
/// <see cref="Interval"/>, a copy of the table's raw rows while the table is whole; when Redis answers again
/// without the table (or with a table reset to an older version, re-created by a silo that started meanwhile), one
/// atomic script writes the copy back at the copy's version + 1 and keeps rows that are there already. Every silo
/// runs it; the first to see the loss restores the rows of every member it knew, so no live silo reads a newer
/// table without itself; a silo that knew a later version merges its rows over it. The rows keep their old IAmAlive
/// times until each silo's next IAmAlive write (30 s by default).
/// Limits: a silo that joined after the restoring silo's last copy (at most <see cref="Interval"/> before the
/// loss) is missing from the restored table and, at the next newer version, stops itself (its supervisor restarts
/// it and it joins again); a table deleted on purpose while silos run is restored by them too.
/// </remarks>
public sealed class RedisMembershipGuard(
    IOptions<UniCLiftSiloOptions> options,
    IOptions<ClusterOptions> cluster,
    IServiceProvider services,
    ILogger<RedisMembershipGuard> log) : BackgroundService
{
    /// <summary>How often the table is read (one HGETALL of a few rows).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private const string VersionField = "Version";

    // Restores when the table has no version or an older one than the copy; rows already there stay.
    private const string RestoreScript = """
        local v = redis.call('HGET', KEYS[1], 'Version')
        if v and tonumber(v) >= tonumber(ARGV[1]) then return 0 end
        redis.call('HSET', KEYS[1], 'Version', tostring(tonumber(ARGV[1]) + 1))
        for i = 2, #ARGV, 2 do
          if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
        end
        return 1
        """;

    private HashEntry[]? _copy;
    private long _copyVersion = -1;
    private DateTime? _missingSince;

    /// <summary>Since when Redis answers without this cluster's membership table (null: the table is there, or Redis
    /// does not answer). Readiness reports it.</summary>
    public DateTime? TableMissingSince => _missingSince;

    /// <summary>How many times this silo wrote the table back.</summary>
    public int Restores { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var config = ConfigurationOptions.Parse(options.Value.Redis!);
        config.AbortOnConnectFail = false;
        config.ConnectTimeout = 2000;
        config.SyncTimeout = config.AsyncTimeout = 2000;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(config);
        var key = services.GetService<IOptions<RedisClusteringOptions>>()?.Value.CreateRedisKey(cluster.Value)
            ?? RedisClusteringOptions.DefaultCreateRedisKey(cluster.Value);
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await CheckAsync(connection.GetDatabase(), key); }
            catch (Exception e) when (e is RedisException or TimeoutException || (e is OperationCanceledException && !stoppingToken.IsCancellationRequested))
            {
                _missingSince = null; // Redis does not answer: the Redis readiness check says so
                log.LogDebug(e, "Membership guard: Redis does not answer");
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning(e, "Membership guard: check failed ({Error}: {Message})", e.GetType().Name, e.Message);
            }
            try { await Task.Delay(Interval, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    private async Task CheckAsync(IDatabase db, RedisKey key)
    {
        var rows = await db.HashGetAllAsync(key);
        var version = rows.FirstOrDefault(r => r.Name == VersionField).Value;
        long? current = version.HasValue && long.TryParse(version.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;
        var me = services.GetService<ILocalSiloDetails>()?.SiloAddress;
        var membership = services.GetService<IClusterMembershipService>();
        bool amActive = me is not null && membership?.CurrentSnapshot.GetSiloStatus(me) == SiloStatus.Active;

        if (current is { } c && c >= _copyVersion)
        {
            if (_missingSince is { } since)
                log.LogWarning("Membership guard: the membership table is back (version {Version}) after {Seconds:0.0} s", c, (DateTime.UtcNow - since).TotalSeconds);
            _missingSince = null;
            // Copied only while it lists this silo: the copy is what this silo restores as a member.
            if (me is not null && rows.Any(r => r.Name == me.ToString()))
            {
                _copy = rows.Where(r => r.Name != VersionField).ToArray();
                _copyVersion = c;
            }
            return;
        }

        if (current is null && _missingSince is null)
        {
            _missingSince = DateTime.UtcNow;
            log.LogWarning("Membership guard: Redis answers but the membership table {Key} is gone (Redis restarted empty or flushed)", key.ToString());
        }
        if (_copy is null || !amActive || services.GetService<IHostApplicationLifetime>()?.ApplicationStopping.IsCancellationRequested == true)
            return;

        var args = new List<RedisValue> { _copyVersion };
        foreach (var row in _copy) { args.Add(row.Name); args.Add(row.Value); }
        var restored = (int)await db.ScriptEvaluateAsync(RestoreScript, [key], [.. args]);
        if (restored == 1)
        {
            Restores++;
            log.LogWarning("Membership guard: restored the membership table {Key} ({Rows} rows, version {Version}; the table was {Was})",
                key.ToString(), _copy.Length, _copyVersion + 1, current is null ? "missing" : $"at version {current}");
        }
        _missingSince = null;
        _copyVersion = -1; // the next read (the restored table, or a newer one) becomes the copy
    }
}
