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
            await using var cluster = await ClusterConnection.ConnectAsync(ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct, note: console.Note);
            var status = await cluster.Client.GetGrain<ICoordinatorGrain>(parse.GetValue(batch)!).Cancel();
            BatchConsole.PrintSummary(status, console);
            return ExitCodes.Ok;
        });
        return command;
    }
}
