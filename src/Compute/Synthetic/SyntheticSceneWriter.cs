namespace UniCLift.Compute.Synthetic;

using System.Text.Json;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;

/// <summary>
/// Writes a generated scene as the Panoptic Lifting layout (color, depth, pose, intrinsic, m2f_instance,
/// m2f_semantics, rs_instance, rs_semantics, splits.json) plus points3D.ply, a nerfstudio transforms.json and
/// scene.json (generator options, objects, touching pairs, what the corruption did).
/// </summary>
public static class SyntheticSceneWriter
{
    public const string PointCloudFile = "points3D.ply";
    public const string TransformsFile = "transforms.json";
    public const string SceneFile = "scene.json";

    /// <summary>
    /// Writes <paramref name="scene"/> into <paramref name="dir"/>: a new or empty folder, or one holding a scene this
    /// writer made (its scene.json says so), whose files are removed first: written over, a scene of fewer views kept the
    /// old one's extra frames, which the reader then took as views of the new one. Any other folder with something in it
    /// is refused, so a mistyped --out never writes over a user's own scene.
    /// </summary>
    public static void Write(string dir, SyntheticScene scene)
    {
        ClearPreviousScene(dir);
        Directory.CreateDirectory(dir);
        PanopticLiftingLayout.Write(dir, scene.Views, scene.TrainViews, scene.TestViews);
        PointCloudPly.Write(Path.Combine(dir, PointCloudFile), scene.Points, scene.PointColors);
        AtomicFile.WriteAllText(Path.Combine(dir, TransformsFile), TransformsJson(scene));
        AtomicFile.WriteAllText(Path.Combine(dir, SceneFile), SceneJson(scene));
    }

    private const string Generator = "uniclift synthetic room";

    private static void ClearPreviousScene(string dir)
    {
        if (!Directory.Exists(dir) || !Directory.EnumerateFileSystemEntries(dir).Any()) return;
        if (!IsGeneratedScene(dir))
            throw new ArgumentException($"{dir} is not empty and holds no scene make-scene wrote ({SceneFile} of \"{Generator}\"); name a new or empty folder.");
        foreach (var sub in PanopticLiftingLayout.Folders)
            if (Directory.Exists(Path.Combine(dir, sub))) Directory.Delete(Path.Combine(dir, sub), recursive: true);
        foreach (var file in new[] { PanopticLiftingLayout.SplitsFile, PointCloudFile, TransformsFile, SceneFile })
            File.Delete(Path.Combine(dir, file));
    }

    private static bool IsGeneratedScene(string dir)
    {
        var path = Path.Combine(dir, SceneFile);
        if (!File.Exists(path)) return false;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("generator", out var g)
                && g.ValueKind == JsonValueKind.String && g.GetString() == Generator;
        }
        catch (JsonException) { return false; }
    }

    /// <summary>nerfstudio transforms.json: camera-to-world in OpenGL axes (the OpenCV pose with camera y and z negated).</summary>
    public static string TransformsJson(SyntheticScene scene)
    {
        var cam = scene.Views[0].Camera;
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("camera_model", "OPENCV");
            w.WriteNumber("fl_x", cam.Fx);
            w.WriteNumber("fl_y", cam.Fy);
            w.WriteNumber("cx", cam.Cx);
            w.WriteNumber("cy", cam.Cy);
            w.WriteNumber("w", cam.Width);
            w.WriteNumber("h", cam.Height);
            w.WriteString("ply_file_path", PointCloudFile);
            w.WriteStartArray("frames");
            foreach (var v in scene.Views)
            {
                w.WriteStartObject();
                w.WriteString("file_path", $"color/{v.Name}.png");
                w.WriteStartArray("transform_matrix");
                var gl = OpenCvToOpenGl(v.Camera.CameraToWorld);
                for (int r = 0; r < 4; r++)
                {
                    w.WriteStartArray();
                    for (int c = 0; c < 4; c++) w.WriteNumberValue(gl[r * 4 + c]);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Negates the camera y and z axes (columns 1 and 2) of a row-major camera-to-world matrix.</summary>
    public static double[] OpenCvToOpenGl(double[] c2w)
    {
        var m = (double[])c2w.Clone();
        for (int r = 0; r < 3; r++) { m[r * 4 + 1] = -m[r * 4 + 1]; m[r * 4 + 2] = -m[r * 4 + 2]; }
        return m;
    }

    public static string SceneJson(SyntheticScene scene)
    {
        var o = scene.Options;
        var doc = new
        {
            generator = Generator,
            options = new
            {
                seed = o.Seed, objects = o.Objects, views = o.Views, width = o.Width, height = o.Height,
                horizontal_fov_degrees = o.HorizontalFovDegrees, corruption = o.Corruption.ToString().ToLowerInvariant(),
                test_every = o.TestEvery, point_count = o.PointCount, point_noise = o.PointNoise, room_size = o.RoomSize,
                wall_height = o.WallHeight, placement_radius = o.PlacementRadius, touching_probability = o.TouchingProbability,
                merge_probability = o.MergeProbability, split_probability = o.SplitProbability, miss_probability = o.MissProbability,
                spurious_probability = o.SpuriousProbability, min_segment_pixels = o.EffectiveMinSegmentPixels,
                shapes = o.Shapes.ToString().ToLowerInvariant(), palette = o.Palette.ToString().ToLowerInvariant(),
                camera_path = o.CameraPath.ToString().ToLowerInvariant(), specular = o.Specular,
            },
            axes = "world z up, floor at z = 0; poses OpenCV camera-to-world; depth along the optical axis in metres",
            classes = Enumerable.Range(0, 3 + Enum.GetValues<ShapeKind>().Length).Select(c => new { id = c, name = SyntheticClasses.Name(c), thing = c >= 3 }),
            light = scene.LightPosition,
            objects = scene.Objects.Select(ob => new
            {
                instance = ob.InstanceId, shape = ob.Shape.ToString().ToLowerInvariant(), semantic_class = ob.SemanticClass,
                centre = ob.Centre, size = ob.Size, yaw = ob.Yaw, colour = ob.Colour.Select(b => (int)b), texture = ob.Texture,
                stands_on = ob.StandsOn,
            }),
            touching_pairs = scene.TouchingPairs.Select(p => new[] { p.A, p.B }),
            points = scene.Points.Length / 3,
            train = scene.TrainViews,
            test = scene.TestViews,
            corruption = scene.Corruption.Select(c => new
            {
                view = c.View, merged = c.Merged, split = c.Split, missed = c.Missed, spurious = c.Spurious,
                dropped = c.Dropped, adjacent_pairs = c.AdjacentPairs, background_pieces = c.BackgroundPieces,
            }),
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }
}
