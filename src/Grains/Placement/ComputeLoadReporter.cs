namespace UniCLift.Grains.Placement;

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Scenes;

/// <summary>
/// Every silo, from the moment it is active: every <see cref="UniCLiftSiloOptions.LoadReportInterval"/> a compute silo
/// reports its slots to <see cref="IComputeLoadGrain"/> and any silo copies the table back into its
/// <see cref="ComputeLoad"/>. A silo that stops gracefully leaves the table first.
/// </summary>
public sealed class ComputeLoadReporter(
    IGrainFactory grains,
    ComputeLoad load,
    TrainingSlots slots,
    SceneRunner runner,
    ComputeDevice device,
    ILocalSiloDetails silo,
    IOptions<UniCLiftSiloOptions> options,
    ILogger<ComputeLoadReporter> log) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private Task? loop;
    private long sequence; // numbers this silo's reports, so a copy of the table never takes an older one for a newer

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ComputeLoadReporter), ServiceLifecycleStage.Active, Start, Stop);

    /// <summary>What this silo would report now (null on a silo that does not compute).</summary>
    public ComputeSiloLoad? Current()
    {
        var o = options.Value;
        if (!o.Compute) return null;
        // The scene list first: a scene that starts between these reads is then counted (as waiting) without being
        // listed, which only keeps its coordinator's reservation a report longer; listed but not yet counted would
        // drop the reservation and offer its slot a second time.
        var scenes = runner.SceneIds;
        int active = slots.Active;
        int waiting = Math.Max(slots.Waiting, runner.Running - active);
        return new ComputeSiloLoad(silo.Name, silo.SiloAddress, slots.Capacity, active, waiting, scenes, o.Device, device.Problem,
            Interlocked.Increment(ref sequence));
    }

    /// <summary>Reports at once (a scene found the device broken): the table and this silo's copy say so before the
    /// scene's failure is visible to its coordinator.</summary>
    public async Task ReportNowAsync()
    {
        if (Current() is { } mine) load.Update(await grains.GetGrain<IComputeLoadGrain>(0).Report(mine));
    }

    private Task Start(CancellationToken ct)
    {
        var o = options.Value;
        if (o.Compute && o.CheckDeviceAtStart && !string.Equals(o.Device.Trim(), "cpu", StringComparison.OrdinalIgnoreCase))
            _ = Task.Run(() => CheckDevice(o.Device));
        loop = Task.Run(Loop);
        return Task.CompletedTask;
    }

    /// <summary>The device check a scene would meet first (loads libtorch, so off the start path).</summary>
    private void CheckDevice(string name)
    {
        string? problem;
        try { problem = Compute.Cuda.CudaRuntime.Problem(Compute.Cuda.CudaRuntime.Ordinal(Compute.Cuda.CudaRuntime.ParseDevice(name))); }
        catch (Exception e) { problem = Compute.FailurePolicy.Describe(e); }
        if (problem is null) return;
        device.MarkBroken(problem);
        log.LogWarning("Silo {Silo}: device {Device} does not train ({Problem}); it takes no scenes", silo.Name, name, problem);
    }

    private async Task Stop(CancellationToken ct)
    {
        stop.Cancel();
        if (loop is { } l) await l.WaitAsync(ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (options.Value.Compute && !ct.IsCancellationRequested)
        {
            try { await grains.GetGrain<IComputeLoadGrain>(0).Leave(silo.SiloAddress).WaitAsync(TimeSpan.FromSeconds(2), ct); }
            catch (Exception e) { log.LogDebug(e, "Compute load: leaving the table failed (the entry expires)"); }
        }
    }

    private async Task Loop()
    {
        var table = grains.GetGrain<IComputeLoadGrain>(0);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                load.Update(Current() is { } mine ? await table.Report(mine) : await table.List());
            }
            catch (Exception e) when (!stop.IsCancellationRequested)
            {
                // The table's silo is moving or the cluster is starting: the copy ages, and goes stale if this lasts.
                log.LogDebug(e, "Compute load: report failed");
            }
            catch (Exception) { return; }
            try { await Task.Delay(options.Value.LoadReportInterval, stop.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    public void Dispose() => stop.Cancel();
}
