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

/// <summary>Settings of <see cref="ScenePanopticQuality"/>. Defaults reproduce Panoptic Lifting's scene-level PQ.</summary>
public sealed record PanopticOptions
{
    public PanopticProtocol Protocol { get; init; } = PanopticProtocol.TwoClass;

    /// <summary>Drop classes whose pixel share is under <see cref="RobustMinShare"/> in the prediction or in the ground truth.</summary>
    public bool Robust { get; init; } = true;

    /// <summary>Panoptic Lifting's robustness_thres (0.005 = 0.5 % of the evaluated pixels).</summary>
    public double RobustMinShare { get; init; } = 0.005;

    /// <summary>Every frame is resized to Resize x Resize before counting (512 in Panoptic Lifting); 0 keeps the native size.</summary>
    public int Resize { get; init; } = 512;

    public NearestMode ResizeMode { get; init; } = NearestMode.PixelCentre;

    /// <summary>
    /// MultiClass only: the ground-truth semantic id that marks void pixels (Panoptic Lifting: 0); null = no void.
    /// The TwoClass protocol has no void (Messy Rooms' evaluation keeps every pixel).
    /// </summary>
    public int? GtVoidLabel { get; init; } = 0;

    public VoidHandling Void { get; init; } = VoidHandling.Remove;

    /// <summary>
    /// MultiClass only: the thing classes (all other classes are stuff). Null = every class that has an instance id &gt; 0
    /// somewhere in the ground truth. TwoClass always uses {1}.
    /// </summary>
    public IReadOnlySet<int>? ThingClasses { get; init; }

    /// <summary>Optional display names per class id.</summary>
    public IReadOnlyDictionary<int, string>? ClassNames { get; init; }

    internal void Validate()
    {
        if (Resize < 0) throw new ArgumentOutOfRangeException(nameof(Resize), Resize, "Resize must be 0 (native size) or a positive side length.");
        if (!(RobustMinShare >= 0 && RobustMinShare < 1))
            throw new ArgumentOutOfRangeException(nameof(RobustMinShare), RobustMinShare, "The robust share must be in [0, 1).");
        if (!Enum.IsDefined(Protocol)) throw new ArgumentOutOfRangeException(nameof(Protocol), Protocol, "Unknown protocol.");
        if (!Enum.IsDefined(Void)) throw new ArgumentOutOfRangeException(nameof(Void), Void, "Unknown void handling.");
    }
}
