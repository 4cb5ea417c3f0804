namespace UniCLift.Client.Commands;

using System.CommandLine;
using UniCLift.Client.Terminal;
using UniCLift.Grains;

/// <summary>`uniclift cancel BATCH`: stops every unfinished scene of the batch between training steps.</summary>
public static class CancelCommand
{
    public static Command Create()
    {
        var batch = new Argument<string>("batch") { Description = "batch id" };
        var redis = BatchConsole.RedisOption();
        var command = new Command("cancel", "Cancel a batch.") { batch, redis };
        CommandAction.Set(command, async (parse, console, ct) =>
        {
            var id = BatchConsole.BatchId(parse.GetValue(batch));
            await using var cluster = await ClusterConnection.ConnectAsync(ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct, note: console.Note);
            return await RunAsync(cluster.Client, id, console);
        });
        return command;
    }

    /// <summary>
    /// Cancels the batch and prints its summary, saying what the cancel did: a batch that had already finished, or was
    /// already cancelled, is left as it was and the line says so (it printed the same summary as a cancel that stopped
    /// scenes, so `cancel` of a finished batch read as if it had cancelled it). Exit code 0 in each case: afterwards
    /// nothing of the batch runs.
    /// </summary>
    internal static async Task<int> RunAsync(IClusterClient client, string batchId, CommandConsole console)
    {
        var coordinator = client.GetGrain<ICoordinatorGrain>(batchId);
        var before = await coordinator.GetBatchStatus();
        var status = before.IsFinished ? before : await coordinator.Cancel(); // again when cancelled but not finished: a scene the first cancel missed
        BatchConsole.PrintSummary(status, console);
        if (before.Cancelled)
            console.Note($"batch {batchId} was already cancelled; nothing more to do.");
        else if (before.IsFinished)
            console.Note($"batch {batchId} had already finished ({before.Done} done, {before.Failed} failed of {before.Scenes.Count}); nothing was cancelled.");
        else
        {
            int stopped = status.Scenes.Count(s => s.Status.State == SceneState.Cancelled);
            console.Note($"batch {batchId} cancelled: {stopped} of {status.Scenes.Count} scenes stopped" +
                (status.Done > 0 ? $", {status.Done} had finished (their outputs stay)." : "."));
        }
        return ExitCodes.Ok;
    }
}
