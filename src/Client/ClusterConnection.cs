namespace UniCLift.Client;

using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Spectre.Console;
using StackExchange.Redis;
using UniCLift.Grains;
using UniCLift.Grains.Hosting;

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

    public static async Task<ClusterConnection> ConnectAsync(string? redis, CancellationToken cancellationToken = default,
        string clusterId = "uniclift", string serviceId = "uniclift", Action<UniCLiftSiloOptions>? embeddedOptions = null)
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
            });
            var clientHost = builder.Build();
            try { await clientHost.StartAsync(cancellationToken); }
            catch (Exception e)
            {
                clientHost.Dispose();
                throw new InvalidOperationException($"cannot reach the cluster through Redis at '{redis}': {e.Message}", e);
            }
            return new ClusterConnection(clientHost, clientHost.Services.GetRequiredService<IClusterClient>(), false, $"cluster via Redis {redis}");
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

/// <summary>What the batch commands share: options, waiting with live progress, the summary table, exit codes.</summary>
internal static class BatchConsole
{
    public static System.CommandLine.Option<string?> RedisOption() => new("--redis")
    {
        Description = $"Redis address host:port of the cluster's membership table (default: env {ClusterConnection.RedisEnvironmentVariable}; none: an embedded silo in this process)",
    };

    public static System.CommandLine.Option<string> ModeOption() => new("--mode")
    {
        Description = "train (whole 3DGS + embeddings) or lift (geometry frozen from --ply)",
        DefaultValueFactory = _ => "train",
    };

    /// <summary>--iterations; <paramref name="defaultValue"/> null: the trainer's default (TrainingOptions).</summary>
    public static System.CommandLine.Option<int> IterationsOption(int? defaultValue = null) => new("--iterations")
    {
        Description = "training iterations",
        DefaultValueFactory = _ => defaultValue ?? new UniCLift.Compute.Training.TrainingOptions().Iterations,
    };

    /// <summary>The --mode value as the grain messages carry it.</summary>
    public static JobMode Mode(string? text) => text switch
    {
        "train" => JobMode.Train,
        "lift" => JobMode.Lift,
        _ => throw new ArgumentException($"mode must be 'train' or 'lift', got '{text}'."),
    };

    /// <summary>`--set Name=Value` (repeatable): a TrainingOptions knob for METHOD.md's open points; the JobOptions that carry
    /// them are validated before submitting (JobTraining.Validate).</summary>
    public static System.CommandLine.Option<string[]> SetOption() => new("--set")
    {
        Description = "training option Name=Value (repeatable), e.g. --set ClusterNormalisation=PerSegment; `uniclift bench segment --help` lists them",
    };

    /// <summary>The --set values, null when none.</summary>
    public static string[]? Settings(System.CommandLine.ParseResult parse, System.CommandLine.Option<string[]> set) =>
        parse.GetValue(set) is { Length: > 0 } values ? values : null;

    public static System.CommandLine.Option<ulong> SeedOption() => new("--seed")
    {
        Description = "random seed",
        DefaultValueFactory = _ => new UniCLift.Compute.Training.TrainingOptions().Seed,
    };

    public static string NewBatchId() =>
        $"b{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 2).ToLowerInvariant()}";

