namespace UniCLift.Compute.Rendering;

/// <summary>Real spherical-harmonic constants of degree 0..3 (graphdeco's SH_C0..SH_C3, its basis and sign
/// convention), in double: the C# loop uses them as they are, the torch version rounds them to float.
/// rasterize.cu keeps its own #defines (NVRTC compiles that source as text).</summary>
public static class ShBasis
{
    public const double C0 = 0.28209479177387814;
    public const double C1 = 0.4886025119029199;
    public const double C20 = 1.0925484305920792, C21 = -1.0925484305920792, C22 = 0.31539156525252005, C23 = -1.0925484305920792,
        C24 = 0.5462742152960396;
    public const double C30 = -0.5900435899266435, C31 = 2.890611442640554, C32 = -0.4570457994644658, C33 = 0.3731763325901154,
        C34 = -0.4570457994644658, C35 = 1.445305721320277, C36 = -0.5900435899266435;

    /// <summary>Coefficients per colour channel for an SH degree: (degree + 1)^2.</summary>
    public static int Count(int degree) => (degree + 1) * (degree + 1);
}
