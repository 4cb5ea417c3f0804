namespace UniCLift.Silo;

using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM (Kubernetes, docker stop) for the silo program: the first one stops the host gracefully
/// (scene grains checkpoint at their next training step, then the silo leaves the cluster; the host's console
/// lifetime asks for the same stop) and is remembered, so that the process exits 130 / 143 after the shutdown, like
/// the `uniclift` console. Exit code 0 means the silo was stopped otherwise (its host was asked to stop).
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly IHostApplicationLifetime lifetime;
    private readonly PosixSignalRegistration sigint, sigterm;
    private int first; // the first signal's PosixSignal value, 0 before any

    private StopSignals(IHostApplicationLifetime lifetime)
    {
        this.lifetime = lifetime;
        sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public static StopSignals Watch(IHostApplicationLifetime lifetime) => new(lifetime);

    /// <summary>130 after SIGINT, 143 after SIGTERM, 0 when no signal stopped the silo.</summary>
    public int ExitCode => (PosixSignal)Volatile.Read(ref first) switch
    {
        PosixSignal.SIGINT => 130,
        PosixSignal.SIGTERM => 143,
        _ => 0,
    };

    private void OnSignal(PosixSignalContext context)
    {
        Interlocked.CompareExchange(ref first, (int)context.Signal, 0);
        context.Cancel = true; // a graceful stop, not the default action (which ends the process at once)
        lifetime.StopApplication();
    }

    public void Dispose()
    {
        sigint.Dispose();
        sigterm.Dispose();
    }
}
