namespace UniCLift.Compute.Rendering;

using static TorchSharp.torch;

/// <summary>Rasteriser options.</summary>
/// <param name="ShDegree">Active SH degree (0..3); may be lower than the degree the SH tensor stores.</param>
/// <param name="Background">RGB background colour (3 values); features always have background 0.</param>
/// <param name="NearPlane">Gaussians whose camera-space depth z is at most this are culled. Default 0.2, graphdeco's
/// in_frustum test: with 0.01 (gsplat's default) a floater a few cm in front of a novel camera, which no training view
/// ever had in front of it, covers the whole image (measured: a test view of a generated scene decoded as all background).</param>
/// <param name="FeatureGradientsReachGeometry">Whether a loss on the feature image sends gradients to means, scales,
/// rotations and opacities (METHOD.md leaves it open). Default false: only the features get them.</param>
public sealed record RasterSettings(
    int ShDegree = 3,
    float[]? Background = null,
    float NearPlane = 0.2f,
    bool FeatureGradientsReachGeometry = false)
{
    public float[] BackgroundOrBlack => Background ?? [0f, 0f, 0f];

    public RasterSettings Validate()
    {
        if (ShDegree < 0 || ShDegree > 3) throw new ArgumentException($"SH degree {ShDegree} must be in 0..3.");
        if (Background is { Length: not 3 }) throw new ArgumentException($"Background must have 3 values (RGB), has {Background.Length}.");
        if (!(NearPlane > 0)) throw new ArgumentException($"Near plane {NearPlane} must be positive.");
        return this;
    }
}

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

/// <summary>What <see cref="GaussianRasterizer.Render"/> returns. All tensors live in the caller's dispose scope.</summary>
public sealed class RenderResult
{
    /// <summary>[H, W, 3] colour image, background blended in.</summary>
    public required Tensor Rgb { get; init; }
    /// <summary>[H, W, D] feature image (background 0), or null when the Gaussians carry no features.</summary>
    public Tensor? Features { get; init; }
    /// <summary>[H, W] expected depth sum_i w_i z_i (not normalised by alpha).</summary>
    public required Tensor Depth { get; init; }
    /// <summary>[H, W] accumulated opacity 1 - T_final.</summary>
    public required Tensor Alpha { get; init; }
    /// <summary>[N] int32 screen radius in pixels; 0 = culled (behind the near plane or off screen).</summary>
    public required Tensor Radii { get; init; }
    /// <summary>[N] bool, Radii &gt; 0.</summary>
    public required Tensor Visible { get; init; }
    /// <summary>[N, 2] zero leaf; after backward its .grad holds dLoss/d(2D mean in pixels) from the RGB, depth and
    /// alpha images only (what density control accumulates). graphdeco's NDC-scaled view-space gradient equals
    /// this one times (W/2, H/2).</summary>
    public required Tensor ViewspaceRgb { get; init; }
    /// <summary>[N, 2] zero leaf; after backward its .grad holds dLoss/d(2D mean) from the feature image only. It is
    /// computed only when <see cref="RasterSettings.FeatureGradientsReachGeometry"/> is true (otherwise it stays zero).</summary>
    public required Tensor ViewspaceFeatures { get; init; }
}
