namespace UniCLift.Compute;

using TorchSharp;

/// <summary>One place that initialises libtorch for this process (thread count, default dtype).</summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static volatile bool _initialised;

    /// <summary>Loads libtorch once. Throws a clear error if the native library cannot be loaded. A caller returns only
    /// once the settings are in place (a thread whose first operation ran before set_num_threads kept torch's default
    /// thread count); a failed load is tried again, with its error, by the next caller.</summary>
    public static void EnsureInitialised()
    {
        if (_initialised) return;
        lock (Gate)
        {
            if (_initialised) return;
            Initialise();
            _initialised = true;
        }
    }

    private static void Initialise()
    {
        try
        {
            torch.set_default_dtype(torch.float32);
            // Our rasteriser parallelises with Parallel.For; libtorch's OpenMP workers spin-wait between ops and
            // fight those threads for the cores (measured: 2.7x the CPU time with 2 torch threads). The torch ops we
            // run (losses, Adam) are small, so one intra-op thread is the faster choice on CPU.
            if (Environment.GetEnvironmentVariable("UNICLIFT_TORCH_THREADS") is { } t && int.TryParse(t, out var n) && n > 0)
                torch.set_num_threads(n);
            else
                torch.set_num_threads(1);
        }
        catch (TypeInitializationException e)
        {
            throw new InvalidOperationException(
                "libtorch could not be loaded. On Debian 12 the build patches libLibTorchSharp.so (GLIBCXX_3.4.32 weak); " +
                "run the program from its build output (dotnet build), not from a copy made before the build. " + e.InnerException?.Message, e);
        }
    }
}
