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
            var id = BatchConsole.BatchId(parse.GetValue(batch));
            var target = BatchConsole.OutputFolder(parse.GetValue(output));
            if (File.Exists(target)) throw NotAFolder(target);
            await using var cluster = await ClusterConnection.ConnectAsync(ClusterConnection.ResolveRedis(parse.GetValue(redis)), ct, note: console.Note);
            return await RunAsync(cluster.Client, id, target, console);
        });
        return command;
    }

    /// <summary>Collects batch <paramref name="id"/> into <paramref name="target"/> and prints its summary. A batch still
    /// running gets what has finished and exit code 4 (<see cref="ExitCodes.BatchRunning"/>), saying so on stderr.</summary>
    internal static async Task<int> RunAsync(IClusterClient client, string id, string target, CommandConsole console)
    {
        var status = await client.GetGrain<ICoordinatorGrain>(id).GetBatchStatus();
        Collect(status, target);
        BatchConsole.PrintSummary(status, console);
        if (status.IsFinished) return BatchConsole.ExitCode(status, console);
        int done = status.Scenes.Count(s => s.Status.State == SceneState.Done);
        console.ErrorWriter.WriteLine($"uniclift: batch {status.BatchId} is still running: collected the {done} of {status.Scenes.Count} scenes done so far; " +
            $"`uniclift watch {status.BatchId}` waits for the rest, then `results` again collects them.");
        return ExitCodes.BatchRunning;
    }

    /// <summary>Copies done scenes' output directories (skipping a scene whose output already is the target) and writes
    /// summary.json, into a folder <see cref="PrepareTarget"/> accepts.</summary>
    internal static void Collect(BatchStatus status, string target)
    {
        PrepareTarget(status, target);
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

    /// <summary>
    /// Refuses, as bad input naming --out, a target the batch's results cannot or must not go into, and creates it:
    /// a file (was "IOException: The file '...' already exists.", exit 1); a folder that cannot be created or written
    /// (was "UnauthorizedAccessException: Access to the path '...' is denied.", exit 1); a folder holding other things
    /// than an earlier collection of this batch or the batch's own output root (its summary.json was overwritten and the
    /// scenes' files mixed with what was there, with exit 0).
    /// </summary>
    internal static void PrepareTarget(BatchStatus status, string target)
    {
        if (File.Exists(target)) throw NotAFolder(target);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()
            && !SamePath(target, status.OutputRoot) && CollectedBatch(target) != status.BatchId)
        {
            var other = CollectedBatch(target) is { } b ? $"the results of batch {b}" : "other files";
            throw new ArgumentException($"--out '{target}' already holds {other}; name a new or empty folder " +
                $"(or the batch's output root, {status.OutputRoot}, or a folder `results {status.BatchId}` wrote before).");
        }
        try
        {
            Directory.CreateDirectory(target);
            // Writable? (an existing folder of someone else's is only found out at the first copy, half-way through)
            var probe = Path.Combine(target, $".uniclift-write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            var why = e is UnauthorizedAccessException ? "permission denied" : e.Message.TrimEnd('.');
            throw new ArgumentException($"--out '{target}' cannot be written ({why}); name a folder you may write to.");
        }
    }

    private static ArgumentException NotAFolder(string target) =>
        new($"--out '{target}' is a file; name a folder to collect the results in.");

    private static bool SamePath(string a, string b) =>
        !string.IsNullOrEmpty(b) && Path.GetFullPath(a).TrimEnd('/') == Path.GetFullPath(b).TrimEnd('/');

    /// <summary>The batch whose results an earlier `results` wrote into <paramref name="folder"/> (its summary.json), or null.</summary>
    private static string? CollectedBatch(string folder)
    {
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "summary.json")));
            return json.RootElement.TryGetProperty("batch", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException) { return null; }
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
