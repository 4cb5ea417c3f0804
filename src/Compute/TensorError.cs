namespace UniCLift.Compute;

using static TorchSharp.torch;

/// <summary>How far one tensor is from a reference, as the project's GPU checks measure it.</summary>
public static class TensorError
{
    /// <summary>The largest |actual - expected| over the largest |expected| (at least <paramref name="floor"/>), in double
    /// precision on the host; the tensors may be on different devices.</summary>
    public static double Relative(Tensor actual, Tensor expected, double floor = 1e-12)
    {
        using var scope = NewDisposeScope();
        var a = actual.detach().to(float64).cpu();
        var b = expected.detach().to(float64).cpu();
        return a.sub(b).abs().max().item<double>() / Math.Max(b.abs().max().item<double>(), floor);
    }
}
