namespace UniCLift.Grains.Placement;

using Microsoft.Extensions.Options;
using UniCLift.Grains.Hosting;

/// <summary>
/// This silo's copy of the cluster's compute-silo table (<see cref="IComputeLoadGrain"/>, refreshed every
/// <see cref="UniCLiftSiloOptions.LoadReportInterval"/> by <see cref="ComputeLoadReporter"/>) plus the scenes this
/// silo placed since: a reservation counts against its silo's free slots until that silo reports the scene (or the
/// scene stops needing a slot, or <see cref="ReservationLifetime"/> passes). Scene placement
/// (<see cref="TrainingSlotPlacementDirector"/>) picks from it, and coordinators start a scene only while
/// <see cref="FreeSlots"/> says a slot is free somewhere.
/// </summary>
public sealed class ComputeLoad(IOptions<UniCLiftSiloOptions> options, TimeProvider clock)
{
    private readonly object gate = new();
    private readonly Dictionary<string, (SiloAddress Silo, DateTimeOffset At)> reservations = new(StringComparer.Ordinal);
    private readonly Dictionary<SiloAddress, DateTimeOffset> workingSeen = [];
    private IReadOnlyList<ComputeSiloLoad> silos = [];
    private DateTimeOffset refreshed = DateTimeOffset.MinValue;

    private TimeSpan Interval => options.Value.LoadReportInterval;
    /// <summary>Older than this the table is not trusted and dispatch falls back to starting every scene.</summary>
    public TimeSpan StaleAfter => ComputeLoadGrain.ExpiryReports * Interval;
    public TimeSpan ReservationLifetime => TimeSpan.FromSeconds(5) + 4 * Interval;
    /// <summary>
    /// How long a working silo that dropped out of the table still counts for <see cref="AnyWorking"/>: the table
    /// forgets a silo whose reports are late (a busy machine), and without it a table left with broken devices only
    /// reads as "nothing works here", so a coordinator starts every waiting scene at once, into the one working silo's
    /// queue when it reports again.
    /// </summary>
    public TimeSpan WorkingGrace => ReservationLifetime;

    public bool IsFresh { get { lock (gate) return clock.GetUtcNow() - refreshed < StaleAfter; } }

    public IReadOnlyList<ComputeSiloLoad> Silos { get { lock (gate) return silos; } }

    /// <summary>
    /// Takes a copy of the shared table. Copies can arrive out of order (a coordinator's read and its silo's own report
    /// answer interleave), so a silo's entry is replaced only by a newer report of it (<see cref="ComputeSiloLoad.Sequence"/>):
    /// an older one, from before a scene arrived there, would undo the newer one that dropped the scene's reservation
    /// and offer its slot a second time. Silos missing from the copy go (expired or left; <see cref="WorkingGrace"/>).
    /// </summary>
    public void Update(IReadOnlyList<ComputeSiloLoad> table)
    {
        ArgumentNullException.ThrowIfNull(table);
        lock (gate)
        {
            var held = silos.ToDictionary(s => s.Address);
            silos = table.Select(s => held.TryGetValue(s.Address, out var h) && h.Sequence > s.Sequence ? h : s).ToList();
            refreshed = clock.GetUtcNow();
            foreach (var s in silos)
            {
                if (s.DeviceProblem is null) workingSeen[s.Address] = refreshed;
                else workingSeen.Remove(s.Address);
            }
            foreach (var (address, at) in workingSeen.ToList())
                if (refreshed - at >= WorkingGrace) workingSeen.Remove(address);
            var expired = refreshed - ReservationLifetime;
            var seen = silos.SelectMany(s => s.Scenes).ToHashSet(StringComparer.Ordinal);
            foreach (var (scene, r) in reservations.ToList())
                if (r.At < expired || seen.Contains(scene)) reservations.Remove(scene);
        }
    }

