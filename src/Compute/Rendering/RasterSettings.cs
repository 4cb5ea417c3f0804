namespace UniCLift.Compute.Rendering;

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
