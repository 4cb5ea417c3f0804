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
