namespace UniCLift.Compute.Synthetic;

/// <summary>Where the cameras are.</summary>
public enum CameraPath
{
    /// <summary>One orbit between objects and walls; test views interleaved with training views.</summary>
    Orbit,
    /// <summary>Training views on the orbit; test views far from every training view: closer in and higher up,
    /// looking down at the objects from angles no training view has.</summary>
    FarTest,
}
