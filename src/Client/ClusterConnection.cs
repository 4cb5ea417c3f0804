namespace UniCLift.Client;

using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;
using StackExchange.Redis;
using UniCLift.Compute;
using UniCLift.Grains;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Security;

/// <summary>
/// How the console reaches a cluster: through Redis membership (`--redis host:port` or env UNICLIFT_REDIS), or,
/// with nothing configured, an embedded silo started in this process (localhost clustering on free ports; it lives
/// only as long as the command, so work submitted to it must be waited for).
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    public const string RedisEnvironmentVariable = "UNICLIFT_REDIS";
    private readonly IHost host;

    private ClusterConnection(IHost host, IClusterClient client, bool embedded, string description)
    {
        this.host = host;
        Client = client;
        IsEmbedded = embedded;
        Description = description;
    }

    public IClusterClient Client { get; }
    /// <summary>True when the silo runs inside this process.</summary>
    public bool IsEmbedded { get; }
    public string Description { get; }

    /// <summary>The Redis address to use: the option if given, else UNICLIFT_REDIS, else null (embedded silo).</summary>
    public static string? ResolveRedis(string? option) =>
        !string.IsNullOrWhiteSpace(option) ? option
        : Environment.GetEnvironmentVariable(RedisEnvironmentVariable) is { Length: > 0 } env ? env
        : null;

    /// <summary>How long a command waits for a silo to register in the cluster's Redis (one may be starting, as in a
    /// rollout) before it fails saying none answers. Orleans' own default retries for three minutes in silence.</summary>
    public static readonly TimeSpan DefaultSiloPatience = TimeSpan.FromSeconds(60);

    /// <summary>Seconds to wait for a silo instead of <see cref="DefaultSiloPatience"/> (a Job submitted while a GPU pool
    /// scales up, say).</summary>
    public const string SiloWaitEnvironmentVariable = "UNICLIFT_SILO_WAIT";

    /// <summary>The wait for a silo that <paramref name="value"/> (UNICLIFT_SILO_WAIT) asks for: whole seconds, 0 to a day;
    /// unset or empty, <see cref="DefaultSiloPatience"/>; anything else is bad input naming the variable.</summary>
    public static TimeSpan SiloPatience(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return DefaultSiloPatience;
        if (int.TryParse(value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int s) && s <= 86400)
            return TimeSpan.FromSeconds(s);
        throw new ArgumentException($"{SiloWaitEnvironmentVariable}='{value}': expected whole seconds from 0 to 86400 (how long to wait for a silo).");
    }

    /// <summary>The client's retry filter while it connects: while no silo has registered (or the ones registered do not
    /// answer yet), one note that it waits, then an attempt a second until the patience given has passed.
    /// Anything else (Redis unreachable, TLS refused) fails at once.</summary>
    private sealed class SiloWait(TimeSpan patience, Action<string>? note, string what) : IClientConnectionRetryFilter
    {
        private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        private bool noted;

        public static bool IsNoSilo(Exception e) =>
            FailurePolicy.Unwrap(e) is SiloUnavailableException or ConnectionFailedException or OrleansMessageRejectionException;

        public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
        {
            if (!IsNoSilo(exception) || clock.Elapsed >= patience) return false;
            if (!noted)
            {
                noted = true;
                note?.Invoke($"{what}; waiting up to {patience.TotalSeconds:0} s for one (Ctrl-C stops).");
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            return true;
        }
    }

    public static async Task<ClusterConnection> ConnectAsync(string? redis, CancellationToken cancellationToken = default,
        string clusterId = "uniclift", string serviceId = "uniclift", Action<UniCLiftSiloOptions>? embeddedOptions = null,
        Action<string>? note = null, TimeSpan? siloPatience = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = false, Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // No console lifetime: it would take SIGINT/SIGTERM and only ask this host to stop, which nobody waits for (the
        // command holds the host); the command's Interruption owns the signals and stops the host through DisposeAsync.
        builder.Services.AddSingleton<IHostLifetime, CommandHostLifetime>();
        if (redis is not null)
        {
            ConfigurationOptions parsed;
            try { parsed = ConfigurationOptions.Parse(redis); }
            catch (Exception e) { throw new ArgumentException($"--redis '{redis}' is not a Redis address (host:port): {e.Message}"); }
            builder.UseOrleansClient(c =>
            {
                c.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = serviceId; });
                c.UseRedisClustering(o => o.ConfigurationOptions = parsed);
                c.UseUniCLiftTls(builder.Configuration); // env UniCLift__Tls__*, as on the silos
            });
            var shown = parsed.ToString(includePassword: false); // the string may carry password= (a Secret): never print it
            var patience = siloPatience ?? SiloPatience(Environment.GetEnvironmentVariable(SiloWaitEnvironmentVariable));
            var waiting = new SiloWait(patience, note, $"Redis {shown} answers but no silo of cluster '{clusterId}' does yet");
            builder.Services.AddSingleton<IClientConnectionRetryFilter>(waiting);
            var clientHost = builder.Build();
            try { await clientHost.StartAsync(cancellationToken); }
            catch (Exception e)
            {
                clientHost.Dispose();
                cancellationToken.ThrowIfCancellationRequested(); // Ctrl-C while connecting is an interruption, not "cannot reach"
                throw new EnvironmentException(SiloWait.IsNoSilo(e)
                    ? $"no silo of cluster '{clusterId}' answered through Redis at '{shown}' within {patience.TotalSeconds:0} s: " +
                      "start one there (UniCLift.Silo with UniCLift__Clustering=redis and UniCLift__Redis; README, \"Deploy and monitor\"), or leave out --redis to run an embedded silo."
                    : $"cannot reach the cluster through Redis at '{shown}': {RedisFailures.FirstSentence(e.Message).TrimEnd('.')}. " +
                      "Is Redis running there, with a silo started on it? Without --redis the command runs an embedded silo.", e);
            }
            return new ClusterConnection(clientHost, clientHost.Services.GetRequiredService<IClusterClient>(), false, $"cluster via Redis {shown}");
        }

        int siloPort = FreePort(), gatewayPort = FreePort();
        builder.AddUniCLiftSilo(o =>
        {
            o.Clustering = "localhost";
            o.SiloPort = siloPort;
            o.GatewayPort = gatewayPort;
            o.ClusterId = clusterId;
            o.ServiceId = serviceId;
            o.Compute = true;
            o.CheckpointsKeptWhenDone = 0; // a console run keeps its results, not its checkpoints: /tmp does not fill
            embeddedOptions?.Invoke(o);
        });
        var siloHost = builder.Build();
        try { await siloHost.StartAsync(cancellationToken); }
        catch (Exception)
        {
            // Interrupted (or failed) while starting: stop what did start, so no silo thread outlives the command.
            try { await siloHost.StopAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { /* stopping anyway */ }
            siloHost.Dispose();
            throw;
        }
        return new ClusterConnection(siloHost, siloHost.Services.GetRequiredService<IClusterClient>(), true, $"embedded silo (port {siloPort})");
    }

    /// <summary>
    /// The embedded silo's data roots for one command: what the command line names (each scene directory and the folders
    /// of the files its layout names outside it, e.g. a 3DGS output's source_path; the --ply file; the output
    /// directories), plus any roots configured in the environment (UniCLift__SceneRoots, UniCLift__OutputRoots). The
    /// embedded silo's gateway listens on loopback while the command runs, so it is confined like any silo.
    /// </summary>
    public static Action<UniCLiftSiloOptions> EmbeddedRoots(IEnumerable<string> sceneDirectories, IEnumerable<string> outputs, string? initialPly,
        string? masks = null) => o =>
    {
        o.SceneRoots = [.. o.SceneRoots ?? [], .. sceneDirectories.SelectMany(d => ScenePlaces(d, masks)).Distinct(), .. initialPly is null ? [] : new[] { initialPly }];
        o.OutputRoots = [.. o.OutputRoots ?? [], .. outputs];
    };

    /// <summary>A scene directory and the folders outside it that its layout reads from (none when it does not read).</summary>
    private static List<string> ScenePlaces(string directory, string? masks)
    {
        var places = new List<string> { Path.GetFullPath(directory) };
        try
        {
            // A 3DGS output's source_path is checked as named (a moved output's may be gone): the command line named the
            // output, and so the folder it was trained from.
            places.AddRange(Compute.Scenes.SceneInspector.NamedFolders(directory));
            var scene = Compute.Scenes.SceneInspector.Read(directory, masks);
            var files = scene.Views.SelectMany(v => new[] { v.ImagePath, v.MaskPath, v.DepthPath, v.GtInstancePath, v.GtSemanticPath, v.MaskSemanticPath })
                .Append(scene.PointCloudPath).OfType<string>();
            var inside = Path.TrimEndingDirectorySeparator(places[0]) + Path.DirectorySeparatorChar;
            places.AddRange(files.Select(f => Path.GetDirectoryName(Path.GetFullPath(f))!).Where(d => !(d + Path.DirectorySeparatorChar).StartsWith(inside, StringComparison.Ordinal)).Distinct());
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException or KeyNotFoundException)
        {
            // Not readable here: the silo reads it and says what is wrong.
        }
        return places;
    }

    public async ValueTask DisposeAsync()
    {
        try { await host.StopAsync(TimeSpan.FromSeconds(30)); }
        catch (Exception) { /* shutting down anyway */ }
        host.Dispose();
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>A host lifetime that leaves the process's signals alone: the command starts and stops the host.</summary>
    private sealed class CommandHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
