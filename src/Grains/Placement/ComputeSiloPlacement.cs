namespace UniCLift.Grains.Placement;

using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

/// <summary>Silo metadata keys UniCLift publishes (UseSiloMetadata) and reads back in placement.</summary>
public static class SiloMetadataKeys
{
    /// <summary>"true" on silos that train scenes.</summary>
    public const string Compute = "compute";
    /// <summary>"true" on silos with a GPU (env ORLEANS__METADATA__gpu=true); such a silo is a compute silo too.</summary>
    public const string Gpu = "gpu";

    public static bool IsCompute(IReadOnlyDictionary<string, string> metadata) =>
        IsTrue(metadata, Compute) || IsTrue(metadata, Gpu);

    private static bool IsTrue(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out var v) && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Places a grain only on compute silos (silo metadata compute=true or gpu=true).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ComputeSiloPlacementFilterAttribute() : PlacementFilterAttribute(new ComputeSiloPlacementFilterStrategy());

public sealed class ComputeSiloPlacementFilterStrategy() : PlacementFilterStrategy(order: 0);

/// <summary>Keeps the candidate silos whose metadata says compute. A silo whose metadata has not reached this silo's
/// cache yet counts as non-compute, so a scene never lands on a silo that cannot train it; if no compute silo is
/// known, placement fails and the coordinator tries again on its next poll.</summary>
public sealed class ComputeSiloPlacementFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos) =>
        silos.Where(s => SiloMetadataKeys.IsCompute(metadata.GetSiloMetadata(s).Metadata));
}
