namespace UniCLift.Client.Commands;

using System.CommandLine;
using UniCLift.Client.Terminal;
using UniCLift.Grains;

/// <summary>`uniclift submit DIR... --out ROOT`: submits a batch and prints its id (waits with --wait, or always with the embedded silo).</summary>
public static class SubmitCommand
{
    public static Command Create()
    {
        var dirs = new Argument<string[]>("scene-dirs") { Description = "scene directories (Panoptic Lifting layout)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "output root; each scene goes to ROOT/<scene name>", Required = true };
        var mode = BatchConsole.ModeOption();
        var iterations = BatchConsole.IterationsOption();
        var seed = BatchConsole.SeedOption();
        var ply = new Option<string?>("--ply") { Description = "lift mode: the trained 3DGS PLY whose geometry it keeps (needed); train mode: the initial point cloud instead of each scene's" };
        var retries = new Option<int>("--retries") { Description = "how often a failed scene is retried (0 to 10)", DefaultValueFactory = _ => new JobOptions().MaxRetries };
        var redis = BatchConsole.RedisOption();
        var set = BatchConsole.SetOption();
        var wait = new Option<bool>("--wait") { Description = "show progress until the batch is done (implied with the embedded silo, which lives only as long as this command)" };
        var masks = BatchConsole.MasksOption();
        var decode = BatchConsole.DecodeOption();
        var downscale = BatchConsole.DownscaleOption();
        var command = new Command("submit", "Submit scenes to the cluster as one batch.") { dirs, output, mode, iterations, seed, ply, masks, downscale, retries, redis, wait, set, decode };
        CommandAction.Set(command, async (parse, console, ct) =>
        {
            var jobMode = BatchConsole.Mode(parse.GetValue(mode));
            var request = new BatchRequest(
                parse.GetValue(dirs)!.Select(Path.GetFullPath).ToList(),
                BatchConsole.OutputFolder(parse.GetValue(output)),
                new JobOptions(jobMode, parse.GetValue(iterations), parse.GetValue(seed),
                    parse.GetValue(ply) is { } p ? Path.GetFullPath(p) : null, parse.GetValue(retries), BatchConsole.Settings(parse, set),
                    parse.GetValue(masks), BatchConsole.Settings(parse, decode), BatchConsole.Downscale(parse.GetValue(downscale), jobMode)).Validate());
            BatchConsole.NoteBeforeRun(request.Scenes.Where(Directory.Exists), request.Options, console);
            await using var cluster = await ClusterConnection.ConnectAsync(ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct, note: console.Note,
                embeddedOptions: ClusterConnection.EmbeddedRoots(request.Scenes, [request.OutputRoot], request.Options.InitialPly, request.Options.Masks));
            var batchId = BatchConsole.NewBatchId();
            await SubmitAsync(cluster.Client.GetGrain<ICoordinatorGrain>(batchId), batchId, request, console);
            console.OutWriter.WriteLine(batchId);
            if (!parse.GetValue(wait) && !cluster.IsEmbedded) return ExitCodes.Ok;
            if (cluster.IsEmbedded && !parse.GetValue(wait))
                console.Note("no --redis or UNICLIFT_REDIS: running on an embedded silo, waiting for the batch (--wait implied).");
            if (!cluster.IsEmbedded)
                console.Note($"waiting for batch {batchId}; it runs in the cluster whatever happens to this command: " +
                    $"`uniclift watch {batchId}` follows it again, `uniclift cancel {batchId}` stops it.");
            var final = await BatchConsole.WaitAsync(cluster.Client, batchId, console, ct);
            BatchConsole.PrintSummary(final, console);
            return BatchConsole.ExitCode(final, console);
        });
        return command;
    }

    /// <summary>Submits the batch, again with the same id when the cluster does not answer in time (submitting is
    /// idempotent: the coordinator may have taken the batch and be starting its scenes). Had it timed out once, the
    /// console printed an error and no batch id while the batch ran, and a second submit started a second batch
    /// writing the same outputs.</summary>
    internal static async Task SubmitAsync(ICoordinatorGrain coordinator, string batchId, BatchRequest request, CommandConsole console, int attempts = 3)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await coordinator.SubmitBatch(request);
                return;
            }
            catch (Exception e) when (ClusterCalls.IsTransient(e))
            {
                if (attempt >= attempts)
                    throw new TimeoutException($"the cluster did not answer the submission of batch {batchId} ({attempts} tries: " +
                        $"{Compute.FailurePolicy.WithoutStackTrace(e.Message)}); it may be running all the same: `uniclift status {batchId}` says " +
                        "(submitting again would start a second batch writing the same outputs).", e);
                console.Note($"the cluster did not answer the submission of batch {batchId} in time; asking again ({attempt + 1}/{attempts}, the same batch).");
            }
        }
    }
}
