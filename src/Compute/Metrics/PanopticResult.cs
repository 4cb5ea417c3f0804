namespace UniCLift.Compute.Metrics;

/// <summary>
/// Scene-level panoptic quality. Pq, Sq, Rq are means over <see cref="Classes"/> (the classes kept after the robust
/// filter); PqThings / PqStuff are means over the thing / stuff classes among them (NaN when there are none).
/// All figures are percentages (0..100).
/// </summary>
public sealed record PanopticResult(
    double Pq,
    double Sq,
    double Rq,
    double PqThings,
    double SqThings,
    double RqThings,
    double PqStuff,
    IReadOnlyList<ClassResult> Classes,
    IReadOnlyList<int> DroppedClasses,
    int Frames,
    long Pixels);