    /// <summary>Runs a command body: expected failures become one line on stderr and a non-zero exit code.</summary>
    public static async Task<int> Run(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (OperationCanceledException)
        {
            // The command's token was cancelled by SIGINT or SIGTERM (Cli.RunAsync says which in the exit code).
            Console.Error.WriteLine("uniclift: interrupted.");
            return UniCLift.Client.Terminal.ExitCodes.Interrupted;
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            Console.Error.WriteLine($"uniclift: {e.Message}");
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"uniclift: {e.GetType().Name}: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Cancels a batch the interrupted command started and was waiting for, so that its scenes stop at their next
    /// training step wherever they train (on a remote cluster too, where they would otherwise go on without the
    /// command); bounded, so the command still exits within seconds.
    /// </summary>
    public static async Task CancelInterruptedAsync(ClusterConnection cluster, string batchId)
    {
        var client = cluster.Client;
        try
        {
            await client.GetGrain<ICoordinatorGrain>(batchId).Cancel().WaitAsync(TimeSpan.FromSeconds(3));
            Console.Error.WriteLine($"uniclift: batch {batchId} cancelled.");
        }
        catch (Exception e)
        {
            // The embedded silo stops with the command anyway (its scenes checkpoint and stop at their next step).
            if (!cluster.IsEmbedded)
                Console.Error.WriteLine($"uniclift: batch {batchId} not cancelled ({e.GetType().Name}: {e.Message}); `uniclift cancel {batchId}` stops it.");
        }
    }

    /// <summary>0 when every scene is done; 1 with the reason otherwise.</summary>
    public static int ExitCode(BatchStatus status)
    {
        if (status.Cancelled) { Console.Error.WriteLine($"uniclift: batch {status.BatchId} was cancelled."); return 3; }
        var failed = status.Scenes.Where(s => s.Status.State != SceneState.Done).ToList();
        if (failed.Count == 0) return 0;
        Console.Error.WriteLine($"uniclift: {failed.Count} of {status.Scenes.Count} scenes failed; first: {failed[0].SceneDirectory}: {failed[0].Status.Error ?? failed[0].Status.State.ToString()}");
        return 1;
    }

    /// <summary>Polls the batch until it finishes, with live progress bars on a terminal and state-change lines otherwise.</summary>
    public static async Task<BatchStatus> WaitAsync(IClusterClient client, string batchId, CancellationToken ct)
    {
        var coordinator = client.GetGrain<ICoordinatorGrain>(batchId);
        var status = await coordinator.GetBatchStatus();
        if (!Spectre.Console.AnsiConsole.Profile.Capabilities.Interactive)
        {
            var seen = new Dictionary<string, SceneState>();
            while (true)
            {
                foreach (var s in status.Scenes)
                {
                    if (seen.TryGetValue(s.SceneId, out var last) && last == s.Status.State) continue;
                    seen[s.SceneId] = s.Status.State;
                    Console.WriteLine($"{s.SceneId}: {Describe(s)}");
                }
                if (status.IsFinished) return status;
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                status = await coordinator.GetBatchStatus();
            }
        }

        await Spectre.Console.AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new Spectre.Console.TaskDescriptionColumn { Alignment = Spectre.Console.Justify.Left },
                     new Spectre.Console.ProgressBarColumn(), new Spectre.Console.PercentageColumn(),
                     new Spectre.Console.RemainingTimeColumn(), new Spectre.Console.SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var bars = status.Scenes.ToDictionary(s => s.SceneId, s => ctx.AddTask(s.SceneId, maxValue: Math.Max(1, s.Status.Iterations)));
                while (true)
                {
                    foreach (var s in status.Scenes)
                    {
                        var bar = bars[s.SceneId];
                        bar.MaxValue = Math.Max(1, s.Status.Iterations);
                        bar.Value = Math.Min(s.Status.Step, bar.MaxValue);
                        bar.Description = Spectre.Console.Markup.Escape($"{Short(s.SceneId),-28} {Describe(s)}");
                        if (s.Status.State.IsTerminal()) bar.StopTask();
                    }
                    if (status.IsFinished) return;
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                    status = await coordinator.GetBatchStatus();
                }
            });
        return status;
    }

    public static string Describe(BatchSceneStatus s)
    {
        var st = s.Status;
        var parts = new List<string> { st.State.ToString().ToLowerInvariant() };
        if (st.State is SceneState.Training or SceneState.Trained or SceneState.Decoding or SceneState.Done)
            parts.Add($"step {st.Step}/{st.Iterations}");
        if (st.Losses is { } l) parts.Add($"loss {l.Total:F4} (rgb {l.Render:F4} clu {l.Cluster:F3} tri {l.Triplet:F3} 3d {l.Smooth:F3})");
        if (st.Gaussians > 0) parts.Add($"{st.Gaussians:N0} G");
        if (st.State == SceneState.Training && st.MillisecondsPerStep > 0)
            parts.Add($"eta {TimeSpan.FromMilliseconds(st.MillisecondsPerStep * (st.Iterations - st.Step)):hh\\:mm\\:ss}");
        if (st.Resumes > 0) parts.Add($"resumes {st.Resumes}");
        if (s.Retries > 0) parts.Add($"retries {s.Retries}");
        if (st.PqScene is { } pq) parts.Add($"PQ {pq:F3}");
        if (st.Error is { } e) parts.Add($"error: {e}");
        return string.Join(", ", parts);
    }

    public static void PrintSummary(BatchStatus status)
    {
        var table = new Spectre.Console.Table().AddColumns("scene", "state", "steps", "time", "PQ^scene", "retries", "resumes", "output / error");
        foreach (var s in status.Scenes)
        {
            var st = s.Status;
            table.AddRow(
                Spectre.Console.Markup.Escape(s.SceneDirectory), st.State.ToString(), $"{st.Step}/{st.Iterations}",
                $"{st.Seconds:F1} s", st.PqScene is { } pq ? pq.ToString("F4", System.Globalization.CultureInfo.InvariantCulture) : "-",
                s.Retries.ToString(System.Globalization.CultureInfo.InvariantCulture), st.Resumes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Spectre.Console.Markup.Escape(st.Error ?? st.OutputDirectory ?? ""));
        }
        Spectre.Console.AnsiConsole.Write(table);
        var finished = status.FinishedUtc is { } f ? $"finished in {(f - status.SubmittedUtc).TotalSeconds:F1} s" : "running";
        Console.WriteLine($"batch {status.BatchId}: {status.Done} done, {status.Failed} failed of {status.Scenes.Count}, {finished}{(status.Cancelled ? ", cancelled" : "")}");
    }

    private static string Short(string sceneId) => sceneId.Length <= 28 ? sceneId : "…" + sceneId[^27..];
}
