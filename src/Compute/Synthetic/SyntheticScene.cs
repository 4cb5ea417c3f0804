namespace UniCLift.Compute.Synthetic;

using UniCLift.Compute.Scenes;

/// <summary>
/// A generated scene in memory. Points: [N*3] world xyz, PointColors: [N*3] RGB. Views carry the image, depth
/// (along the optical axis, metres), predicted mask (ids permuted per view), predicted semantics, and ground truth.
/// </summary>
public sealed record SyntheticScene(
    SyntheticSceneOptions Options,
    IReadOnlyList<ViewData> Views,
    float[] Points,
    byte[] PointColors,
    IReadOnlyList<string> TrainViews,
    IReadOnlyList<string> TestViews,
    IReadOnlyList<SyntheticObject> Objects,
    IReadOnlyList<(int A, int B)> TouchingPairs,
    IReadOnlyList<ViewCorruption> Corruption,
    double[] LightPosition);
