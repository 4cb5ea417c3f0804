namespace UniCLift.Grains;

/// <summary>What a failed call to the cluster means.</summary>
public static class ClusterCalls
{
    /// <summary>Failures of the messaging, not of the request: a silo gone, a connection refused, a message rejected or
    /// timed out (Orleans' own exceptions; its configuration errors are no <see cref="OrleansException"/>). Such a call may
    /// be asked again.</summary>
    public static bool IsTransient(Exception e) => e is TimeoutException or OrleansException;
}
