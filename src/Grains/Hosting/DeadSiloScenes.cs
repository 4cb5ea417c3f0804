namespace UniCLift.Grains.Hosting;

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UniCLift.Grains.Placement;

/// <summary>
/// Resumes the scenes of a silo as soon as the membership declares it dead. A scene grain resumes from its last
/// checkpoint when it is activated again, and something has to call it for that: its coordinator polls it every
/// <see cref="UniCLiftSiloOptions.SupervisionInterval"/>, but a coordinator that died with the same silo comes back
/// only on its reminder (<see cref="UniCLiftSiloOptions.ReminderPeriod"/>, a minute) or when a client asks for its
/// batch. So every silo remembers which scenes each compute silo last reported running (<see cref="ComputeLoad"/>,
/// refreshed every <see cref="UniCLiftSiloOptions.LoadReportInterval"/>; the shared table forgets a silo a few reports
/// after it stops reporting, this copy does not until the silo is dead) and, when one is declared dead, calls each of
/// its scenes once: the call activates the scene on a live compute silo, which resumes it. Every silo does so; the
/// scenes are activated once whoever calls first, and a status call has no other effect. A silo that stopped
/// gracefully is declared dead too: its scenes resume at once instead of at their coordinator's next poll.
/// </summary>
public sealed class DeadSiloScenes(
    IGrainFactory grains,
    ComputeLoad load,
    ISiloStatusOracle membership,
    ILocalSiloDetails silo,
    IOptions<UniCLiftSiloOptions> options,
    ILogger<DeadSiloScenes> log) : ILifecycleParticipant<ISiloLifecycle>, ISiloStatusListener, IDisposable
{
    /// <summary>How long the calls to a dead silo's scenes are retried (the directory may still point at it for a moment).</summary>
    public static readonly TimeSpan WakePatience = TimeSpan.FromSeconds(60);

    private readonly CancellationTokenSource stop = new();
    private readonly Dictionary<SiloAddress, IReadOnlyList<string>> running = [];
    private Task? loop;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(DeadSiloScenes), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken ct)
    {
        membership.SubscribeToSiloStatusEvents(this);
        loop = Task.Run(Remember);
        return Task.CompletedTask;
    }

    private async Task Stop(CancellationToken ct)
    {
        membership.UnSubscribeFromSiloStatusEvents(this);
        stop.Cancel();
        if (loop is { } l) await l.WaitAsync(ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Copies the scenes each compute silo reports, every report interval.</summary>
    private async Task Remember()
    {
        while (!stop.IsCancellationRequested)
        {
            lock (running)
                foreach (var s in load.Silos)
                    if (s.Address != silo.SiloAddress && membership.GetApproximateSiloStatus(s.Address) != SiloStatus.Dead)
                        running[s.Address] = s.Scenes;
            try { await Task.Delay(options.Value.LoadReportInterval, stop.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    public void SiloStatusChangeNotification(SiloAddress updatedSilo, SiloStatus status)
    {
        if (status != SiloStatus.Dead || updatedSilo == silo.SiloAddress) return;
        IReadOnlyList<string>? scenes;
        lock (running)
        {
            if (!running.Remove(updatedSilo, out scenes) || scenes.Count == 0) return;
        }
        log.LogInformation("Silo {Silo} is dead; resuming its scenes elsewhere: {Scenes}", updatedSilo, string.Join(", ", scenes));
        foreach (var scene in scenes) _ = Task.Run(() => Wake(scene));
    }

    private async Task Wake(string sceneId)
    {
        var deadline = DateTime.UtcNow + WakePatience;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var status = await grains.GetGrain<ISceneGrain>(sceneId).GetStatus();
                log.LogDebug("Scene {Scene} is {State} on {Silo} after its silo died", sceneId, status.State, status.Silo);
                return;
            }
            catch (Exception e) when (DateTime.UtcNow < deadline)
            {
                log.LogDebug(e, "Scene {Scene} not reached yet after its silo died", sceneId);
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Scene {Scene} not reached within {Patience} after its silo died; its coordinator resumes it", sceneId, WakePatience);
                return;
            }
            try { await Task.Delay(TimeSpan.FromSeconds(1), stop.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    public void Dispose() => stop.Cancel();
}
