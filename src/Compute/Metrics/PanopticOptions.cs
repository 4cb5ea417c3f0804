namespace UniCLift.Compute.Metrics;

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
