namespace UniCLift.Grains;

/// <summary>
/// One compute silo's training slots as it last reported them. <see cref="Waiting"/>: scenes placed there that wait
/// for a slot; <see cref="Scenes"/>: the scene ids it holds runs for (waiting or training); <see cref="DeviceProblem"/>:
/// why its device cannot train (a failed device check, one line), null while it works; <see cref="Sequence"/>: this
/// report's number among the silo's reports (increasing), so an older report that arrives late replaces no newer one.
/// </summary>
[GenerateSerializer, Immutable, Alias("UniCLift.ComputeSiloLoad")]
public sealed record ComputeSiloLoad(
    [property: Id(0)] string Silo,
    [property: Id(1)] SiloAddress Address,
    [property: Id(2)] int Capacity,
    [property: Id(3)] int Active,
    [property: Id(4)] int Waiting,
    [property: Id(5)] IReadOnlyList<string> Scenes,
    [property: Id(6)] string Device,
    [property: Id(7)] string? DeviceProblem = null,
    [property: Id(8)] long Sequence = 0)
{
    /// <summary>Slots nobody holds or waits for; 0 on a silo whose device does not work.</summary>
    public int Free => DeviceProblem is null ? Math.Max(0, Capacity - Active - Waiting) : 0;
}

/// <summary>
/// The cluster's table of compute silos and their training slots (key 0, in memory): every compute silo reports its
/// slots every <c>LoadReportInterval</c> and gets the table back; other silos read it. Placement of scene grains and
/// the coordinators' dispatch read each silo's copy of it (ComputeLoad).
/// </summary>
[Alias("UniCLift.IComputeLoadGrain")]
public interface IComputeLoadGrain : IGrainWithIntegerKey
{
    /// <summary>Records <paramref name="load"/> and returns every compute silo heard from recently.</summary>
    [Alias("Report")]
    Task<IReadOnlyList<ComputeSiloLoad>> Report(ComputeSiloLoad load);

    [Alias("List")]
    Task<IReadOnlyList<ComputeSiloLoad>> List();

    /// <summary>A silo that stops leaves the table at once (a dead one expires).</summary>
    [Alias("Leave")]
    Task Leave(SiloAddress silo);
}
