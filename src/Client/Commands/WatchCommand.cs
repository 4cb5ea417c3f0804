namespace UniCLift.Client.Commands;

using System.CommandLine;

/// <summary>`uniclift watch BATCH`: live progress bars per scene (step, losses, Gaussians, ETA, resumes) until the batch ends.</summary>
public static class WatchCommand
{
    public static Command Create()
    {
        var batch = new Argument<string>("batch") { Description = "batch id" };
        var redis = BatchConsole.RedisOption();
        var command = new Command("watch", "Watch a batch's scenes train, live.") { batch, redis };
        command.SetAction((parse, ct) => BatchConsole.Run(async () =>
        {
            await using var cluster = await ClusterConnection.ConnectAsync(ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct);
            var final = await BatchConsole.WaitAsync(cluster.Client, parse.GetValue(batch)!, ct);
            BatchConsole.PrintSummary(final);
            return BatchConsole.ExitCode(final);
        }));
        return command;
    }
}
