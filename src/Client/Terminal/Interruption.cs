namespace UniCLift.Client.Terminal;

using System.Runtime.InteropServices;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM for the commands that run long (the asynchronous ones: segment, demo, submit, watch,
/// bench segment...). The first signal cancels <see cref="Token"/>, which those commands pass down: training stops at
/// its next step, a batch the command started is cancelled, the embedded silo stops, files being written are
/// finished; the command then exits with <see cref="ExitCodes.Interrupted"/> (SIGINT) or
/// <see cref="ExitCodes.Terminated"/> (SIGTERM). A second signal is left to the system's default action: the process
/// ends at once.
/// </summary>
/// <remarks>
/// The one owner of these signals in the console: System.CommandLine's own handling is switched off
/// (<see cref="Cli.RunAsync"/>) and the embedded silo's host gets no console lifetime (<see cref="ClusterConnection"/>);
/// before, the host's console lifetime took the signals, asked a host nobody waited on to stop, and training went on.
/// </remarks>
public sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource cancel = new();
    private readonly TextWriter error;
    private readonly PosixSignalRegistration sigint, sigterm;
    private int first; // the first signal's PosixSignal value (SIGINT -2, SIGTERM -4), 0 before any

    private Interruption(TextWriter error)
    {
        this.error = error;
        sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Takes SIGINT and SIGTERM from now until disposed; progress lines about them go to <paramref name="error"/>.</summary>
    public static Interruption Listen(TextWriter error) => new(error);

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => cancel.Token;

    /// <summary>The first signal that arrived, or null.</summary>
    public PosixSignal? Signal => Volatile.Read(ref first) is var s and not 0 ? (PosixSignal)s : null;

    /// <summary>The exit code for the first signal (130 SIGINT, 143 SIGTERM), or null when none arrived.</summary>
    public int? ExitCode => Signal is { } s ? ExitCodes.For(s) : null;

    private void OnSignal(PosixSignalContext context)
    {
        // Runs on a thread the runtime starts for each signal, so two signals may overlap.
        if (Interlocked.CompareExchange(ref first, (int)context.Signal, 0) != 0)
        {
            error.WriteLine($"uniclift: {Name(context.Signal)} again: exiting now.");
            return; // not cancelled: the default action ends the process
        }
        context.Cancel = true;
        error.WriteLine($"uniclift: {Name(context.Signal)}: stopping (a training stops at its next step); send it again to exit at once.");
        cancel.Cancel();
    }

    public static string Name(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGINT => "SIGINT",
        PosixSignal.SIGTERM => "SIGTERM",
        _ => signal.ToString(),
    };

    public void Dispose()
    {
        // The token source stays undisposed: a handler already running may still cancel it.
        sigint.Dispose();
        sigterm.Dispose();
    }
}
