namespace UniCLift.Grains.Placement;

using Microsoft.Extensions.Options;
using UniCLift.Grains.Hosting;

/// <summary>
/// The table behind <see cref="IComputeLoadGrain"/>, in memory only: if its silo dies it activates elsewhere and is
/// full again after one report interval (each silo keeps its last copy meanwhile). A silo not heard from for
/// <see cref="ExpiryReports"/> intervals is dropped.
/// </summary>
public sealed class ComputeLoadGrain(IOptions<UniCLiftSiloOptions> options, TimeProvider clock) : Grain, IComputeLoadGrain
{
    internal const int ExpiryReports = 5;
    private readonly Dictionary<SiloAddress, (ComputeSiloLoad Load, DateTimeOffset At)> silos = [];

    public Task<IReadOnlyList<ComputeSiloLoad>> Report(ComputeSiloLoad load)
    {
        ArgumentNullException.ThrowIfNull(load);
        // Two reports of one silo can cross (its periodic one and one it sent at once on a broken device): the newer stays.
        var now = clock.GetUtcNow();
        silos[load.Address] = silos.TryGetValue(load.Address, out var held) && held.Load.Sequence > load.Sequence ? (held.Load, now) : (load, now);
        return List();
    }

    public Task<IReadOnlyList<ComputeSiloLoad>> List()
    {
        var oldest = clock.GetUtcNow() - ExpiryReports * options.Value.LoadReportInterval;
        foreach (var gone in silos.Where(s => s.Value.At < oldest).Select(s => s.Key).ToList()) silos.Remove(gone);
        return Task.FromResult<IReadOnlyList<ComputeSiloLoad>>(silos.Values.Select(s => s.Load).ToList());
    }

    public Task Leave(SiloAddress silo)
    {
        silos.Remove(silo);
        return Task.CompletedTask;
    }
}
