namespace UniCLift.Client.Terminal;

using System.Runtime.InteropServices;
using UniCLift.Compute;

/// <summary>Exit codes every `uniclift` command uses (README, "Exit codes").</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A failure that is not the user's input: the environment (no cluster, no GPU), a failed scene, a bug.</summary>
    public const int Failure = 1;
    /// <summary>The user's input is wrong: bad path, malformed file, invalid value. One line names it.</summary>
    public const int UserError = 2;
    /// <summary>The batch the command followed was cancelled (`uniclift cancel`).</summary>
    public const int BatchCancelled = 3;
    /// <summary>`results` of a batch still running: what has finished was collected, the rest has not (a script that
    /// went on after exit 0 took a part for the whole).</summary>
    public const int BatchRunning = 4;
    /// <summary>Stopped by SIGINT (Ctrl-C): 128 + 2, as a shell reports a process that SIGINT ended.</summary>
    public const int Interrupted = 130;
    /// <summary>Stopped by SIGTERM: 128 + 15.</summary>
    public const int Terminated = 143;

    /// <summary>The exit code of a command stopped by <paramref name="signal"/> (SIGINT or SIGTERM).</summary>
    public static int For(PosixSignal signal) => signal == PosixSignal.SIGTERM ? Terminated : Interrupted;

    /// <summary>The exit code of a command that failed with <paramref name="e"/>: <see cref="UserError"/> for bad
    /// input (<see cref="FailurePolicy.IsBadInput"/>), <see cref="Failure"/> for anything else.</summary>
    public static int For(Exception e) => FailurePolicy.IsBadInput(e) ? UserError : Failure;
}
