namespace UniCLift.Client.Commands;

using System.CommandLine;
using UniCLift.Grains;

/// <summary>`uniclift demo`: makes a synthetic scene with ground truth, segments it through the grains and prints PQ^scene.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "working directory (scene/ and result/ go in it)", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "uniclift-demo") };
        var objects = new Option<int>("--objects") { Description = "objects in the synthetic room", DefaultValueFactory = _ => 8 };
        var iterations = BatchConsole.IterationsOption(2000);
        var seed = BatchConsole.SeedOption();
        var redis = BatchConsole.RedisOption();
        var command = new Command("demo", "Make a synthetic scene, segment it through the grains and print PQ^scene.") { output, objects, iterations, seed, redis };
        command.SetAction((parse, ct) => BatchConsole.Run(async () =>
        {
            var root = Path.GetFullPath(parse.GetValue(output)!);
            int n = parse.GetValue(objects);
            if (n < 1) throw new ArgumentException($"--objects must be at least 1, got {n}.");
            var sceneDir = Path.Combine(root, "scene");
            Console.WriteLine($"making a synthetic scene with {n} objects in {sceneDir}");
            MakeScene(sceneDir, n, parse.GetValue(seed));
            var status = await SegmentCommand.SegmentAsync(sceneDir, Path.Combine(root, "result"),
                new JobOptions("train", parse.GetValue(iterations), parse.GetValue(seed), null, MaxRetries: 0),
                ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct);
            return SegmentCommand.Report(status);
        }));
        return command;
    }

    /// <summary>
    /// Writes a synthetic scene (Panoptic Lifting layout, with ground truth) to <paramref name="dir"/>.
    /// INTEGRATION POINT: the generator lives on another branch; wire it as
    /// <c>SyntheticSceneWriter.Write(dir, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Objects = objects, Seed = (int)seed }))</c>.
    /// </summary>
    internal static void MakeScene(string dir, int objects, ulong seed) =>
        Compute.Synthetic.SyntheticSceneWriter.Write(dir, Compute.Synthetic.SyntheticSceneGenerator.Generate(
            new Compute.Synthetic.SyntheticSceneOptions { Objects = objects, Seed = (int)seed }));
}
