namespace UniCLift.Compute.Scenes;

using System.Text.Json;

/// <summary>
/// A nerfstudio transforms.json scene: intrinsics fl_x, fl_y, cx, cy, w, h at the top level or per frame (per-frame
/// values win; fl_y defaults to fl_x, cx/cy to the image centre), frames [{file_path, transform_matrix}] with
/// transform_matrix the 4x4 camera-to-world in OpenGL axes (converted to OpenCV by negating the camera y and z axes),
/// optional ply_file_path (initial points, relative to the folder). Distortion k1 k2 k3 k4 p1 p2 (top level or per frame;
/// nerfstudio's OPENCV model: radial 1 + k1 r² + k2 r⁴ + k3 r⁶ + k4 r⁸ plus tangential p1 p2; camera_model OPENCV_FISHEYE:
/// the equidistant fisheye with k1..k4) gives the view a <see cref="Distortion"/>: its image and label maps are undistorted
/// to the pinhole camera fl_x fl_y cx cy when loaded.
/// <para>Masks: the explicit mask folder, else the first of masks/, m2f_instance/, detic_instance/, instance/ in the
/// folder, matched by the image file's stem, passing over the folders that frames' mask_path point into (nerfstudio's
/// masks: binary, which pixels to train on, not instances; ns-process-data writes them to masks/); ground truth in
/// gt_instance/ or rs_instance/. Splits: train_filenames /
/// test_filenames in transforms.json, else splits.json, else every frame in both. When an image's size differs from
/// w/h the intrinsics are scaled to the image.</para>
/// </summary>
public static class NerfstudioLayout
{
    public const string TransformsFile = "transforms.json";

    public static bool Detect(string dir) => File.Exists(Path.Combine(dir, TransformsFile));

    public static Scene Read(string dir) => Read(dir, null);

