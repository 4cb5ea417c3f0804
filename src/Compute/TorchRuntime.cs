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

    /// <summary>
    /// libtorch's intra-op thread count from UNICLIFT_TORCH_THREADS (<paramref name="value"/>; unset or empty: 1). A value
    /// that is not a count in 1..<paramref name="processors"/> is bad input naming the variable: "abc" and -1 were ignored
    /// without a word, and 100000 made a 5-step training on 2 cores run for minutes.
    /// </summary>
    internal static int ThreadCount(string? value, int processors)
    {
        if (string.IsNullOrWhiteSpace(value)) return 1;
        if (!int.TryParse(value.Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n) || n < 1 || n > processors)
            throw new ArgumentException($"UNICLIFT_TORCH_THREADS='{value}': expected a thread count in 1..{processors} (the processors this process may use); unset it for 1.");
        return n;
    }

    private static void Initialise()
    {
        try
        {
            torch.set_default_dtype(torch.float32);
            // Our rasteriser parallelises with Parallel.For; libtorch's OpenMP workers spin-wait between ops and
            // fight those threads for the cores (measured: 2.7x the CPU time with 2 torch threads). The torch ops we
            // run (losses, Adam) are small, so one intra-op thread is the faster choice on CPU.
            torch.set_num_threads(ThreadCount(Environment.GetEnvironmentVariable("UNICLIFT_TORCH_THREADS"), Environment.ProcessorCount));
        }
        catch (TypeInitializationException e)
        {
            throw new InvalidOperationException(
                "libtorch could not be loaded. On Debian 12 the build patches libLibTorchSharp.so (GLIBCXX_3.4.32 weak); " +
                "run the program from its build output (dotnet build), not from a copy made before the build. " + e.InnerException?.Message, e);
        }
    }
}
