namespace UniCLift.Compute.Metrics;

/// <summary>What happens to pixels whose ground truth is void (see <see cref="PanopticOptions.GtVoidLabel"/>).</summary>
public enum VoidHandling
{
    /// <summary>
    /// Panoptic Lifting: such pixels are removed from both prediction and ground truth before anything is counted
    /// (valid_mask = ~isin(gt_semantics, faulty_gt=[0])); they count neither in areas nor in the robust pixel shares.
    /// </summary>
    Remove,

    /// <summary>
    /// COCO panoptic style: the pixels stay, as the void segment. They are taken out of the union of a match
    /// (union = pred + gt - intersection - pred∩void), predicted segments more than half void are not false positives,
    /// and they count in the robust shares' denominator.
    /// </summary>
    VoidAware,
}
