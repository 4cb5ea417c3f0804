namespace UniCLift.Grains.Placement;

using Orleans.Placement;
using Orleans.Runtime.Placement;

/// <summary>
/// Places a scene grain on the compute silo with the most free training slots (see <see cref="ComputeLoad.Choose"/>),
/// among the silos the compute filter (<see cref="ComputeSiloPlacementFilterAttribute"/>) leaves.
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("UniCLift.TrainingSlotPlacement")]
public sealed class TrainingSlotPlacement : PlacementStrategy
{
    /// <summary>Request-context key a caller sets when the call starts training: the placement then reserves a slot.</summary>
    public const string StartsTraining = "uniclift-starts-training";
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class TrainingSlotPlacementAttribute() : PlacementAttribute(new TrainingSlotPlacement());

/// <summary>The director behind <see cref="TrainingSlotPlacement"/>; with no load known yet (a silo just started), random.</summary>
public sealed class TrainingSlotPlacementDirector(ComputeLoad load) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hint) return Task.FromResult(hint);
        var chosen = load.Choose(compatible) ?? compatible[Random.Shared.Next(compatible.Length)];
        if (target.RequestContextData?.ContainsKey(TrainingSlotPlacement.StartsTraining) == true)
            load.Reserve(target.GrainIdentity.Key.ToString()!, chosen);
        return Task.FromResult(chosen);
    }
}