    public static Scene Read(string dir, string? maskDir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Scene directory not found: {dir}");
        if (maskDir is not null && !Directory.Exists(maskDir)) throw new DirectoryNotFoundException($"Mask folder not found: {maskDir}");
        var root = Path.GetFullPath(dir);
        var path = Path.Combine(root, TransformsFile);
        using var doc = LayoutFiles.ReadJson(path);
        var top = doc.RootElement;
        if (top.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected a JSON object with \"frames\".");
        var framesEl = LayoutFiles.Get(top, "frames", path, "the top-level object");
        if (framesEl.ValueKind != JsonValueKind.Array || framesEl.GetArrayLength() == 0)
            throw new InvalidDataException($"{path}: \"frames\" must be a non-empty list.");

        var entries = new List<(string Name, string Image, Camera Camera, Distortion? Distortion)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pixelMaskFolders = new HashSet<string>(StringComparer.Ordinal);
        int i = 0;
        foreach (var f in framesEl.EnumerateArray())
        {
            string where = $"frames[{i}]";
            var fp = LayoutFiles.Get(f, "file_path", path, where);
            if (fp.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(fp.GetString()))
                throw new InvalidDataException($"{path}: {where}.file_path must be a non-empty string.");
            var image = Path.GetFullPath(Path.Combine(root, fp.GetString()!));
            SceneFileGuard.Check(image, $"image ({where}.file_path of {path})");
            if (!File.Exists(image)) throw new InvalidDataException($"{image}: image of {where} in {path} not found.");
            var name = Path.GetFileNameWithoutExtension(image);
            if (!seen.Add(name)) throw new InvalidDataException($"{path}: two frames have images named '{name}'.");
            double? Opt(string key) =>
                f.TryGetProperty(key, out var v) ? LayoutFiles.Number(v, path, $"{where}.{key}")
                : top.TryGetProperty(key, out var t) ? LayoutFiles.Number(t, path, key) : null;
            double fx = Opt("fl_x") ?? throw new InvalidDataException($"{path}: no fl_x (focal length in pixels) at the top level or in {where}.");
            double fy = Opt("fl_y") ?? fx;
            var (iw, ih) = IO.ImageIO.ReadSize(image);
            int w = (int)(Opt("w") ?? iw), h = (int)(Opt("h") ?? ih);
            double cx = Opt("cx") ?? w / 2.0, cy = Opt("cy") ?? h / 2.0;
            var m = LayoutFiles.Matrix(LayoutFiles.Get(f, "transform_matrix", path, where), path, $"{where}.transform_matrix", 4, 4);
            if (Math.Abs(m[12]) > 1e-6 || Math.Abs(m[13]) > 1e-6 || Math.Abs(m[14]) > 1e-6 || Math.Abs(m[15] - 1) > 1e-6)
                throw new InvalidDataException($"{path}: {where}.transform_matrix last row must be 0 0 0 1.");
            var c2w = LayoutFiles.GlToCv(LayoutFiles.CheckRotation(m, $"{path}: {where}.transform_matrix"));
            var cam = new Camera(w, h, fx, fy, cx, cy, c2w).Validate($"{path}: {where}");
            var modelElement = f.TryGetProperty("camera_model", out var cm) ? cm : top.TryGetProperty("camera_model", out var tm) ? tm : default;
            string model = modelElement.ValueKind switch
            {
                JsonValueKind.Undefined or JsonValueKind.Null => "OPENCV",
                JsonValueKind.String => modelElement.GetString()!.ToUpperInvariant(),
                _ => throw new InvalidDataException($"{path}: {where}: camera_model is {modelElement.GetRawText()}, not a model name."),
            };
            // nerfstudio's others (EQUIRECTANGULAR, FISHEYE624, ...) are not pinhole cameras: read as one, they train on
            // wrong rays.
            if (model is not ("OPENCV" or "PINHOLE" or "SIMPLE_PINHOLE" or "OPENCV_FISHEYE"))
                throw new InvalidDataException($"{path}: {where}: camera_model {model} is not supported (OPENCV, PINHOLE, SIMPLE_PINHOLE, OPENCV_FISHEYE).");
            var dist = Distortion.OrNull(new Distortion(model, K1: Opt("k1") ?? 0, K2: Opt("k2") ?? 0, K3: Opt("k3") ?? 0, K4: Opt("k4") ?? 0,
                P1: Opt("p1") ?? 0, P2: Opt("p2") ?? 0, Fisheye: model == "OPENCV_FISHEYE"));
            if (dist is not null && dist.Fisheye && (dist.P1 != 0 || dist.P2 != 0))
                throw new InvalidDataException($"{path}: {where}: OPENCV_FISHEYE has no tangential coefficients p1 p2.");
            if (f.TryGetProperty("mask_path", out var mp))
            {
                if (mp.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(mp.GetString()))
                    throw new InvalidDataException($"{path}: {where}.mask_path must be a non-empty string.");
                pixelMaskFolders.Add(Path.GetDirectoryName(Path.GetFullPath(Path.Combine(root, mp.GetString()!)))!);
            }
            entries.Add((name, image, LayoutFiles.FitToImage(cam, image), dist));
            i++;
        }

        var frames = entries.Select(e => (e.Name, e.Name)).ToList();
        string?[] roots = [root];
        var labels = LayoutFiles.FindLabels(roots, maskDir, frames, pixelMaskFolders);
        var views = entries.Select(e => labels.View(e.Name, e.Camera, e.Image, e.Distortion)).ToList();
        var names = views.Select(v => v.Name).ToList();

        List<string> train, test;
        if (top.TryGetProperty("train_filenames", out var tr) && top.TryGetProperty("test_filenames", out var te))
        {
            List<string> Names(JsonElement arr, string key) => arr.ValueKind != JsonValueKind.Array
                ? throw new InvalidDataException($"{path}: \"{key}\" must be a list of file paths.")
                : arr.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? Path.GetFileNameWithoutExtension(e.GetString()!) : "")
                    .Select(n => seen.Contains(n) ? n : throw new InvalidDataException($"{path}: \"{key}\" names '{n}', which is not a frame.")).ToList();
            (train, test) = (Names(tr, "train_filenames"), Names(te, "test_filenames"));
            if (train.Count == 0) throw new InvalidDataException($"{path}: \"train_filenames\" is empty; list the frames to train on.");
        }
        else (train, test) = LayoutFiles.ReadSplits(Path.Combine(root, "splits.json"), names);

        string? cloud = null;
        if (top.TryGetProperty("ply_file_path", out var ply))
        {
            if (ply.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{path}: ply_file_path must be a string.");
            cloud = Path.GetFullPath(Path.Combine(root, ply.GetString()!));
            SceneFileGuard.Check(cloud, $"point cloud (ply_file_path of {path})");
            if (!File.Exists(cloud)) throw new InvalidDataException($"{cloud}: ply_file_path of {path} not found.");
        }
        return new Scene(root, SceneLayout.Nerfstudio, views, train, test, cloud);
    }
}
