namespace UniCLift.Tests.Cli;

using System.Diagnostics;
using UniCLift.Client;

/// <summary>The GPU machine's scripts (bench/gpu-train.sh, gpu-slots.sh, gpu-check.sh) run there with minutes of device
/// time a session and nothing built there: a command line this repository's console no longer takes would spend that
/// time on a usage error. Here each script runs with a `.device/run.sh` that records its arguments instead of running
/// them, and every recorded `uniclift` command line must parse.</summary>
public sealed class DeviceScriptsTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("uniclift-device-scripts-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(work, recursive: true); } catch (IOException) { }
    }

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "UniCLift.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary>Runs `bash bench/SCRIPT ARGS` in a folder holding the repository's bench/ and a recording
    /// .device/run.sh; returns each recorded command line (the arguments after `uniclift`).</summary>
    private List<string[]> Record(string script, params string[] args)
    {
        var root = Path.Combine(work, Path.GetFileNameWithoutExtension(script) + string.Join("-", args));
        Directory.CreateDirectory(Path.Combine(root, ".device"));
        Directory.CreateSymbolicLink(Path.Combine(root, "bench"), Path.Combine(RepoRoot(), "bench"));
        var record = Path.Combine(root, "commands.txt");
        File.WriteAllText(Path.Combine(root, ".device", "run.sh"),
            "#!/usr/bin/env bash\n{ for a in \"$@\"; do printf '%s\\037' \"$a\"; done; echo; } >> \"$RECORD\"\n");
        var psi = new ProcessStartInfo("bash") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine("bench", script));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["RECORD"] = record;
        psi.Environment["OUT"] = Path.Combine(root, "out");
        psi.Environment["WORK"] = Path.Combine(root, "slots");
        psi.Environment["MEMORY_DIR"] = Path.Combine(root, "memory");
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), $"bench/{script} did not finish");
        Assert.True(File.Exists(record), $"bench/{script} {string.Join(' ', args)} ran nothing: {output.Result}{error.Result}");
        return File.ReadAllLines(record).Select(l => l.TrimEnd('\x1f').Split('\x1f')).ToList();
    }

    [Fact]
    public void Every_Command_The_Gpu_Scripts_Run_Parses()
    {
        var runs = new Dictionary<string, List<string[]>>
        {
            ["gpu-train.sh first"] = Record("gpu-train.sh", "first"),
            ["gpu-train.sh second"] = Record("gpu-train.sh", "second"),
            ["gpu-check.sh"] = Record("gpu-check.sh"),
            ["gpu-slots.sh"] = Record("gpu-slots.sh"),
        };
        // What each decides the issue by is there: the paper-scale scene, the checks, the phases, the slots' batches.
        var train = runs["gpu-train.sh first"].Select(c => string.Join(' ', c)).ToList();
        Assert.Contains(train, c => c.StartsWith("uniclift bench segment --seeds 2 --views 100 --width 640 --height 480 --device cuda --iterations 30000", StringComparison.Ordinal));
        Assert.Contains(train, c => c == "uniclift check gpu");
        Assert.Contains(train, c => c.Contains("--profile", StringComparison.Ordinal));
        Assert.Equal(3, runs["gpu-train.sh second"].Count(c => c.Length > 1 && c[1] == "submit"));
        Assert.Contains(runs["gpu-slots.sh"], c => c.Length > 1 && c[1] == "make-scene");

        var bad = new List<string>();
        foreach (var (script, commands) in runs)
            foreach (var command in commands)
            {
                Assert.Equal("uniclift", command[0]);
                var errors = Cli.Build().Parse(command[1..]).Errors;
                if (errors.Count > 0) bad.Add($"{script}: uniclift {string.Join(' ', command[1..])}: {string.Join("; ", errors.Select(e => e.Message))}");
                // --set and --decode values are checked when the command runs: here, as the command would.
                for (int i = 1; i + 1 < command.Length; i++)
                {
                    try
                    {
                        if (command[i] == "--set") Compute.Training.TrainingOptionOverrides.Apply(new Compute.Training.TrainingOptions(), [command[i + 1]]);
                        if (command[i] == "--decode") Compute.Segmentation.DecodeOptionOverrides.Apply(new Compute.Segmentation.DecodeOptions(), [command[i + 1]]);
                    }
                    catch (ArgumentException e) { bad.Add($"{script}: {command[i]} {command[i + 1]}: {e.Message}"); }
                }
            }
        Assert.True(bad.Count == 0, string.Join("\n", bad));
    }
}
