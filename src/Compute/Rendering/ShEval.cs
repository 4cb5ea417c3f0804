namespace UniCLift.Compute.Rendering;

using TorchSharp;
using static TorchSharp.torch;

/// <summary>Real spherical harmonics of degree 0..3 (the 3DGS / graphdeco basis and sign convention), evaluated
/// with TorchSharp ops so autograd differentiates them.</summary>
public static class ShEval
{
    // float32 scalars, as the tensors are.
    private const float C0 = (float)ShBasis.C0;
    private const float C1 = (float)ShBasis.C1;
    private static readonly float[] C2 = [(float)ShBasis.C20, (float)ShBasis.C21, (float)ShBasis.C22, (float)ShBasis.C23, (float)ShBasis.C24];
    private static readonly float[] C3 = [(float)ShBasis.C30, (float)ShBasis.C31, (float)ShBasis.C32, (float)ShBasis.C33,
                                          (float)ShBasis.C34, (float)ShBasis.C35, (float)ShBasis.C36];

    /// <summary>Colour = max(0, SH(dir) + 0.5) as in graphdeco (the clamp passes no gradient where it clamps).</summary>
    /// <param name="sh">[N, K, 3] coefficients, K >= (degree+1)^2.</param>
    /// <param name="dirs">[N, 3] unit view directions (mean - camera centre).</param>
    /// <returns>[N, 3] colours.</returns>
    public static Tensor Colour(Tensor sh, Tensor dirs, int degree)
    {
        if (degree < 0 || degree > 3) throw new ArgumentException($"SH degree {degree} must be in 0..3.", nameof(degree));
        long k = sh.shape[1];
        if (k < ShBasis.Count(degree))
            throw new ArgumentException($"SH tensor has {k} coefficients per channel, degree {degree} needs {ShBasis.Count(degree)}.", nameof(sh));
        // Basis [N, K'] (K' = (degree+1)^2) then one batched product with the coefficients: few ops, cheap autograd.
        int kk = ShBasis.Count(degree);
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
