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

    /// <summary>The factor the views are downscaled by from their files (<see cref="SceneView.Downscale"/>; 1: the files' size).</summary>
    public int Downscale => Views.Count > 0 ? Views[0].Downscale : 1;

    /// <summary>
    /// The scene trained <paramref name="factor"/> times smaller than its files: every view's camera is
    /// <see cref="Camera.Downscaled"/> (floor(W/N) x floor(H/N), intrinsics divided by N, the remainder of the files cropped
    /// on the right and bottom) and <see cref="SceneData"/> resamples the files to it. Factor 1 is this scene itself.
    /// </summary>
    public Scene Downscaled(int factor)
    {
        if (factor < 1) throw new ArgumentOutOfRangeException(nameof(factor), factor, "A downscale factor is at least 1.");
        if (factor == 1) return this;
        var views = new List<SceneView>(Views.Count);
        foreach (var v in Views)
        {
            if (v.Camera.Width / factor < 1 || v.Camera.Height / factor < 1)
                throw new ArgumentException($"--downscale {factor}: view '{v.Name}' is {v.Camera.Width}x{v.Camera.Height}, which leaves no pixel at 1/{factor}.");
            views.Add(v with { Camera = v.Camera.Downscaled(factor), Downscale = v.Downscale * factor });
        }
        return this with { Views = views };
    }
}