    /// <summary>A scene is about to take a slot on <paramref name="silo"/>.</summary>
    public void Reserve(string sceneId, SiloAddress silo)
    {
        lock (gate) reservations[sceneId] = (silo, clock.GetUtcNow());
    }

    /// <summary>The scene no longer needs a slot (it failed, finished or was cancelled before its silo reported it).</summary>
    public void Release(string sceneId)
    {
        lock (gate) reservations.Remove(sceneId);
    }

    /// <summary>
    /// Where a scene just started on <paramref name="siloName"/> will take its slot: that silo when its device works;
    /// when it is broken or not in the table (the scene grain was reached there through a cached location and moves on
    /// to where placement puts it), the working silo with the most free slots, as placement would pick. Null: none known.
    /// </summary>
    public SiloAddress? SlotHolder(string? siloName)
    {
        lock (gate)
        {
            var named = siloName is null ? null : silos.FirstOrDefault(s => s.Silo == siloName);
            if (named is { DeviceProblem: null }) return named.Address;
            return silos.Where(s => s.DeviceProblem is null).OrderByDescending(ScoreLocked).FirstOrDefault()?.Address;
        }
    }

    /// <summary>Free slots over the working compute silos that <paramref name="alive"/> accepts, reservations deducted.</summary>
    public int FreeSlots(Func<SiloAddress, bool> alive)
    {
        lock (gate) return silos.Where(s => s.DeviceProblem is null && alive(s.Address)).Sum(s => Math.Max(0, ScoreLocked(s)));
    }

    /// <summary>Whether a working compute silo other than <paramref name="self"/> has a free slot (reservations deducted).</summary>
    public bool FreeSlotElsewhere(SiloAddress self)
    {
        lock (gate) return silos.Any(s => !s.Address.Equals(self) && s.DeviceProblem is null && ScoreLocked(s) > 0);
    }

    /// <summary>
    /// Whether some compute silo that <paramref name="alive"/> accepts has a working device: in the table, or seen
    /// working within <see cref="WorkingGrace"/> and not reported broken since.
    /// </summary>
    public bool AnyWorking(Func<SiloAddress, bool> alive)
    {
        lock (gate)
        {
            if (silos.Any(s => s.DeviceProblem is null && alive(s.Address))) return true;
            var now = clock.GetUtcNow();
            return workingSeen.Any(kv => now - kv.Value < WorkingGrace && alive(kv.Key));
        }
    }

    /// <summary>
    /// The silo for a scene among <paramref name="compatible"/>: a working one with the most free slots (reservations
    /// deducted); when none is free, one not reported yet, else the working one with the shortest queue; a silo whose
    /// device failed only when nothing else is there (the scene then fails with its reason). Null: nothing known.
    /// </summary>
    public SiloAddress? Choose(IReadOnlyList<SiloAddress> compatible)
    {
        lock (gate)
        {
            var known = silos.Where(s => compatible.Contains(s.Address)).ToList();
            if (known.Count == 0) return null;
            var working = known.Where(s => s.DeviceProblem is null).ToList();
            var unknown = compatible.Where(a => known.All(s => !s.Address.Equals(a))).ToList();
            if (working.Count > 0)
            {
                int best = working.Max(ScoreLocked);
                if (best > 0 || unknown.Count == 0)
                {
                    var top = working.Where(s => ScoreLocked(s) == best).ToList();
                    return top[Random.Shared.Next(top.Count)].Address;
                }
            }
            if (unknown.Count > 0) return unknown[Random.Shared.Next(unknown.Count)];
            return known[Random.Shared.Next(known.Count)].Address;
        }
    }

    /// <summary>Free slots minus waiting scenes minus this silo's reservations there that it has not reported yet.</summary>
    private int ScoreLocked(ComputeSiloLoad s) =>
        s.Capacity - s.Active - s.Waiting - reservations.Count(r => r.Value.Silo.Equals(s.Address) && !s.Scenes.Contains(r.Key));
}
