namespace UniCLift.Compute;

using TorchSharp;

/// <summary>One place that initialises libtorch for this process (thread count, default dtype).</summary>
public static class TorchRuntime
{
    private static int _initialised;

    /// <summary>Loads libtorch once. Throws a clear error if the native library cannot be loaded.</summary>
    public static void EnsureInitialised()
    {
        if (Interlocked.Exchange(ref _initialised, 1) == 1) return;
        try
        {
            torch.set_default_dtype(torch.float32);
            // One intra-op thread: the rasteriser's kernels use the .NET thread pool, and libtorch's OpenMP workers
            // spin-wait between ops, so both pools fight over the same cores (measured slower on 2 cores). Tensor ops
            // here are small per-Gaussian ones; the heavy loops are ours.
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
