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
/// <para>A view with <see cref="SceneView.Downscale"/> N &gt; 1 (<see cref="Scene.Downscaled"/>) has files N times its
/// camera's size (plus up to N-1 pixels on the right and bottom, cropped): each map is read at the file's resolution,
/// checked, undistorted there (to the full-size pinhole camera, <see cref="Camera.Upscaled"/>) and then resampled to the
/// camera: the image by the mean over each N x N block (<see cref="AreaMean"/>), instance and semantic masks, ground
/// truth and depth by nearest neighbour, the pixel at each block's centre (N x + N/2, N y + N/2; <see cref="BlockCentres"/>),
/// so labels stay labels. Factor 1 returns the maps as read.</para>
/// </summary>
public static class SceneData
{
    public static RgbImage LoadImage(Scene scene, SceneView view) => LoadImage(view);

    /// <summary>The view's image, checked against its camera (the image needs nothing from the scene).</summary>
    public static RgbImage LoadImage(SceneView view)
    {
        var img = ImageIO.ReadRgb(view.ImagePath);
        Check(view, view.ImagePath, "image", img.Width, img.Height);
        if (view.Downscale > 1)
        {
            if (view.Distortion is { } d) img = Undistortion.Image(img, FileCamera(view, img.Width, img.Height), d);
            return AreaMean(img, view.Downscale);
        }
        return view.Distortion is { } dist ? Undistortion.Image(img, view.Camera, dist) : img;
    }

    public static DepthMap LoadDepth(Scene scene, SceneView view)
    {
        var path = Require(view, view.DepthPath, "depth");
        var d = ImageIO.ReadDepth(path, scene.DepthUnitsPerMeter);
        Check(view, path, "depth map", d.Width, d.Height);
        if (view.Downscale > 1)
        {
            if (view.Distortion is { } u) d = Undistortion.Depth(d, FileCamera(view, d.Width, d.Height), u);
            return BlockCentres(d, view.Downscale);
        }
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
        if (view.Downscale > 1)
        {
            // Segment Anything's masks take their size from their own files here (the image's may have a cropped remainder).
            var full = ImageIO.ReadLabels(p);
            Check(view, p, what, full.Width, full.Height);
            if (view.Distortion is { } d) full = Undistortion.Labels(full, FileCamera(view, full.Width, full.Height), d);
            return BlockCentres(full, view.Downscale);
        }
        var m = ImageIO.ReadLabels(p, view.Camera.Width, view.Camera.Height);
        Check(view, p, what, m.Width, m.Height);
        return view.Distortion is { } dist ? Undistortion.Labels(m, view.Camera, dist) : m;
    }

    /// <summary>The full-size pinhole camera of a downscaled view's file of <paramref name="width"/> x <paramref name="height"/>.</summary>
    private static Camera FileCamera(SceneView view, int width, int height) => view.Camera.Upscaled(view.Downscale, width, height);

    /// <summary>The image <paramref name="factor"/> times smaller: each pixel the mean of an N x N block (rounded to the
    /// nearest value), floor(W/N) x floor(H/N), the remainder on the right and bottom cropped.</summary>
    public static RgbImage AreaMean(RgbImage src, int factor)
    {
        if (factor == 1) return src;
        int w = src.Width / factor, h = src.Height / factor, n = factor * factor;
        var dst = new RgbImage(w, h);
        var s = src.Pixels;
        Parallel.For(0, h, y =>
        {
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    int sum = 0;
                    for (int j = 0; j < factor; j++)
                    {
                        int row = ((y * factor + j) * src.Width + x * factor) * 3 + c;
                        for (int i = 0; i < factor; i++) sum += s[row + i * 3];
                    }
                    dst.Pixels[(y * w + x) * 3 + c] = (byte)((sum + n / 2) / n);
                }
        });
        return dst;
    }

    /// <summary>The label map <paramref name="factor"/> times smaller by nearest neighbour: each pixel the one at its
    /// block's centre (N x + N/2, N y + N/2), floor(W/N) x floor(H/N).</summary>
    public static LabelMap BlockCentres(LabelMap src, int factor) =>
        factor == 1 ? src : new LabelMap(src.Width / factor, src.Height / factor, BlockCentres(src.Labels, src.Width, src.Height, factor));

    /// <inheritdoc cref="BlockCentres(LabelMap, int)"/>
    public static DepthMap BlockCentres(DepthMap src, int factor) =>
        factor == 1 ? src : new DepthMap(src.Width / factor, src.Height / factor, BlockCentres(src.Meters, src.Width, src.Height, factor));

    private static T[] BlockCentres<T>(T[] src, int width, int height, int factor)
    {
        int w = width / factor, h = height / factor, half = factor / 2;
        var dst = new T[w * h];
        for (int y = 0; y < h; y++)
        {
            int row = (y * factor + half) * width + half;
            for (int x = 0; x < w; x++) dst[y * w + x] = src[row + x * factor];
        }
        return dst;
    }

    private static string Require(SceneView view, string? path, string what) =>
        path ?? throw new InvalidOperationException($"View '{view.Name}' has no {what}.");

    private static void Check(SceneView view, string path, string what, int w, int h)
    {
        int n = view.Downscale, cw = view.Camera.Width, ch = view.Camera.Height;
        if (n > 1)
        {
            if (w / n != cw || h / n != ch)
                throw new InvalidDataException($"{path}: {what} is {w}x{h}, but view '{view.Name}' has a {cw}x{ch} camera at --downscale {n} " +
                                               $"(files of {cw * n}x{ch * n} to {cw * n + n - 1}x{ch * n + n - 1}).");
            return;
        }
        if (w != cw || h != ch)
            throw new InvalidDataException($"{path}: {what} is {w}x{h}, but view '{view.Name}' has a {cw}x{ch} camera" + (w == ch && h == cw
                ? " (turned by 90 degrees: pixels are used as stored, a JPEG's EXIF orientation is not applied, as COLMAP and nerfstudio do not; " +
                  "masks made by a tool that applies it must be turned back)."
                : "."));
    }
}
