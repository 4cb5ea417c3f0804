namespace UniCLift.Testing;

using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

/// <summary>
/// A real program (`dotnet some.dll ...`) in a child process: its output lines as they come, POSIX signals to it,
/// and its exit within a deadline. Linked into both test projects (tests/Shared).
/// </summary>
public sealed partial class ChildProcess : IAsyncDisposable
{
    public const int SIGINT = 2, SIGTERM = 15; // Linux numbering

    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly List<string> lines = [];

    private ChildProcess(Process process) => this.process = process;

    /// <summary>
    /// Starts `dotnet <paramref name="dll"/> <paramref name="args"/>` in <paramref name="workingDirectory"/>. It runs
    /// through `env --default-signal=INT,TERM`, which puts SIGINT and SIGTERM back to their default disposition: a
    /// shell's background job inherits SIGINT ignored, and then no handler of the child would ever see it.
    /// </summary>
    public static ChildProcess Start(string dll, IEnumerable<string> args, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo("env")
        {
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["NO_COLOR"] = "1";
        foreach (var a in new[] { "--default-signal=INT,TERM", "dotnet", dll }.Concat(args)) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start dotnet {dll}");
        var child = new ChildProcess(p);
        p.OutputDataReceived += (_, e) => child.Add(e.Data);
        p.ErrorDataReceived += (_, e) => child.Add(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return child;
    }

    public int Id => process.Id;
    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;

    /// <summary>Standard output and error so far, interleaved as they arrived.</summary>
    public string Output { get { lock (output) return output.ToString(); } }

    private void Add(string? line)
    {
        if (line is null) return;
        lock (output)
        {
            output.AppendLine(line);
            lines.Add(line);
        }
    }

    /// <summary>Waits for an output line matching <paramref name="match"/>; fails naming what it waited for if the
    /// process exits or <paramref name="timeout"/> passes first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            lock (output)
                foreach (var l in lines)
                    if (match(l)) return l;
            if (process.HasExited)
                throw new Xunit.Sdk.XunitException($"process exited ({process.ExitCode}) before {what}; output:\n{Output}");
            if (clock.Elapsed > timeout)
                throw new Xunit.Sdk.XunitException($"no {what} within {timeout.TotalSeconds:F0} s; output:\n{Output}");
            await Task.Delay(50);
        }
    }

    /// <summary>Sends <paramref name="signal"/> (e.g. <see cref="SIGINT"/>) to the process.</summary>
    public void Signal(int signal)
    {
        if (Kill(process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Runs <paramref name="dll"/> with <paramref name="args"/> to its end and returns its output; fails with the
    /// exit code and the output when it does not exit 0 within <paramref name="timeout"/>.</summary>
    public static async Task<string> RunAsync(string dll, IEnumerable<string> args, string workingDirectory, TimeSpan timeout)
    {
        await using var child = Start(dll, args, workingDirectory);
        var code = await child.WaitForExitAsync(timeout);
        if (code != 0) throw new Xunit.Sdk.XunitException($"exit {code?.ToString() ?? "(still running)"}; output:\n{child.Output}");
        return child.Output;
    }

    /// <summary>Waits for the exit; null if the process still runs after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { return null; }
        process.WaitForExit(); // drains the redirected output
        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
