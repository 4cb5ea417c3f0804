namespace UniCLift.Client.Commands;

using System.CommandLine;
using UniCLift.Client.Terminal;
using UniCLift.Grains;

/// <summary>`uniclift demo`: makes a synthetic scene with ground truth, segments it through the grains and prints PQ^scene.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "working directory (scene/ and result/ go in it)", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "uniclift-demo") };
        var objects = new Option<int>("--objects") { Description = "objects in the synthetic room", DefaultValueFactory = _ => 5 };
        var views = new Option<int>("--views") { Description = "camera views", DefaultValueFactory = _ => 16 };
        var width = new Option<int>("--width") { Description = "image width (height is 3/4 of it)", DefaultValueFactory = _ => 96 };
        var iterations = BatchConsole.IterationsOption(600);
        var seed = BatchConsole.SeedOption();
        var redis = BatchConsole.RedisOption();
        var device = SegmentCommand.DeviceOption();
        var command = new Command("demo", "Make a synthetic scene, segment it through the grains and print PQ^scene.") { output, objects, views, width, iterations, seed, redis, device };
        CommandAction.Set(command, async (parse, console, ct) =>
        {
            var root = BatchConsole.OutputFolder(parse.GetValue(output));
            int n = parse.GetValue(objects);
            if (n < 1) throw new ArgumentException($"--objects must be at least 1, got {n}.");
            var sceneDir = Path.Combine(root, "scene");
            console.OutWriter.WriteLine($"making a synthetic scene with {n} objects in {sceneDir}");
            int w = parse.GetValue(width);
            MakeScene(sceneDir, n, parse.GetValue(seed), parse.GetValue(views), w, w * 3 / 4);
            var status = await SegmentCommand.SegmentAsync(sceneDir, Path.Combine(root, "result"),
                new JobOptions(JobMode.Train, parse.GetValue(iterations), parse.GetValue(seed), null, MaxRetries: 0).Validate(),
                ClusterConnection.ResolveRedis(parse.GetValue(redis)), console, ct, parse.GetValue(device));
            return SegmentCommand.Report(status, console);
        });
        return command;
    }

    /// <summary>Writes a synthetic scene (Panoptic Lifting layout, with ground truth) to <paramref name="dir"/>. The demo's
    /// defaults are small (16 views at 96x72, 5 objects) so that a first run on a CPU takes a couple of minutes.</summary>
    internal static void MakeScene(string dir, int objects, ulong seed, int views, int width, int height) =>
        Compute.Synthetic.SyntheticSceneWriter.Write(dir, Compute.Synthetic.SyntheticSceneGenerator.Generate(
            new Compute.Synthetic.SyntheticSceneOptions
            {
                Objects = objects, Seed = (int)seed, Views = views, Width = width, Height = height,
                PointCount = Math.Max(2000, views * width * height / 8), TestEvery = 4,
            }.Validate()));
}
