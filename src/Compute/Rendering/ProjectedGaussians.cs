namespace UniCLift.Compute.Rendering;

using static TorchSharp.torch;

/// <summary>Gaussians projected into one camera. N Gaussians; tensors are differentiable functions of the parameters.</summary>
/// <param name="Mean2d">[N, 2] pixel coordinates (u, v) of the projected means (Camera convention: pixel (i, j) has its
/// centre at (i + 0.5, j + 0.5)).</param>
/// <param name="Conic">[N, 3] inverse 2D covariance (a, b, c) = upper triangle of inv([[xx, xy], [xy, yy]]).</param>
/// <param name="Depth">[N] camera-space z (1 for culled Gaussians, which never render).</param>
/// <param name="Opacity">[N] sigmoid(opacity logit).</param>
/// <param name="Colours">[N, 3] view-dependent colour from SH.</param>
/// <param name="Radii">[N] 3-sigma radius in pixels, 0 = culled (not yet tile-checked).</param>
public sealed record ProjectedGaussians(Tensor Mean2d, Tensor Conic, Tensor Depth, Tensor Opacity, Tensor Colours, int[] Radii);
