namespace UniCLift.Compute.Scenes;

using System.Text.Json;
using UniCLift.Compute.IO;

/// <summary>
/// The Messy Rooms layout (Contrastive Lift's Kubric scenes): color/*.png (or rgba/*.png), metadata.json,
/// detic_instance/*.npy (predicted masks), optional detic_semantic/*.npy, ground truth instance/*.npy and
/// semantic/*.npy, optional depth/*.png (mm).
/// <para>Cameras follow Contrastive Lift's loader: camera.K is a 3x3 normalised by the image size with Kubric's signs
/// (fx = |K00| W, cx = |K02| W, fy = |K11| H, cy = |K12| H); camera.positions[i] is the centre and
/// camera.quaternions[i] (w, x, y, z) the camera-to-world rotation in Blender camera axes (y up, looking along -z),
/// converted to OpenCV by negating the camera y and z axes. Frame i (frames sorted numerically) uses entry i; when
/// metadata holds more entries than frames, an integer frame name is its index.</para>
/// <para>Splits: test = the last 20 % of frames (from index floor(0.8 n)), train = the rest, as in Contrastive Lift.</para>
/// </summary>
public static class MessyRoomsLayout
{
    public const string MetadataFile = "metadata.json";
    public const string MaskDir = "detic_instance", MaskSemanticDir = "detic_semantic", GtInstanceDir = "instance", GtSemanticDir = "semantic";
    public const double TrainFraction = 0.8;

    public static bool Detect(string dir) =>
        File.Exists(Path.Combine(dir, MetadataFile)) && (Directory.Exists(Path.Combine(dir, "color")) || Directory.Exists(Path.Combine(dir, "rgba")));

    public static Scene Read(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Scene directory not found: {dir}");
        var root = Path.GetFullPath(dir);
        var colorDir = new[] { "color", "rgba" }.Select(n => Path.Combine(root, n)).FirstOrDefault(Directory.Exists)
            ?? throw new InvalidDataException($"{Path.Combine(root, "color")}: missing colour folder (Messy Rooms needs color/ or rgba/ and metadata.json).");
        var colour = LayoutFiles.ByStem(colorDir, [".png"]);
        if (colour.Count == 0) throw new InvalidDataException($"{colorDir}: no .png colour images.");
        var frames = PanopticLiftingLayout.SortFrames(colour.Keys);
        var (width, height) = ImageIO.ReadSize(colour[frames[0]]);

        var metaPath = Path.Combine(root, MetadataFile);
        var (k, positions, quaternions) = ReadMetadata(metaPath);
        double fx = Math.Abs(k[0]) * width, cx = Math.Abs(k[2]) * width, fy = Math.Abs(k[4]) * height, cy = Math.Abs(k[5]) * height;

        var stems = frames.Select(f => (f, f)).ToList();
        var mask = LayoutFiles.Cover(Existing(root, MaskDir), stems, LayoutFiles.MaskExtensions, "instance mask", folders: true);
        var maskSem = LayoutFiles.Cover(Existing(root, MaskSemanticDir), stems, LayoutFiles.LabelExtensions, "semantic mask");
        var gtInst = LayoutFiles.Cover(Existing(root, GtInstanceDir), stems, LayoutFiles.LabelExtensions, "ground-truth instance map");
        var gtSem = LayoutFiles.Cover(Existing(root, GtSemanticDir), stems, LayoutFiles.LabelExtensions, "ground-truth semantic map");
        var depth = LayoutFiles.Cover(Existing(root, "depth"), stems, [".png"], "depth map");

        var views = new List<SceneView>(frames.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            var f = frames[i];
            int index = i;
            if (positions.Count != frames.Count)
            {
                if (!int.TryParse(f, out index) || index < 0 || index >= positions.Count)
                    throw new InvalidDataException($"{metaPath}: has {positions.Count} cameras for {frames.Count} frames, and frame '{f}' is not an index into them.");
            }
            var q = quaternions[index];
            var p = positions[index];
            var c2w = LayoutFiles.GlToCv(LayoutFiles.Rigid(LayoutFiles.QuaternionToMatrix(q[0], q[1], q[2], q[3], $"{metaPath}: camera.quaternions[{index}]"), p[0], p[1], p[2]));
            var cam = new Camera(width, height, fx, fy, cx, cy, c2w).Validate($"{metaPath} (frame '{f}')");
            var (w, h) = ImageIO.ReadSize(colour[f]);
            if (w != width || h != height)
                throw new InvalidDataException($"{colour[f]}: image is {w}x{h}, but {Path.GetFileName(colour[frames[0]])} is {width}x{height}; metadata.json has one K for all frames.");
            views.Add(new SceneView(f, cam, colour[f], depth?[f], mask?[f], gtInst?[f], gtSem?[f], maskSem?[f]));
        }

        int cut = (int)(frames.Count * TrainFraction);
        var train = frames.Take(cut).ToList();
        var test = frames.Skip(cut).ToList();
        return new Scene(root, SceneLayout.MessyRooms, views, train, test, null, 1000.0);
    }

    private static string? Existing(string root, string name)
    {
        var p = Path.Combine(root, name);
        return Directory.Exists(p) ? p : null;
    }

    /// <summary>K (row-major 3x3, normalised), positions [n][3], quaternions [n][4] (w, x, y, z).</summary>
    internal static (double[] K, List<double[]> Positions, List<double[]> Quaternions) ReadMetadata(string path)
    {
        using var doc = LayoutFiles.ReadJson(path);
        var camera = LayoutFiles.Get(doc.RootElement, "camera", path, "the top-level object");
        var k = LayoutFiles.Matrix(LayoutFiles.Get(camera, "K", path, "\"camera\""), path, "camera.K", 3, 3);
        if (k[0] == 0 || k[4] == 0) throw new InvalidDataException($"{path}: camera.K has a zero focal length.");
        var pos = LayoutFiles.Get(camera, "positions", path, "\"camera\"");
        var quat = LayoutFiles.Get(camera, "quaternions", path, "\"camera\"");
        if (pos.ValueKind != JsonValueKind.Array || quat.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: camera.positions and camera.quaternions must be lists.");
        if (pos.GetArrayLength() != quat.GetArrayLength())
            throw new InvalidDataException($"{path}: camera.positions has {pos.GetArrayLength()} entries but camera.quaternions has {quat.GetArrayLength()}.");
        if (pos.GetArrayLength() == 0) throw new InvalidDataException($"{path}: camera.positions is empty.");
        var positions = pos.EnumerateArray().Select((e, i) => LayoutFiles.Numbers(e, path, $"camera.positions[{i}]", 3)).ToList();
        var quaternions = quat.EnumerateArray().Select((e, i) => LayoutFiles.Numbers(e, path, $"camera.quaternions[{i}]", 4)).ToList();
        return (k, positions, quaternions);
    }
}
