namespace UniCLift.Compute;

using System.Collections.Concurrent;
using TorchSharp;

/// <summary>
/// Cached TorchSharp scalars for hot paths. TorchSharp 0.107's implicit double-to-Scalar conversion makes a native
/// object that only a finaliser frees, and its ops read the handle without keeping the Scalar alive: a GC during the
/// native call can free it mid-use (seen as "INTERNAL ASSERT FAILED at Scalar.h" crashes during training). Scalars
/// cached here stay rooted, so they are never finalised. Use for constants; dispose per-step values with `using`.
/// </summary>
public static class Scalars
{
    private static readonly ConcurrentDictionary<double, Scalar> Cache = new();

    public static Scalar Of(double value) => Cache.GetOrAdd(value, v => v.ToScalar());
}
