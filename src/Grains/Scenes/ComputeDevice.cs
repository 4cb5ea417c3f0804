namespace UniCLift.Grains.Scenes;

/// <summary>
/// Whether this silo's device trains. A scene whose run fails on the device itself (a CUDA problem: no CUDA libtorch,
/// no driver, no NVRTC, an unsupported architecture) marks it broken with that one line; from then on the silo reports
/// no free slot and placement sends scenes elsewhere. It stays broken until the silo restarts.
/// </summary>
public sealed class ComputeDevice(UniCLift.Grains.Telemetry.UniCLiftMetrics? metrics = null)
{
    private volatile string? problem;

    /// <summary>Why the device does not train (one line), or null while it works.</summary>
    public string? Problem => problem;

    public void MarkBroken(string reason)
    {
        problem ??= reason;
        metrics?.SetDeviceBroken(); // uniclift_device_broken 1, and no free slots in uniclift_training_slots
    }
}
