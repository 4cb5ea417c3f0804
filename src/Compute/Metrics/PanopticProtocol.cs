namespace UniCLift.Compute.Metrics;

/// <summary>Which classes a panoptic evaluation uses.</summary>
public enum PanopticProtocol
{
    /// <summary>
    /// Messy Rooms / Contrastive Lift (calculate_panoptic_quality_folders_MOS): class 0 = background (stuff, one
    /// segment), class 1 = foreground (thing). The class of a pixel is 1 exactly when its instance id is &gt; 0, for the
    /// prediction and the ground truth alike; semantic maps are ignored. Fits a product that predicts instance maps only.
    /// </summary>
    TwoClass,

    /// <summary>
    /// Panoptic Lifting (calculate_panoptic_quality_folders): segment = (semantic class, instance id) from the semantic
    /// and instance maps of prediction and ground truth; stuff classes have their instance ids reset to 0.
    /// </summary>
    MultiClass,
}
