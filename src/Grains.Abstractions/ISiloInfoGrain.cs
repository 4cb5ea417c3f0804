namespace UniCLift.Grains;

/// <summary>What a silo says about itself: used by the client to check the cluster is reachable.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.SiloInfo")]
public sealed record SiloInfo(
    [property: Id(0)] string SiloName,
    [property: Id(1)] bool IsCompute,
    [property: Id(2)] string Device,
    [property: Id(3)] int TrainingSlots,
    [property: Id(4)] string Version);

/// <summary>A stateless grain answering on whichever silo activates it.</summary>
[Alias("UniCLift.ISiloInfoGrain")]
public interface ISiloInfoGrain : IGrainWithIntegerKey
{
    [Alias("Describe")]
    Task<SiloInfo> Describe();
}
