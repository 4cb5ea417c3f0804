namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Text.Json;
using UniCLift.Client.Terminal;
using UniCLift.Compute.IO;
using UniCLift.Grains;

/// <summary>`uniclift results BATCH --out DIR`: copies each finished scene's outputs to DIR/&lt;scene&gt;, writes DIR/summary.json and prints the summary.</summary>
public static class ResultsCommand
{
    public static Command Create()
    {
        var batch = new Argument<string>("batch") { Description = "batch id" };
        var output = new Option<string>("--out") { Description = "directory to collect the outputs in", Required = true };
        var redis = BatchConsole.RedisOption();
        var command = new Command("results", "Collect a batch's outputs and print its summary.") { batch, output, redis };
        CommandAction.Set(command, async (parse, console, ct) =>
        {
            var target = BatchConsole.OutputFolder(parse.GetValue(output));
            await using var cluster = await ClusterConnection.ConnectAsync(ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct, note: console.Note);
            var status = await cluster.Client.GetGrain<ICoordinatorGrain>(parse.GetValue(batch)!).GetBatchStatus();
            Collect(status, target);
            BatchConsole.PrintSummary(status, console);
            return status.IsFinished ? BatchConsole.ExitCode(status, console) : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Copies done scenes' output directories (skipping a scene whose output already is the target) and writes summary.json.</summary>
    internal static void Collect(BatchStatus status, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var s in status.Scenes)
        {
            if (s.Status.State != SceneState.Done || s.Status.OutputDirectory is not { } from) continue;
            if (!Directory.Exists(from))
                throw new DirectoryNotFoundException($"scene {s.SceneId} is done but its output '{from}' is not reachable from here (not a shared volume?).");
            var to = Path.Combine(target, Path.GetFileName(from.TrimEnd('/')));
            if (Path.GetFullPath(to) == Path.GetFullPath(from)) continue;
            CopyTree(from, to);
        }
        var summary = status.Scenes.Select(s => new
        {
            scene = s.SceneDirectory, id = s.SceneId, state = s.Status.State.ToString(), step = s.Status.Step,
            iterations = s.Status.Iterations, seconds = s.Status.Seconds, pqScene = s.Status.PqScene,
            instances = s.Status.Instances, gaussians = s.Status.Gaussians, retries = s.Retries, resumes = s.Status.Resumes,
            output = s.Status.OutputDirectory, error = s.Status.Error,
        });
        AtomicFile.WriteAllText(Path.Combine(target, "summary.json"), JsonSerializer.Serialize(new
        {
            batch = status.BatchId, submittedUtc = status.SubmittedUtc, finishedUtc = status.FinishedUtc, cancelled = status.Cancelled, scenes = summary,
        }, new JsonSerializerOptions { WriteIndented = true }));
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: true);
    }
}
