namespace UniCLift.Compute.Metrics;

/// <summary>
/// Figures of one class. Pq, Sq, Rq and the shares are percentages (0..100). SQ is 0 when TP = 0, PQ and RQ are 0 when
/// TP + FP + FN = 0 (as torch.where in Panoptic Lifting's _panoptic_quality_compute).
/// </summary>
public sealed record ClassResult(
    int ClassId,
    string? Name,
    bool IsThing,
    int TruePositives,
    int FalsePositives,
    int FalseNegatives,
    double IouSum,
    double Pq,
    double Sq,
    double Rq,
    double GtSharePercent,
    double PredSharePercent);

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
