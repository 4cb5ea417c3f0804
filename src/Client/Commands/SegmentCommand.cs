namespace UniCLift.Client.Commands;

using System.CommandLine;
using UniCLift.Client.Terminal;
using UniCLift.Grains;

/// <summary>`uniclift segment SCENE_DIR --out OUT_DIR`: one scene through the grains (embedded silo by default), waits, prints PQ and outputs.</summary>
public static class SegmentCommand
{
    public static Command Create()
    {
        var scene = new Argument<string>("scene-dir") { Description = "scene directory (Panoptic Lifting layout)" };
        var output = new Option<string>("--out") { Description = "output directory for this scene", Required = true };
        var mode = BatchConsole.ModeOption();
        var ply = new Option<string?>("--ply") { Description = "lift mode: the trained 3DGS PLY whose geometry it keeps (needed); train mode: the initial point cloud instead of the scene's (its points, and colours when it has them)" };
        var iterations = BatchConsole.IterationsOption();
        var seed = BatchConsole.SeedOption();
        var redis = BatchConsole.RedisOption();
        var set = BatchConsole.SetOption();
        var device = DeviceOption();
        var masks = BatchConsole.MasksOption();
        var decode = BatchConsole.DecodeOption();
        var downscale = BatchConsole.DownscaleOption();
        var command = new Command("segment", "Segment one scene into consistent 3D instances.") { scene, output, mode, ply, iterations, seed, masks, downscale, redis, set, decode, device };
        CommandAction.Set(command, async (parse, console, ct) =>
        {
            var jobMode = BatchConsole.Mode(parse.GetValue(mode));
            var options = new JobOptions(jobMode, parse.GetValue(iterations), parse.GetValue(seed),
                parse.GetValue(ply) is { } p ? Path.GetFullPath(p) : null, MaxRetries: 0, BatchConsole.Settings(parse, set), parse.GetValue(masks),
                BatchConsole.Settings(parse, decode), BatchConsole.Downscale(parse.GetValue(downscale), jobMode)).Validate();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var status = await SegmentAsync(Path.GetFullPath(parse.GetValue(scene)!), BatchConsole.OutputFolder(parse.GetValue(output)), options,
                ClusterConnection.ResolveRedis(parse.GetValue(redis)), console, ct, parse.GetValue(device));
            return Report(status, console, jobMode == JobMode.Decode ? clock.Elapsed : null);
        });
        return command;
    }

    /// <summary>--device: where the embedded silo trains (its Device setting); a cluster's silos train on their own.</summary>
    internal static Option<string?> DeviceOption() => new("--device")
    {
        Description = "cpu, cuda or cuda:N: the embedded silo's training device (default cpu). With --redis the cluster's silos train on their configured Device.",
    };

    /// <summary>Runs one scene as a one-scene batch writing exactly to <paramref name="outputDirectory"/>; progress goes to
    /// <paramref name="console"/>.</summary>
    /// <param name="device">The embedded silo's device (null: cpu); an error with a cluster (--redis).</param>
    internal static async Task<BatchSceneStatus> SegmentAsync(string sceneDirectory, string outputDirectory, JobOptions options, string? redis,
        CommandConsole console, CancellationToken ct,
        string? device = null)
    {
        if (device is not null)
        {
            var dev = Compute.Cuda.CudaRuntime.ParseDevice(device);
            if (redis is not null && dev.type != TorchSharp.DeviceType.CPU)
                throw new ArgumentException($"--device {device} applies to the embedded silo; with a cluster (--redis) its compute silos train on their configured Device.");
            if (dev.type == TorchSharp.DeviceType.CUDA) Compute.Cuda.CudaRuntime.EnsureAvailable(Compute.Cuda.CudaRuntime.Ordinal(dev));
        }
        if (!Directory.Exists(sceneDirectory))
            throw new DirectoryNotFoundException($"scene directory '{sceneDirectory}' does not exist.");
        // Before a silo starts and the scene is read: the grain would find it missing only after that.
        if (options.InitialPly is { } ply && !File.Exists(ply))
            throw new FileNotFoundException($"--ply '{ply}' {(Directory.Exists(ply) ? "is a folder" : "does not exist")} (lift mode's geometry: a trained 3DGS PLY).", ply);
        if (options.Mode == JobMode.Decode && options.Masks is null && Compute.Segmentation.SceneSegmentation.RecordedMasks(outputDirectory) is { } recorded)
        {
            // Decoding again reads the masks the run lifted, as its metrics.json records them.
            options = options with { Masks = recorded };
            console.Note($"--mode decode: reading the masks the run lifted, as its metrics.json records them: {recorded}");
        }
        if (options.Mode == JobMode.Decode && options.Downscale == 0)
        {
            // Decoding again renders at the size the run trained at, as its metrics.json records it.
            options = options with { Downscale = Compute.Segmentation.SceneSegmentation.RecordedDownscale(outputDirectory) ?? 1 };
            if (options.Downscale > 1)
                console.Note($"--mode decode: decoding at --downscale {options.Downscale}, as the run's metrics.json records it.");
        }
        if (options.Masks is { } masks && Compute.Scenes.SceneInspector.MaskFolder(sceneDirectory, masks) is var maskFolder && !Directory.Exists(maskFolder))
            throw new DirectoryNotFoundException($"--masks: mask folder '{maskFolder}' does not exist.");
        BatchConsole.NoteBeforeRun([sceneDirectory], options, console);
        if (Path.GetFullPath(sceneDirectory).TrimEnd('/') == Path.GetFullPath(outputDirectory).TrimEnd('/'))
            throw new ArgumentException($"--out '{outputDirectory}' is the scene directory itself; choose another output directory.");
        if (options.Mode == JobMode.Decode && Path.Combine(outputDirectory, Compute.Segmentation.TrainedGaussians.FileName) is var model && !File.Exists(model))
            throw new FileNotFoundException($"--mode decode: no trained model '{model}'; decode an output directory a train or lift run finished.", model);
        await using var cluster = await ClusterConnection.ConnectAsync(redis, ct, note: console.Note, embeddedOptions: o =>
        {
            o.Device = device ?? "cpu";
            ClusterConnection.EmbeddedRoots([sceneDirectory], [outputDirectory], options.InitialPly, options.Masks)(o);
        });
        var batchId = BatchConsole.NewBatchId();
        await cluster.Client.GetGrain<ICoordinatorGrain>(batchId).SubmitBatch(
            new BatchRequest([sceneDirectory], Path.GetDirectoryName(outputDirectory) ?? outputDirectory, options, [outputDirectory]));
        BatchStatus final;
        try { final = await BatchConsole.WaitAsync(cluster.Client, batchId, console, ct); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Interrupted: this scene's run was started for this command only, so it stops too (then the silo stops).
            await BatchConsole.CancelInterruptedAsync(cluster, batchId, console);
            throw;
        }
        return final.Scenes[0];
    }

