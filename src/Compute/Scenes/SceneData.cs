namespace UniCLift.Compute.Scenes;

using UniCLift.Compute.IO;

/// <summary>
/// Loads a view's data on demand and checks that every loaded map has the camera's size, so a mask made at another
/// resolution fails here with a message naming the file and both sizes rather than deep inside training.
/// Loading optional data a view does not have (e.g. <see cref="LoadMask"/> when MaskPath is null) throws
/// <see cref="InvalidOperationException"/>; check the path first.
/// <para>A view with a <see cref="SceneView.Distortion"/> gets every map undistorted to its pinhole camera here
/// (<see cref="Undistortion"/>: bilinear for the image, nearest neighbour for depth and labels, 0 where the source is
/// outside the image).</para>
/// </summary>
public static class SceneData
{
    public static RgbImage LoadImage(Scene scene, SceneView view) => LoadImage(view);

    /// <summary>The view's image, checked against its camera (the image needs nothing from the scene).</summary>
    public static RgbImage LoadImage(SceneView view)
    {
        var img = ImageIO.ReadRgb(view.ImagePath);
        Check(view, view.ImagePath, "image", img.Width, img.Height);
        return view.Distortion is { } dist ? Undistortion.Image(img, view.Camera, dist) : img;
    }

    public static DepthMap LoadDepth(Scene scene, SceneView view)
    {
        var path = Require(view, view.DepthPath, "depth");
        var d = ImageIO.ReadDepth(path, scene.DepthUnitsPerMeter);
        Check(view, path, "depth map", d.Width, d.Height);
        return view.Distortion is { } dist ? Undistortion.Depth(d, view.Camera, dist) : d;
    }

    /// <summary>The predicted per-view instance mask (ids not consistent across views).</summary>
    public static LabelMap LoadMask(Scene scene, SceneView view) => LoadMask(view);

    /// <inheritdoc cref="LoadMask(Scene, SceneView)"/>
    public static LabelMap LoadMask(SceneView view) => LoadLabels(view, view.MaskPath, "instance mask");

    public static LabelMap LoadMaskSemantic(Scene scene, SceneView view) => LoadMaskSemantic(view);

    public static LabelMap LoadMaskSemantic(SceneView view) => LoadLabels(view, view.MaskSemanticPath, "semantic mask");

    public static LabelMap LoadGtInstance(Scene scene, SceneView view) => LoadLabels(view, view.GtInstancePath, "ground-truth instance map");

    public static LabelMap LoadGtSemantic(Scene scene, SceneView view) => LoadLabels(view, view.GtSemanticPath, "ground-truth semantic map");

    private static LabelMap LoadLabels(SceneView view, string? path, string what)
    {
        var p = Require(view, path, what);
        var m = ImageIO.ReadLabels(p, view.Camera.Width, view.Camera.Height);
        Check(view, p, what, m.Width, m.Height);
        return view.Distortion is { } dist ? Undistortion.Labels(m, view.Camera, dist) : m;
    }

    private static string Require(SceneView view, string? path, string what) =>
        path ?? throw new InvalidOperationException($"View '{view.Name}' has no {what}.");

    private static void Check(SceneView view, string path, string what, int w, int h)
    {
        if (w != view.Camera.Width || h != view.Camera.Height)
            throw new InvalidDataException($"{path}: {what} is {w}x{h}, but view '{view.Name}' has a {view.Camera.Width}x{view.Camera.Height} camera.");
    }
}
