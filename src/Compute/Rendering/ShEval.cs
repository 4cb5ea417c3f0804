namespace UniCLift.Compute.Rendering;

using TorchSharp;
using static TorchSharp.torch;

/// <summary>Real spherical harmonics of degree 0..3 (the 3DGS / graphdeco basis and sign convention), evaluated
/// with TorchSharp ops so autograd differentiates them.</summary>
public static class ShEval
{
    private const float C0 = 0.28209479177387814f;
    private const float C1 = 0.4886025119029199f;
    private static readonly float[] C2 = { 1.0925484305920792f, -1.0925484305920792f, 0.31539156525252005f, -1.0925484305920792f, 0.5462742152960396f };
    private static readonly float[] C3 = { -0.5900435899266435f, 2.890611442640554f, -0.4570457994644658f, 0.3731763325901154f,
                                           -0.4570457994644658f, 1.445305721320277f, -0.5900435899266435f };

    /// <summary>Number of coefficients per colour channel for an SH degree: (degree+1)^2.</summary>
    public static int CoefficientCount(int degree) => (degree + 1) * (degree + 1);

    /// <summary>Colour = max(0, SH(dir) + 0.5) as in graphdeco (the clamp passes no gradient where it clamps).</summary>
    /// <param name="sh">[N, K, 3] coefficients, K >= (degree+1)^2.</param>
    /// <param name="dirs">[N, 3] unit view directions (mean - camera centre).</param>
    /// <returns>[N, 3] colours.</returns>
    public static Tensor Colour(Tensor sh, Tensor dirs, int degree)
    {
        if (degree < 0 || degree > 3) throw new ArgumentException($"SH degree {degree} must be in 0..3.", nameof(degree));
        long k = sh.shape[1];
        if (k < CoefficientCount(degree))
            throw new ArgumentException($"SH tensor has {k} coefficients per channel, degree {degree} needs {CoefficientCount(degree)}.", nameof(sh));
        // Basis [N, K'] (K' = (degree+1)^2) then one batched product with the coefficients: few ops, cheap autograd.
        int kk = CoefficientCount(degree);
        var x = dirs.select(1, 0); var y = dirs.select(1, 1); var z = dirs.select(1, 2); // [N]
        var terms = new List<Tensor>(kk) { torch.full_like(x, C0) };
        if (degree >= 1)
        {
            terms.Add(-C1 * y); terms.Add(C1 * z); terms.Add(-C1 * x);
            if (degree >= 2)
            {
                var xx = x * x; var yy = y * y; var zz = z * z;
                var xy = x * y; var yz = y * z; var xz = x * z;
                terms.Add(C2[0] * xy); terms.Add(C2[1] * yz); terms.Add(C2[2] * (2.0f * zz - xx - yy)); terms.Add(C2[3] * xz); terms.Add(C2[4] * (xx - yy));
                if (degree >= 3)
                {
                    terms.Add(C3[0] * y * (3.0f * xx - yy));
                    terms.Add(C3[1] * xy * z);
                    terms.Add(C3[2] * y * (4.0f * zz - xx - yy));
                    terms.Add(C3[3] * z * (2.0f * zz - 3.0f * xx - 3.0f * yy));
                    terms.Add(C3[4] * x * (4.0f * zz - xx - yy));
                    terms.Add(C3[5] * z * (xx - yy));
                    terms.Add(C3[6] * x * (xx - 3.0f * yy));
                }
            }
        }
        var basis = torch.stack(terms, 1).unsqueeze(1); // [N, 1, K']
        var coef = k == kk ? sh : sh.narrow(1, 0, kk);  // [N, K', 3]
        var result = basis.bmm(coef).squeeze(1);        // [N, 3]
        return (result + 0.5f).clamp_min(0.0);
    }
}
