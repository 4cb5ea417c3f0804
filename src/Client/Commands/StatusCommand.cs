namespace UniCLift.Client.Commands;

using System.CommandLine;
using UniCLift.Client.Terminal;
using UniCLift.Grains;

/// <summary>`uniclift status [BATCH]`: one batch's table, or every batch's one-line summary.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var batch = new Argument<string?>("batch") { Description = "batch id (omit to list all batches)", Arity = ArgumentArity.ZeroOrOne };
        var redis = BatchConsole.RedisOption();
        var command = new Command("status", "Show a batch's progress, or list the batches.") { batch, redis };
        CommandAction.Set(command, async (parse, console, ct) =>
        {
            var id = parse.GetValue(batch) is { } given ? BatchConsole.BatchId(given) : null;
            await using var cluster = await ClusterConnection.ConnectAsync(ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct, note: console.Note);
            if (id is not null)
            {
                var status = await cluster.Client.GetGrain<ICoordinatorGrain>(id).GetBatchStatus();
                BatchConsole.PrintSummary(status, console);
                if (await BatchConsole.NoComputeSiloAsync(cluster.Client, status) is { } line) console.OutWriter.WriteLine(line);
                return ExitCodes.Ok;
            }
            var ids = await cluster.Client.GetGrain<IBatchIndexGrain>(0).List();
            if (ids.Count == 0) console.OutWriter.WriteLine(cluster.IsEmbedded ? "no batches (embedded silo: batches live only while their submit runs; use --redis)." : "no batches.");
            foreach (var b in ids)
            {
                BatchStatus s;
                // A batch the index lists but whose own state is gone (Redis restarted empty, the index written back from
                // memory) is one line of its own; it no longer hides every other batch behind one error.
                try { s = await cluster.Client.GetGrain<ICoordinatorGrain>(b).GetBatchStatus(); }
                catch (KeyNotFoundException)
                {
                    console.OutWriter.WriteLine($"{b}  state lost (the cluster's Redis no longer holds it)");
                    continue;
                }
                console.OutWriter.WriteLine($"{b}  {s.Done}/{s.Scenes.Count} done, {s.Failed} failed, {(s.IsFinished ? "finished" : "running")}{(s.Cancelled ? ", cancelled" : "")}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
