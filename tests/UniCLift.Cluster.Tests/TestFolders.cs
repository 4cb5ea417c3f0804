namespace UniCLift.Cluster.Tests;

using System.Diagnostics;
using System.Globalization;

/// <summary>Temporary folders for cluster tests whose scenes and results outlive one method's scope (a batch's
/// output read after its silos stop, a scene shared by several grains). A test process keeps them all under one run
/// folder, <c>uniclift-cluster-tests/&lt;pid&gt;-&lt;start&gt;</c> in the temporary folder, deleted when the process
/// exits; since the test host is often ended before its exit handlers have run (a full <c>dotnet test</c> left about
/// 20 folders, 70 MB, a run this way), each test process also deletes the run folders of processes no longer alive.
/// Running the suite again and again thus keeps at most one run's folders.</summary>
internal static class TestFolders
{
    private static readonly string Parent = Path.Combine(Path.GetTempPath(), "uniclift-cluster-tests");
    private static readonly Lazy<string> Run = new(StartRun);

    /// <summary>A new folder in this process's run folder, named <paramref name="prefix"/> and a random suffix.</summary>
    public static DirectoryInfo Create(string prefix) =>
        Directory.CreateDirectory(Path.Combine(Run.Value, prefix + Path.GetRandomFileName().Replace(".", "")));

    /// <summary>The run folder's name for a process: its id and start time, so that a reused id is not taken for
    /// the process that made the folder.</summary>
    internal static string RunName(Process process) =>
        $"{process.Id}-{process.StartTime.ToUniversalTime().Ticks.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Whether the run folder <paramref name="name"/> belongs to a process still running.</summary>
    internal static bool IsLive(string name)
    {
        var dash = name.IndexOf('-');
        if (dash <= 0 || !int.TryParse(name.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
        try
        {
            using var process = Process.GetProcessById(pid);
            return RunName(process) == name;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException) { return false; } // gone
    }

    private static string StartRun()
    {
        Directory.CreateDirectory(Parent);
        foreach (var stale in Directory.EnumerateDirectories(Parent))
        {
            if (IsLive(Path.GetFileName(stale))) continue;
            TryDelete(stale);
        }
        using var self = Process.GetCurrentProcess();
        var run = Directory.CreateDirectory(Path.Combine(Parent, RunName(self))).FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(run);
        return run;
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // in use or gone: the next run tries again
    }
}
