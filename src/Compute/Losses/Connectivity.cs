namespace UniCLift.Compute.Losses;

/// <summary>Which neighbours a boundary detector looks at.</summary>
public enum Connectivity
{
    Four = 4,
    Eight = 8,
}
