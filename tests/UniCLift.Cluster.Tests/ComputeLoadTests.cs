namespace UniCLift.Cluster.Tests;

using System.Net;
using Microsoft.Extensions.Options;
using UniCLift.Grains;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Placement;

/// <summary>The placement rule on a silo's copy of the compute-load table, without a cluster.</summary>
public sealed class ComputeLoadTests
{
    private static readonly SiloAddress A = Silo(1), B = Silo(2), C = Silo(3);

    private static SiloAddress Silo(int i) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11000 + i), i);

    private static ComputeSiloLoad Load(SiloAddress s, int capacity, int active, int waiting = 0, string? problem = null, params string[] scenes) =>
        new($"silo-{s.Endpoint.Port}", s, capacity, active, waiting, scenes, problem is null ? "cpu" : "cuda", problem);

    private static ComputeLoad Table(params ComputeSiloLoad[] silos)
    {
        var load = new ComputeLoad(Options.Create(new UniCLiftSiloOptions()), TimeProvider.System);
        load.Update(silos);
        return load;
    }

    [Fact]
    public void TheSiloWithAFreeSlotIsChosenAndAReservationCountsUntilTheSiloReportsTheScene()
    {
        var load = Table(Load(A, 1, 1), Load(B, 1, 0));
        Assert.Equal(B, load.Choose([A, B]));
        Assert.Equal(1, load.FreeSlots(_ => true));

        load.Reserve("s1", B);
        Assert.Equal(0, load.FreeSlots(_ => true));
        // Both full now: the shortest queue (equal: either), never a silo the caller cannot use.
        Assert.Equal(A, load.Choose([A]));

        load.Update([Load(A, 1, 1), Load(B, 1, 1, scenes: "s1")]); // B reports it: the reservation is dropped, not counted twice
        Assert.Equal(0, load.FreeSlots(_ => true));
        load.Update([Load(A, 1, 1), Load(B, 2, 1, scenes: "s1")]);
        Assert.Equal(1, load.FreeSlots(_ => true));
        Assert.Equal(B, load.Choose([A, B]));
    }

    [Fact]
    public void MostFreeSlotsWinsAndWhenAllAreBusyTheShortestQueue()
    {
        Assert.Equal(B, Table(Load(A, 2, 1), Load(B, 4, 1), Load(C, 1, 0)).Choose([A, B, C]));
        Assert.Equal(C, Table(Load(A, 1, 1, waiting: 2), Load(B, 1, 1, waiting: 1), Load(C, 1, 1)).Choose([A, B, C]));
    }

    [Fact]
    public void ABrokenDeviceIsChosenOnlyWhenNothingElseIsThereAndAnUnreportedSiloBeatsAFullOne()
    {
        var load = Table(Load(A, 4, 0, problem: "CUDA is not available"), Load(B, 1, 1));
        Assert.Equal(B, load.Choose([A, B]));           // busy but working beats idle but broken
        Assert.Equal(C, load.Choose([A, B, C]));        // C has not reported yet: maybe free
        Assert.Equal(A, load.Choose([A]));              // only the broken one: the scene fails there with the reason
        Assert.Equal(0, load.FreeSlots(_ => true));
        Assert.True(load.AnyWorking(_ => true));
        Assert.False(load.AnyWorking(s => s.Equals(A)));
        Assert.Null(Table().Choose([A, B]));            // nothing known: the director picks at random
    }

    /// <summary>
    /// A scene grain that answers Start from a silo whose device is broken moves on to the freest working silo: the
    /// coordinator counts the slot there, or it would start a second scene in the same slot (which then queued; a flaky
    /// CI run of PlacementClusterTests).
    /// </summary>
    [Fact]
    public void AStartAnsweredFromABrokenSiloReservesTheSlotItWillTake()
    {
        var load = Table(Load(A, 1, 0, problem: "CUDA is not available"), Load(B, 1, 0), Load(C, 2, 1));
        Assert.Equal(B, load.SlotHolder("silo-11002"));  // started where it trains
        Assert.Equal(B, load.SlotHolder("silo-11001"));  // broken device: where placement sends it (B and C have one free slot each: first)
        Assert.Equal(B, load.SlotHolder(null));
        Assert.Equal(B, load.SlotHolder("elsewhere"));   // a silo not in the table yet
        load.Reserve("s0", load.SlotHolder("silo-11001")!);
        Assert.Equal(1, load.FreeSlots(_ => true));      // C's slot is the only one left
        Assert.Equal(C, load.SlotHolder("silo-11001"));
        Assert.Null(Table(Load(A, 1, 0, problem: "CUDA is not available")).SlotHolder("silo-11001"));
    }

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now = new(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>
    /// A working silo whose reports are late drops out of the shared table for a moment; the broken silo left in it
    /// must not read as "only broken devices" (the coordinator would start every waiting scene into the working silo's
    /// queue: a flaky PlacementClusterTests run, peak waiting 1). Once the grace passes, or the silo is reported broken
    /// or dead, it no longer counts.
    /// </summary>
    [Fact]
    public void AWorkingSiloMissingFromTheTableStillCountsForAWhile()
    {
        var clock = new ManualClock();
        var load = new ComputeLoad(Options.Create(new UniCLiftSiloOptions()), clock);
        var broken = Load(A, 1, 0, problem: "CUDA is not available");
        load.Update([broken, Load(B, 1, 1)]);
        Assert.True(load.AnyWorking(_ => true));

        clock.Now += TimeSpan.FromSeconds(1);
        load.Update([broken]);                                // B's entry expired in the shared table
        Assert.Equal(0, load.FreeSlots(_ => true));
        Assert.True(load.AnyWorking(_ => true));              // within the grace: wait for B rather than start everything
        Assert.False(load.AnyWorking(s => !s.Equals(B)));     // unless membership says B is gone

        clock.Now += load.WorkingGrace;
        Assert.False(load.AnyWorking(_ => true));             // gone for longer than the grace: only the broken device is left
        load.Update([broken]);
        Assert.False(load.AnyWorking(_ => true));

        load.Update([broken, Load(B, 1, 0)]);
        load.Update([broken, Load(B, 1, 0, problem: "CUDA error: out of memory")]); // B broke: no grace for it
        Assert.False(load.AnyWorking(_ => true));
    }

    /// <summary>
    /// Two copies of the table reach a silo out of order (the coordinator's read and its silo's own report answer
    /// interleave): the older one must not undo what the newer one said. Here the newer one listed the reserved scene
    /// (so the reservation went) and the older one, from before the scene arrived, shows the slot free: taken as it
    /// came, it offered the slot again and a second scene queued behind the first (the flaky PlacementClusterTests run).
    /// </summary>
    [Fact]
    public void AnOlderReportOfASiloNeverReplacesANewerOne()
    {
        var load = Table(Load(A, 1, 0) with { Sequence = 7 });
        load.Reserve("s0", A);
        Assert.Equal(0, load.FreeSlots(_ => true));

        load.Update([Load(A, 1, 1, scenes: "s0") with { Sequence = 9 }]);  // A reports s0: the reservation is dropped
        Assert.Equal(0, load.FreeSlots(_ => true));
        load.Update([Load(A, 1, 0) with { Sequence = 8 }]);                // a copy read before that, applied after it
        Assert.Equal(0, load.FreeSlots(_ => true));
        Assert.Equal(["s0"], load.Silos.Single().Scenes);

        load.Update([Load(A, 1, 0) with { Sequence = 10 }]);               // s0 ended: the slot is free again
        Assert.Equal(1, load.FreeSlots(_ => true));
        load.Update([Load(A, 1, 0) with { Sequence = 10 }, Load(B, 2, 0) with { Sequence = 1 }]);
        Assert.Equal(3, load.FreeSlots(_ => true));                       // a silo new to the table comes in as reported
        load.Update([Load(B, 2, 0) with { Sequence = 2 }]);                // and one the table dropped goes
        Assert.Equal(2, load.FreeSlots(_ => true));
    }

    /// <summary>The shared table keeps a silo's newer report when an older one reaches it second (the periodic report
    /// and the one sent at once on a broken device can cross), and still counts the late one as a sign of life.</summary>
    [Fact]
    public async Task TheSharedTableKeepsTheNewerOfTwoCrossingReports()
    {
        var clock = new ManualClock();
        var grain = new ComputeLoadGrain(Options.Create(new UniCLiftSiloOptions()), clock);
        await grain.Report(Load(A, 1, 0, problem: "CUDA error: out of memory") with { Sequence = 2 });
        var table = await grain.Report(Load(A, 1, 0) with { Sequence = 1 });
        Assert.Equal("CUDA error: out of memory", table.Single().DeviceProblem);

        clock.Now += 4 * new UniCLiftSiloOptions().LoadReportInterval;
        await grain.Report(Load(A, 1, 0) with { Sequence = 1 });          // late, but A is alive: not expired
        clock.Now += 2 * new UniCLiftSiloOptions().LoadReportInterval;
        Assert.Equal(2, (await grain.List()).Single().Sequence);
        await grain.Report(Load(A, 1, 1) with { Sequence = 3 });
        Assert.Equal(1, (await grain.List()).Single().Active);
    }
}
