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
    public static LabelMap LoadMask(SceneView view) => LoadLabels(view, view.MaskPath, "instance mask", resample: true);

    public static LabelMap LoadMaskSemantic(Scene scene, SceneView view) => LoadMaskSemantic(view);

    public static LabelMap LoadMaskSemantic(SceneView view) => LoadLabels(view, view.MaskSemanticPath, "semantic mask", resample: true);

    public static LabelMap LoadGtInstance(Scene scene, SceneView view) => LoadLabels(view, view.GtInstancePath, "ground-truth instance map");

    public static LabelMap LoadGtSemantic(Scene scene, SceneView view) => LoadLabels(view, view.GtSemanticPath, "ground-truth semantic map");

    /// <param name="resample">A predicted mask (instance, semantic) of the images' aspect but another size (a mask
    /// model run at half resolution, say) is resampled to the image file's size by nearest neighbour
    /// (<see cref="ResampledSize"/>); ground truth must match exactly, as the benchmark protocols score it.</param>
    private static LabelMap LoadLabels(SceneView view, string? path, string what, bool resample = false)
    {
        var p = Require(view, path, what);
        // Segment Anything's masks are sized by the camera (a view where it found nothing), or at --downscale by their
        // own files (the image's may have a cropped remainder).
        var m = view.Downscale > 1 ? ImageIO.ReadLabels(p) : ImageIO.ReadLabels(p, view.Camera.Width, view.Camera.Height);
        if (resample && ResampledSize(view, m.Width, m.Height) is { } size) m = Nearest(m, size.Width, size.Height);
        Check(view, p, what, m.Width, m.Height);
        if (view.Downscale > 1)
        {
            if (view.Distortion is { } d) m = Undistortion.Labels(m, FileCamera(view, m.Width, m.Height), d);
            return BlockCentres(m, view.Downscale);
        }
        return view.Distortion is { } dist ? Undistortion.Labels(m, view.Camera, dist) : m;
    }

    /// <summary>The size a predicted mask of <paramref name="width"/> x <paramref name="height"/> is resampled to for
    /// <paramref name="view"/>: its image file's (the camera's times its downscale), when the mask is not that size already
    /// (nor within a downscaled file's cropped remainder) and has the same aspect within 2% (each side a rounding of the
    /// same scale, as a mask model's output at half or a quarter of the image is); null otherwise.</summary>
    public static (int Width, int Height)? ResampledSize(SceneView view, int width, int height)
    {
        int n = view.Downscale, cw = view.Camera.Width * n, ch = view.Camera.Height * n;
        if (width / n == view.Camera.Width && height / n == view.Camera.Height) return null; // the file's own size
        if (width <= 0 || height <= 0) return null;
        double sx = (double)cw / width, sy = (double)ch / height;
        return Math.Abs(sx - sy) <= 0.02 * Math.Max(sx, sy) ? (cw, ch) : null;
    }

    /// <summary>One line for a user when the scene's masks (its first view's) are resampled to the images' size, or null.</summary>
    public static string? MaskResampleNote(Scene scene)
    {
        if (scene.Views.FirstOrDefault(v => v.MaskPath is not null) is not { } view) return null;
        if (IO.SamMasks.IsSamOutput(view.MaskPath!)) return null; // sized by the camera: never resampled
        var m = ImageIO.ReadLabels(view.MaskPath!);
        return ResampledSize(view, m.Width, m.Height) is { } size
            ? $"its instance masks are {m.Width}x{m.Height} and its images {size.Width}x{size.Height}: the masks are resampled to the images' size (nearest neighbour)"
            : null;
    }

    /// <summary>The label map resampled to <paramref name="width"/> x <paramref name="height"/> by nearest neighbour: each
    /// pixel the source pixel its centre falls in.</summary>
    public static LabelMap Nearest(LabelMap src, int width, int height)
    {
        var dst = new int[width * height];
        for (int y = 0; y < height; y++)
        {
            int sy = Math.Min(src.Height - 1, (int)((y + 0.5) * src.Height / height));
            for (int x = 0; x < width; x++)
                dst[y * width + x] = src.Labels[sy * src.Width + Math.Min(src.Width - 1, (int)((x + 0.5) * src.Width / width))];
        }
        return new LabelMap(width, height, dst);
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
