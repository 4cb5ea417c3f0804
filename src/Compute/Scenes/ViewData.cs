namespace UniCLift.Compute.Scenes;

/// <summary>In-memory data of one view, as the synthetic generator makes it and a layout writer stores it.</summary>
public sealed record ViewData(
    string Name,
    Camera Camera,
    RgbImage Image,
    DepthMap? Depth = null,
    LabelMap? Mask = null,
    LabelMap? MaskSemantic = null,
    LabelMap? GtInstance = null,
    LabelMap? GtSemantic = null);
