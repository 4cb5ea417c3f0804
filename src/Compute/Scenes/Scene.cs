namespace UniCLift.Compute.Scenes;

/// <summary>
/// A scene: views with cameras, optional depth (in <see cref="DepthUnitsPerMeter"/> units per metre), predicted
/// per-view instance masks (ids not consistent across views), optional ground truth, train/test splits and an
/// optional initial point cloud.
/// </summary>
public sealed record Scene(
    string Root,
    SceneLayout Layout,
    IReadOnlyList<SceneView> Views,
    IReadOnlyList<string> TrainViews,
    IReadOnlyList<string> TestViews,
    string? PointCloudPath = null,
    double DepthUnitsPerMeter = 1000.0)
{
    public SceneView View(string name) =>
        Views.FirstOrDefault(v => v.Name == name) ?? throw new KeyNotFoundException($"Scene {Root} has no view named '{name}'.");

    public bool HasGroundTruth => Views.Any(v => v.GtInstancePath is not null);
    public bool HasMasks => Views.All(v => v.MaskPath is not null);
}