    /// <param name="decoded">For a decode run, how long it took: the status's iterations and seconds are the training's,
    /// as training.json records them, and read alone they said the run had trained again.</param>
    internal static int Report(BatchSceneStatus s, CommandConsole console, TimeSpan? decoded = null)
    {
        var st = s.Status;
        if (st.State != SceneState.Done)
        {
            // The error often names the scene itself ("SCENE: a PanopticLifting scene ..."): said once.
            var error = st.Error is { } e && e.StartsWith(s.SceneDirectory + ": ", StringComparison.Ordinal) ? e[(s.SceneDirectory.Length + 2)..] : st.Error;
            console.Error($"{s.SceneDirectory}: {st.State.ToString().ToLowerInvariant()}{(error is null ? "" : ": " + error)}");
            return st.BadInput ? ExitCodes.UserError : ExitCodes.Failure;
        }
        console.OutWriter.WriteLine($"scene      {s.SceneDirectory}");
        if (decoded is { } d)
            console.OutWriter.WriteLine($"decoded    in {d.TotalSeconds:F1} s: {st.Gaussians:N0} Gaussians (trained {st.Step} iterations in {st.Seconds:F1} s), {st.Instances} instances");
        else console.OutWriter.WriteLine($"iterations {st.Step} in {st.Seconds:F1} s, {st.Gaussians:N0} Gaussians, {st.Instances} instances");
        // The result's metrics.json, read once: beside the figure, why there is none or that its test views also trained
        // (a layout without splits); and how the background was found.
        var metrics = st.OutputDirectory is { } o ? Compute.Segmentation.SceneSegmentation.RecordedMetrics(o) : null;
        var note = Compute.Segmentation.SceneSegmentation.PqNote(metrics);
        console.OutWriter.WriteLine($"PQ^scene   {(st.PqScene is { } pq ? pq.ToString("F4", System.Globalization.CultureInfo.InvariantCulture) + (note is null ? "" : $" ({note})") : $"n/a ({note ?? "no ground truth"})")}");
        if (Compute.Segmentation.SceneSegmentation.Recorded(metrics, "background_from") is "geometry")
            console.OutWriter.WriteLine("background by geometry: the masks leave none (Segment Anything's); outdoors, decode again with " +
                "--mode decode --decode SurfaceBorderShare=0.7 (README, \"A street outdoors\")");
        if (Compute.Segmentation.SceneSegmentation.Recorded(metrics, "gaussian_codes") == Compute.Segmentation.SceneSegmentation.OwnCodesForLackOfViewCodes)
            console.OutWriter.WriteLine("Gaussians labelled by their own codes: model.ply has no view_code (made before 2026-12-08, or by another " +
                "tool); train or lift again for labels from the views (README, --decode GaussianCodes)");
        console.OutWriter.WriteLine($"output     {st.OutputDirectory}");
        console.OutWriter.WriteLine($"           instance/*.png, labels.ply, metrics.json");
        // A page to look at: views, predictions, masks, ground truth, metrics, loss curve, a 3D viewer (self-contained HTML).
        if (st.OutputDirectory is { } dir && Directory.Exists(dir))
        {
            var report = Path.Combine(dir, "report.html");
            Compute.Reports.BatchReport.Write([dir], report, Viewer.ViewerAssets.WithViewer());
            console.OutWriter.WriteLine($"report     {report}");
            console.OutWriter.WriteLine($"3D viewer  in the report, or served: uniclift view {dir}");
        }
        return ExitCodes.Ok;
    }
}
