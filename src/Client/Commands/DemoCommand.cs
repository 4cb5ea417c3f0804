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
            // Its own two folders, or nothing: a scene folder given as --out (say) got scene/ and result/ written into it.
            if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).FirstOrDefault(e => Path.GetFileName(e) is not ("scene" or "result")) is { } other)
                throw new ArgumentException($"--out {root} holds other files ({Path.GetFileName(other)}, ...): the demo writes scene/ and result/ into a new or empty folder, or over an earlier demo's.");
            int n = parse.GetValue(objects);
            if (n < 1) throw new ArgumentException($"--objects must be at least 1, got {n}.");
            var sceneDir = Path.Combine(root, "scene");
            int w = parse.GetValue(width);
            // Every value is checked before anything is printed or written: a bad --views or --width printed the
            // "making" line first, and --iterations 0 or --device cuda:abc were refused only after the scene was written.
            var sceneOptions = SceneOptions(n, parse.GetValue(seed), parse.GetValue(views), w, w * 3 / 4);
            var jobOptions = new JobOptions(JobMode.Train, parse.GetValue(iterations), parse.GetValue(seed), null, MaxRetries: 0).Validate();
            if (parse.GetValue(device) is { } d) Compute.Cuda.CudaRuntime.ParseDevice(d);
            console.OutWriter.WriteLine($"making a synthetic scene with {n} objects in {sceneDir}");
            Compute.Synthetic.SyntheticSceneWriter.Write(sceneDir, Compute.Synthetic.SyntheticSceneGenerator.Generate(sceneOptions));
            var status = await SegmentCommand.SegmentAsync(sceneDir, Path.Combine(root, "result"), jobOptions,
                ClusterConnection.ResolveRedis(parse.GetValue(redis)), console, ct, parse.GetValue(device));
            return SegmentCommand.Report(status, console);
        });
        return command;
    }

    /// <summary>The demo scene's options (Panoptic Lifting layout, with ground truth), validated: an
    /// <see cref="ArgumentException"/> names a bad value. The demo's defaults are small (16 views at 96x72, 5 objects) so
    /// that a first run on a CPU takes a couple of minutes.</summary>
    internal static Compute.Synthetic.SyntheticSceneOptions SceneOptions(int objects, ulong seed, int views, int width, int height) =>
        new Compute.Synthetic.SyntheticSceneOptions
        {
            Objects = objects, Seed = (int)seed, Views = views, Width = width, Height = height,
            PointCount = (int)Math.Clamp((long)views * width * height / 8, 2000, int.MaxValue), TestEvery = 4,
        }.Validate();
}
