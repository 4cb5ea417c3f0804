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

    /// <summary>How many test views are also training views: their PQ is not held out. All of them when the layout names
    /// no splits (every frame is in both).</summary>
    public int TestViewsTrained
    {
        get { var train = TrainViews.ToHashSet(StringComparer.Ordinal); return TestViews.Count(train.Contains); }
    }

    /// <summary>Why a run of this scene measures no PQ (null: it does): no ground truth, or no test view.</summary>
    public string? NoPqReason => !HasGroundTruth ? "no ground truth" : TestViews.Count == 0 ? "no test views" : null;

    /// <summary>One line about test views that also train, when some but not all of the scene's views are in both splits
    /// (a layout that names its splits and lists a frame in both, by mistake or not); null otherwise. A layout without
    /// splits puts every view in both, as documented: not said here.</summary>
    public string? SplitOverlapNote
    {
        get
        {
            int shared = TestViewsTrained;
            if (shared == 0 || (shared == Views.Count && TrainViews.Count == Views.Count)) return null;
            return $"{shared} of the {TestViews.Count} test views are also training views: their PQ is not held out";
        }
    }

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
