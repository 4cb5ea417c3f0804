namespace UniCLift.Compute.Rendering;

using static TorchSharp.torch;

/// <summary>The learnable Gaussian parameters (leaf tensors, float32, CPU). N Gaussians.</summary>
/// <param name="Means">[N, 3] world positions.</param>
/// <param name="LogScales">[N, 3] log of the per-axis standard deviations.</param>
/// <param name="Quats">[N, 4] rotation quaternions (w, x, y, z), not necessarily normalised.</param>
/// <param name="OpacityLogits">[N] or [N, 1] opacity before the sigmoid.</param>
/// <param name="Sh">[N, K, 3] SH coefficients, K = (stored degree + 1)^2.</param>
/// <param name="Features">[N, D] view-independent feature vectors (D = 12 for UniC-Lift), or null.</param>
public sealed record GaussianTensors(Tensor Means, Tensor LogScales, Tensor Quats, Tensor OpacityLogits, Tensor Sh, Tensor? Features)
{
    public long Count => Means.shape[0];

    /// <summary>The same Gaussians with <paramref name="f"/> applied to every tensor (a copy to a device or dtype, as leaves).</summary>
    public GaussianTensors Map(Func<Tensor, Tensor> f) =>
        new(f(Means), f(LogScales), f(Quats), f(OpacityLogits), f(Sh), Features is null ? null : f(Features));

    public void Validate()
    {
        long n = Means.shape[0];
        void Check(Tensor t, string name, params long[] tail)
        {
            if (t.dtype != Means.dtype) throw new ArgumentException($"{name} has dtype {t.dtype}, expected {Means.dtype}.");
            if (t.shape.Length != tail.Length + 1 || t.shape[0] != n)
                throw new ArgumentException($"{name} has shape [{string.Join(",", t.shape)}], expected [{n},{string.Join(",", tail)}].");
            for (int i = 0; i < tail.Length; i++)
                if (tail[i] >= 0 && t.shape[i + 1] != tail[i])
                    throw new ArgumentException($"{name} has shape [{string.Join(",", t.shape)}], expected [{n},{string.Join(",", tail)}].");
        }
        if (Means.shape.Length != 2 || Means.shape[1] != 3) throw new ArgumentException($"Means has shape [{string.Join(",", Means.shape)}], expected [N,3].");
        Check(LogScales, "LogScales", 3);
        Check(Quats, "Quats", 4);
        if (OpacityLogits.shape.Length == 2) Check(OpacityLogits, "OpacityLogits", 1); else Check(OpacityLogits, "OpacityLogits");
        Check(Sh, "Sh", -1, 3);
        if (Features is not null) Check(Features, "Features", -1);
    }
}
