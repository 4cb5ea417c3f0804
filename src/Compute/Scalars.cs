namespace UniCLift.Compute;

using System.Collections.Concurrent;
using TorchSharp;

/// <summary>
/// Cached TorchSharp scalars for hot paths. TorchSharp 0.107's implicit double-to-Scalar conversion makes a native
/// object that only a finaliser frees, and its ops read the handle without keeping the Scalar alive: a GC during the
/// native call can free it mid-use (seen as "INTERNAL ASSERT FAILED at Scalar.h" crashes during training). Scalars
/// cached here stay rooted, so they are never finalised. Use for constants; dispose per-step values with `using`.
/// Tensor + (and add/add_ without alpha) makes such a scalar too (alpha = 1): write a.add(b, Scalars.One); - is safe.
/// ScalarSafetyTests reads the product's IL for every call that makes a temporary Scalar (from TorchSharp's own IL).
/// </summary>
public static class Scalars
{
    private static readonly ConcurrentDictionary<double, Scalar> Cache = new();

    /// <summary>1, the alpha of a plain tensor sum or difference.</summary>
    public static Scalar One { get; } = 1.0.ToScalar();

    /// <summary>2, the exponent of <see cref="Square"/>.</summary>
    public static Scalar Two { get; } = 2.0.ToScalar();

    /// <summary>x^2 elementwise. TorchSharp's Tensor.square() is pow(2) with an implicit, unrooted Scalar: the race above,
    /// seen as "INTERNAL ASSERT FAILED at Scalar.h" in pow during training and tests. Same op, rooted exponent.</summary>
    public static TorchSharp.torch.Tensor Square(this TorchSharp.torch.Tensor x) => x.pow(Two);

    public static Scalar Of(double value) => Cache.GetOrAdd(value, v => v.ToScalar());
}
