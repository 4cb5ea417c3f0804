namespace UniCLift.Tests.Readers;

using System.Globalization;
using System.Text;
using System.Text.Json;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;

/// <summary>Writes a small generated scene in each layout the readers understand, as the tools that make them would.</summary>
internal static class LayoutFixtures
{
    public const int W = 32, H = 24;

    private static readonly Lazy<SyntheticScene> Cached = new(() => SyntheticSceneGenerator.Generate(
        new SyntheticSceneOptions { Seed = 3, Views = 5, Width = W, Height = H, Objects = 4, PointCount = 300 }, maxDegreeOfParallelism: 1));

    /// <summary>5 views at 32x24 with masks, semantics and ground truth; shared (read-only) across tests.</summary>
    public static SyntheticScene Generated => Cached.Value;

    private static string S(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static double[] Rot(double[] c2w) => [c2w[0], c2w[1], c2w[2], c2w[4], c2w[5], c2w[6], c2w[8], c2w[9], c2w[10]];

    /// <summary>Unit quaternion (w, x, y, z) of a row-major 3x3 rotation.</summary>
    public static double[] Quaternion(double[] r)
    {
        double t = r[0] + r[4] + r[8], w, x, y, z;
        if (t > 0) { double s = Math.Sqrt(t + 1) * 2; w = s / 4; x = (r[7] - r[5]) / s; y = (r[2] - r[6]) / s; z = (r[3] - r[1]) / s; }
        else if (r[0] > r[4] && r[0] > r[8]) { double s = Math.Sqrt(1 + r[0] - r[4] - r[8]) * 2; w = (r[7] - r[5]) / s; x = s / 4; y = (r[1] + r[3]) / s; z = (r[2] + r[6]) / s; }
        else if (r[4] > r[8]) { double s = Math.Sqrt(1 + r[4] - r[0] - r[8]) * 2; w = (r[2] - r[6]) / s; x = (r[1] + r[3]) / s; y = s / 4; z = (r[5] + r[7]) / s; }
        else { double s = Math.Sqrt(1 + r[8] - r[0] - r[4]) * 2; w = (r[3] - r[1]) / s; x = (r[2] + r[6]) / s; y = (r[5] + r[7]) / s; z = s / 4; }
        return [w, x, y, z];
    }

    /// <summary>OpenCV camera-to-world to OpenGL/Blender (negate camera y and z); self-inverse.</summary>
    public static double[] Flip(double[] m)
    {
        var r = (double[])m.Clone();
        for (int i = 0; i < 3; i++) { r[i * 4 + 1] = -r[i * 4 + 1]; r[i * 4 + 2] = -r[i * 4 + 2]; }
        return r;
    }

    private static void Npy32(string path, LabelMap m) => Npy.Write(path, [m.Height, m.Width], m.Labels);

    public static void WriteMessyRooms(string dir, SyntheticScene scene)
    {
        var c = scene.Views[0].Camera;
        var meta = new
        {
            metadata = new { num_frames = scene.Views.Count, resolution = new[] { c.Width, c.Height } },
            camera = new
            {
                // Kubric's normalised K with its sign convention.
                K = new[] { new[] { c.Fx / c.Width, 0, -c.Cx / c.Width }, new[] { 0, -c.Fy / c.Height, -c.Cy / c.Height }, new[] { 0.0, 0, -1 } },
                positions = scene.Views.Select(v => new[] { v.Camera.CameraToWorld[3], v.Camera.CameraToWorld[7], v.Camera.CameraToWorld[11] }).ToArray(),
                quaternions = scene.Views.Select(v => Quaternion(Rot(Flip(v.Camera.CameraToWorld)))).ToArray(),
            },
        };
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "metadata.json"), JsonSerializer.Serialize(meta));
        foreach (var v in scene.Views)
        {
            ImageIO.WriteRgb(Path.Combine(dir, "color", v.Name + ".png"), v.Image);
            Npy32(Path.Combine(dir, "detic_instance", v.Name + ".npy"), v.Mask!);
            Npy32(Path.Combine(dir, "instance", v.Name + ".npy"), v.GtInstance!);
            Npy32(Path.Combine(dir, "semantic", v.Name + ".npy"), v.GtSemantic!);
        }
    }

    /// <summary>Graphdeco keeps no principal point: the fixture's cameras have it at the image centre.</summary>
    public static Camera Centred(Camera c) => c with { Cx = c.Width / 2.0, Cy = c.Height / 2.0 };

    public static void WriteGraphdeco(string dir, SyntheticScene scene, bool masksInSource = false)
    {
        var cams = scene.Views.Select((v, i) =>
        {
            var m = v.Camera.CameraToWorld;
            return new Dictionary<string, object>
            {
                ["id"] = i, ["img_name"] = v.Name, ["width"] = v.Camera.Width, ["height"] = v.Camera.Height,
                ["position"] = new[] { m[3], m[7], m[11] },
                ["rotation"] = new[] { new[] { m[0], m[1], m[2] }, new[] { m[4], m[5], m[6] }, new[] { m[8], m[9], m[10] } },
                ["fy"] = v.Camera.Fy, ["fx"] = v.Camera.Fx,
            };
        }).Reverse().ToList(); // order in the file must not matter
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cameras.json"), JsonSerializer.Serialize(cams));
        var src = Path.Combine(dir, "source");
        File.WriteAllText(Path.Combine(dir, "cfg_args"), $"Namespace(sh_degree=3, source_path='{src}', model_path='{dir}', images='images', eval=False)");
        foreach (int it in new[] { 7000, 30000 })
            GaussianPly.Write(Path.Combine(dir, "point_cloud", $"iteration_{it}", "point_cloud.ply"), TinyCloud(it == 30000 ? 5 : 3));
        foreach (var v in scene.Views)
        {
            ImageIO.WriteRgb(Path.Combine(dir, "images", v.Name + ".png"), v.Image);
            ImageIO.WriteLabels16(Path.Combine(masksInSource ? src : dir, "masks", v.Name + ".png"), v.Mask!);
            ImageIO.WriteLabels16(Path.Combine(dir, "gt_instance", v.Name + ".png"), v.GtInstance!);
        }
    }

    public static GaussianCloud TinyCloud(int n) => new()
    {
        Count = n,
        Means = Enumerable.Range(0, n * 3).Select(i => (float)i).ToArray(),
        Normals = new float[n * 3],
        ShDc = new float[n * 3],
        ShRest = [],
        ShDegree = 0,
        Opacity = new float[n],
        LogScales = new float[n * 3],
        Rotations = Enumerable.Range(0, n * 4).Select(i => i % 4 == 0 ? 1f : 0f).ToArray(),
    };

    public static void WriteNerfstudio(string dir, SyntheticScene scene)
    {
        var c = scene.Views[0].Camera;
        var frames = scene.Views.Select(v =>
        {
            var m = Flip(v.Camera.CameraToWorld);
            return new { file_path = $"images/{v.Name}.png", transform_matrix = Enumerable.Range(0, 4).Select(r => m.Skip(r * 4).Take(4).ToArray()).ToArray() };
        }).ToArray();
        var doc = new { fl_x = c.Fx, fl_y = c.Fy, cx = c.Cx, cy = c.Cy, w = c.Width, h = c.Height, camera_model = "OPENCV", k1 = 0.0, frames, ply_file_path = "sparse_pc.ply" };
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "transforms.json"), JsonSerializer.Serialize(doc));
        PointCloudPly.Write(Path.Combine(dir, "sparse_pc.ply"), scene.Points, scene.PointColors);
        foreach (var v in scene.Views)
        {
            ImageIO.WriteRgb(Path.Combine(dir, "images", v.Name + ".png"), v.Image);
            Npy32(Path.Combine(dir, "masks", v.Name + ".npy"), v.Mask!);
        }
    }

    public static void WriteColmap(string dir, SyntheticScene scene, string model = "PINHOLE")
    {
        var c = scene.Views[0].Camera;
        var sparse = Path.Combine(dir, "sparse", "0");
        Directory.CreateDirectory(sparse);
        string p = model == "SIMPLE_PINHOLE" ? $"{S(c.Fx)} {S(c.Cx)} {S(c.Cy)}" : $"{S(c.Fx)} {S(c.Fy)} {S(c.Cx)} {S(c.Cy)}" + (model == "OPENCV" ? " 0 0 0 0" : "");
        File.WriteAllText(Path.Combine(sparse, "cameras.txt"), $"# Camera list with one line of data per camera:\n# Number of cameras: 1\n1 {model} {c.Width} {c.Height} {p}\n");
        var sb = new StringBuilder("# Image list with two lines of data per image:\n#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n");
        int id = 1;
        foreach (var v in scene.Views)
        {
            var w2c = v.Camera.WorldToCamera();
            var q = Quaternion(Rot(w2c));
            sb.Append($"{id++} {S(q[0])} {S(q[1])} {S(q[2])} {S(q[3])} {S(w2c[3])} {S(w2c[7])} {S(w2c[11])} 1 {v.Name}.png\n");
            sb.Append(id % 2 == 0 ? "\n" : "12.5 3.5 -1 4.0 7.0 2\n"); // empty and non-empty POINTS2D lines
        }
        File.WriteAllText(Path.Combine(sparse, "images.txt"), sb.ToString());
        var pts = new StringBuilder("# 3D point list\n");
        for (int i = 0; i < scene.Points.Length / 3; i++)
            pts.Append($"{i + 1} {S(scene.Points[i * 3])} {S(scene.Points[i * 3 + 1])} {S(scene.Points[i * 3 + 2])} {scene.PointColors[i * 3]} {scene.PointColors[i * 3 + 1]} {scene.PointColors[i * 3 + 2]} 0.5 1 0 2 0\n");
        File.WriteAllText(Path.Combine(sparse, "points3D.txt"), pts.ToString());
        foreach (var v in scene.Views)
        {
            ImageIO.WriteRgb(Path.Combine(dir, "images", v.Name + ".png"), v.Image);
            ImageIO.WriteLabels16(Path.Combine(dir, "m2f_instance", v.Name + ".png"), v.Mask!);
        }
    }
}
