namespace UniCLift.Compute.Scenes;

/// <summary>
/// One posed view of a scene. Data is referenced by path and loaded on demand (a view grain or the trainer
/// loads what it needs), so a scene of hundreds of frames does not sit in memory twice.
/// Mask and ground-truth paths may be .png (8/16-bit) or .npy (integer arrays); see <see cref="SceneData"/>.
/// A view with a <see cref="Distortion"/> has a pinhole <see cref="Camera"/>: its image and label maps are undistorted to
/// that camera when <see cref="SceneData"/> loads them.
/// </summary>
public sealed record SceneView(
    string Name,
    Camera Camera,
    string ImagePath,
    string? DepthPath = null,
    string? MaskPath = null,
    string? GtInstancePath = null,
    string? GtSemanticPath = null,
    string? MaskSemanticPath = null,
    Distortion? Distortion = null);

/// <summary>Which data layout a scene directory was read from.</summary>
public enum SceneLayout { PanopticLifting, MessyRooms, Graphdeco, Nerfstudio, Colmap }

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
