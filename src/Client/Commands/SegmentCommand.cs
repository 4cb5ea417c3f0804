namespace UniCLift.Client.Commands;

using System.CommandLine;
using UniCLift.Grains;

/// <summary>`uniclift segment SCENE_DIR --out OUT_DIR`: one scene through the grains (embedded silo by default), waits, prints PQ and outputs.</summary>
public static class SegmentCommand
{
    public static Command Create()
    {
        var scene = new Argument<string>("scene-dir") { Description = "scene directory (Panoptic Lifting layout)" };
        var output = new Option<string>("--out") { Description = "output directory for this scene", Required = true };
        var mode = BatchConsole.ModeOption();
        var ply = new Option<string?>("--ply") { Description = "trained 3DGS PLY (needed for --mode lift)" };
        var iterations = BatchConsole.IterationsOption();
        var seed = BatchConsole.SeedOption();
        var redis = BatchConsole.RedisOption();
        var command = new Command("segment", "Segment one scene into consistent 3D instances.") { scene, output, mode, ply, iterations, seed, redis };
        command.SetAction((parse, ct) => BatchConsole.Run(async () =>
        {
            var options = new JobOptions(parse.GetValue(mode)!, parse.GetValue(iterations), parse.GetValue(seed),
                parse.GetValue(ply) is { } p ? Path.GetFullPath(p) : null, MaxRetries: 0).Validate();
            var status = await SegmentAsync(Path.GetFullPath(parse.GetValue(scene)!), Path.GetFullPath(parse.GetValue(output)!), options,
                ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct);
            return Report(status);
        }));
        return command;
    }

    /// <summary>Runs one scene as a one-scene batch whose output root is the parent of <paramref name="outputDirectory"/>.</summary>
    internal static async Task<BatchSceneStatus> SegmentAsync(string sceneDirectory, string outputDirectory, JobOptions options, string? redis, CancellationToken ct)
    {
        if (!Directory.Exists(sceneDirectory))
            throw new DirectoryNotFoundException($"scene directory '{sceneDirectory}' does not exist.");
        await using var cluster = await ClusterConnection.ConnectAsync(redis, ct);
        var batchId = BatchConsole.NewBatchId();
        // The scene's output goes to OutputRoot/<scene name>; name the scene after the wanted output directory.
        var coordinator = cluster.Client.GetGrain<ICoordinatorGrain>(batchId);
        var outputRoot = Path.GetDirectoryName(outputDirectory.TrimEnd('/')) ?? outputDirectory;
        var linked = Path.Combine(outputRoot, Path.GetFileName(outputDirectory.TrimEnd('/')));
        await coordinator.SubmitBatch(new BatchRequest([sceneDirectory], outputRoot, options));
        var final = await BatchConsole.WaitAsync(cluster.Client, batchId, ct);
        var s = final.Scenes[0];
        // Move the outputs where the user asked when the scene's name differs from the output directory's name.
        if (s.Status is { State: SceneState.Done, OutputDirectory: { } produced } && Path.GetFullPath(produced) != Path.GetFullPath(linked))
        {
            if (Directory.Exists(linked)) Directory.Delete(linked, recursive: true);
            Directory.Move(produced, linked);
            s = s with { Status = s.Status with { OutputDirectory = linked } };
        }
        return s;
    }

    internal static int Report(BatchSceneStatus s)
    {
        var st = s.Status;
        if (st.State != SceneState.Done)
        {
            Console.Error.WriteLine($"uniclift: {s.SceneDirectory}: {st.State.ToString().ToLowerInvariant()}{(st.Error is { } e ? ": " + e : "")}");
            return 1;
        }
        Console.WriteLine($"scene      {s.SceneDirectory}");
        Console.WriteLine($"iterations {st.Step} in {st.Seconds:F1} s, {st.Gaussians:N0} Gaussians, {st.Instances} instances");
        Console.WriteLine($"PQ^scene   {(st.PqScene is { } pq ? pq.ToString("F4", System.Globalization.CultureInfo.InvariantCulture) : "n/a (no ground truth)")}");
        Console.WriteLine($"output     {st.OutputDirectory}");
        Console.WriteLine($"           instance/*.png, labels.ply, metrics.json");
        return 0;
    }
}
