namespace UniCLift.Client.Commands;

using System.CommandLine;
using UniCLift.Client.Terminal;

/// <summary>`uniclift watch BATCH`: live progress bars per scene (step, losses, Gaussians, ETA, resumes) until the batch ends.</summary>
public static class WatchCommand
{
    public static Command Create()
    {
        var batch = new Argument<string>("batch") { Description = "batch id" };
        var redis = BatchConsole.RedisOption();
        var command = new Command("watch", "Watch a batch's scenes train, live.") { batch, redis };
        CommandAction.Set(command, async (parse, console, ct) =>
        {
            var id = BatchConsole.BatchId(parse.GetValue(batch));
            await using var cluster = await ClusterConnection.ConnectAsync(ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct, note: console.Note);
            var final = await BatchConsole.WaitAsync(cluster.Client, id, console, ct);
            BatchConsole.PrintSummary(final, console);
            return BatchConsole.ExitCode(final, console);
        });
        return command;
    }
}
