namespace UniCLift.Grains.Hosting;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using StackExchange.Redis;
using UniCLift.Grains.Placement;
using UniCLift.Grains.Scenes;
using UniCLift.Grains.Security;
using UniCLift.Grains.Views;
using UniCLift.Grains.Telemetry;

/// <summary>
/// The one place a UniCLift silo's grains, storage, clustering and options are configured; the Silo host, the console's
/// embedded silo and the test clusters all call it. What only a deployed silo needs (HTTP endpoints, the Prometheus
/// exporter, health checks, Kubernetes hosting) is added by src/Silo around it.
/// </summary>
public static class SiloBuilderExtensions
{
    /// <summary>
    /// Clustering, grain storage "uniclift" and reminders (localhost: in memory; redis: in Redis), silo metadata
    /// compute=true|false for placement, the compute-silo placement filter, training slots and the scene runner.
    /// <paramref name="configure"/> sees the options after configuration is bound and may change them;
    /// <paramref name="configureSilo"/> runs last, for host-specific extras (the Silo's Kubernetes hosting; tests
    /// tighten membership timeouts with it).
    /// </summary>
    public static IHostApplicationBuilder AddUniCLiftSilo(
        this IHostApplicationBuilder builder,
        Action<UniCLiftSiloOptions>? configure = null,
        Action<ISiloBuilder>? configureSilo = null)
    {
        var options = new UniCLiftSiloOptions();
        var section = builder.Configuration.GetSection(UniCLiftSiloOptions.Section);
        section.Bind(options);
        // One value with ':' between directories (env UniCLift__SceneRoots=/a:/b) as well as a list (UniCLift:SceneRoots:0).
        if (section["SceneRoots"] is { Length: > 0 } scenes) options.SceneRoots = PathList(scenes);
        if (section["OutputRoots"] is { Length: > 0 } outputs) options.OutputRoots = PathList(outputs);
        configure?.Invoke(options);
        if (options.CheckpointInterval < 1) throw new SiloOptionsException($"UniCLift:CheckpointInterval must be at least 1, got {options.CheckpointInterval}.");
        if (options.CheckpointMinInterval < TimeSpan.Zero) throw new SiloOptionsException($"UniCLift:CheckpointMinInterval must not be negative, got {options.CheckpointMinInterval}.");
        if (options.CheckpointsKeptWhenDone < 0) throw new SiloOptionsException($"UniCLift:CheckpointsKeptWhenDone must be at least 0, got {options.CheckpointsKeptWhenDone}.");
        if (options.LoadReportInterval <= TimeSpan.Zero) throw new SiloOptionsException($"UniCLift:LoadReportInterval must be positive, got {options.LoadReportInterval}.");
        if (options.BatchesToKeep < 1) throw new SiloOptionsException($"UniCLift:BatchesToKeep must be at least 1, got {options.BatchesToKeep}.");
        if (options.BatchRetention <= TimeSpan.Zero) throw new SiloOptionsException($"UniCLift:BatchRetention must be positive, got {options.BatchRetention}.");

        // Metadata from configuration (env ORLEANS__METADATA__gpu=true) plus our compute flag; a gpu silo computes.
        var metadata = builder.Configuration.GetSection("Orleans:Metadata").GetChildren()
            .Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value!, StringComparer.Ordinal);
        if (SiloMetadataKeys.IsCompute(metadata)) options.Compute = true;
        metadata[SiloMetadataKeys.Compute] = options.Compute ? "true" : "false";
        // A compute silo needs a slot; a control silo (k8s/base/silo-control.yaml) has none and says 0.
        if (options.Compute ? options.TrainingSlots < 1 : options.TrainingSlots < 0)
            throw new SiloOptionsException($"UniCLift:TrainingSlots must be at least {(options.Compute ? 1 : 0)} on a {(options.Compute ? "compute" : "control")} silo, got {options.TrainingSlots}.");

        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton(new DataRoots(
            options.SceneRoots ?? UniCLiftSiloOptions.DefaultSceneRoots, options.OutputRoots ?? UniCLiftSiloOptions.DefaultOutputRoots, options.CheckpointDirectory));
        builder.Services.AddSingleton(sp => new TrainingSlots(options.TrainingSlots, sp.GetRequiredService<UniCLiftMetrics>()));
        builder.Services.AddSingleton<SceneRunner>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ComputeLoad>();
        builder.Services.AddSingleton<ComputeDevice>();
        builder.Services.AddSingleton<ViewRenderDevice>();
        builder.Services.AddSingleton<ComputeLoadReporter>();
        builder.Services.AddSingleton<DeadSiloScenes>();
        builder.Services.AddSingleton(new TrainedModelCache());
        builder.Services.AddSingleton(new ViewWork(Math.Max(1, Environment.ProcessorCount / 2)));
        builder.Services.AddUniCLiftMetrics(); // grains inject UniCLiftMetrics on every silo, exporter or not
        builder.Services.AddHostedService<SiloMetricsAtStart>();
        builder.Services.AddHostedService<DataRootsAtStart>();

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(c =>
            {
                c.ClusterId = options.ClusterId;
                c.ServiceId = options.ServiceId;
            });
            if (options.SiloName is { } name) silo.Configure<SiloOptions>(o => o.SiloName = name);
            silo.UseSiloMetadata(metadata);
#pragma warning disable ORLEANSEXP003 // experimental in Orleans 10: see docs/DECISIONS.md, "Grain directory"
            silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
            silo.Services.AddPlacementFilter<ComputeSiloPlacementFilterStrategy, ComputeSiloPlacementFilterDirector>(ServiceLifetime.Singleton);
            silo.Services.AddPlacementDirector<TrainingSlotPlacement, TrainingSlotPlacementDirector>();
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ComputeLoadReporter>());
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<DeadSiloScenes>());
            silo.Configure<ReminderOptions>(o =>
            {
                if (options.ReminderPeriod < o.MinimumReminderPeriod) o.MinimumReminderPeriod = options.ReminderPeriod;
            });

            switch (options.Clustering.ToLowerInvariant())
            {
                case "localhost":
                    silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort);
                    silo.AddMemoryGrainStorage("uniclift");
                    silo.UseInMemoryReminderService();
                    break;
                case "redis":
                    if (string.IsNullOrWhiteSpace(options.Redis))
                        throw new SiloOptionsException("UniCLift:Clustering is 'redis' but UniCLift:Redis (host:port) is not set.");
                    silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(options.Redis));
                    silo.AddRedisGrainStorage("uniclift", o =>
                    {
                        o.ConfigurationOptions = ConfigurationOptions.Parse(options.Redis);
                        o.DeleteStateOnClear = true; // a forgotten batch (BatchIndexGrain retention) leaves no key behind
                    });
                    silo.UseRedisReminderService(o => o.ConfigurationOptions = ConfigurationOptions.Parse(options.Redis));
                    silo.ConfigureEndpoints(AdvertisedAddress(options.AdvertisedAddress), options.SiloPort, options.GatewayPort, options.ListenOnAnyAddress);
                    // Puts the membership table back should Redis lose it (restarted empty, flushed).
                    builder.Services.AddSingleton<RedisMembershipGuard>();
                    builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisMembershipGuard>());
                    break;
                default:
                    throw new SiloOptionsException($"UniCLift:Clustering must be 'localhost' or 'redis', not '{options.Clustering}'.");
            }
            configureSilo?.Invoke(silo);
        });
        // Grain state is plain records: written without Newtonsoft's "$type" and "$id" tags and read without honouring
        // them, so what is in Redis names no .NET type to construct (state older builds wrote with tags still loads).
        // After Orleans' own post-configuration, which sets its defaults (TypeNameHandling.All).
        builder.Services.PostConfigure<Orleans.Serialization.OrleansJsonSerializerOptions>(o =>
        {
            o.JsonSerializerSettings.TypeNameHandling = Newtonsoft.Json.TypeNameHandling.None;
            o.JsonSerializerSettings.PreserveReferencesHandling = Newtonsoft.Json.PreserveReferencesHandling.None;
        });
        return builder;
    }

    /// <summary>
    /// <see cref="UniCLiftSiloOptions.AdvertisedAddress"/> as an IP: parsed, or resolved (IPv4 first), or, when not set,
    /// the first non-loopback IPv4 address of an interface that is up, else loopback (Orleans' own choice throws on a
    /// host with loopback only). An address that does not resolve is an error naming the setting.
    /// </summary>
    internal static System.Net.IPAddress AdvertisedAddress(string? configured)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            var up = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up
                    && n.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(a => a.Address))
                .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a));
            return up ?? System.Net.IPAddress.Loopback;
        }
        if (System.Net.IPAddress.TryParse(configured, out var ip)) return ip;
        System.Net.IPAddress[] found;
        try { found = System.Net.Dns.GetHostAddresses(configured); }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new SiloOptionsException($"UniCLift:AdvertisedAddress '{configured}' is not an IP address and does not resolve: {e.Message}", e);
        }
        return found.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? found.FirstOrDefault()
            ?? throw new SiloOptionsException($"UniCLift:AdvertisedAddress '{configured}' resolves to no address.");
    }

    private static string[] PathList(string value) => value.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Says at start which directories clients may name, and warns when that is everything.</summary>
    private sealed class DataRootsAtStart(DataRoots roots, ILogger<DataRoots> log) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            log.LogInformation("Data roots: scenes {SceneRoots}; outputs {OutputRoots}; checkpoints {CheckpointDirectory}",
                string.Join(", ", roots.SceneRoots), string.Join(", ", roots.OutputRoots), roots.CheckpointDirectory);
            if (roots.SceneRoots.Concat(roots.OutputRoots).Any(r => r == Path.GetPathRoot(r)))
                log.LogWarning("A data root is '/': clients can make this silo read or write any file the process can (UniCLift:SceneRoots, UniCLift:OutputRoots).");
            // A root that does not exist (a typo, a volume not mounted) refuses every batch that names it; roots are
            // resolved at every check, so one made later counts, but say it now rather than at the first refusal.
            foreach (var (setting, list) in new[] { ("UniCLift:SceneRoots", roots.SceneRoots), ("UniCLift:OutputRoots", roots.OutputRoots) })
                foreach (var missing in list.Where(r => !Directory.Exists(r)))
                    log.LogWarning("Data root {Root} ({Setting}) does not exist: until it does, every scene that names a path under it fails.", missing, setting);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Creates the metrics when the silo host starts, so device and slot gauges are in the first scrape.</summary>
    private sealed class SiloMetricsAtStart(UniCLiftMetrics metrics, TrainingSlots slots, IOptions<UniCLiftSiloOptions> options) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var o = options.Value;
            // A non-compute silo reports no device rather than clearing it: several silos may share this process (tests).
            if (o.Compute) metrics.SetDevice(o.Device);
            if (o.Compute) metrics.SetSlots(slots.Active, slots.Capacity);
            else metrics.SetSlots(0, 0);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
