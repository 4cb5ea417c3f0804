namespace UniCLift.Compute.Rendering;

using static TorchSharp.torch;

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
