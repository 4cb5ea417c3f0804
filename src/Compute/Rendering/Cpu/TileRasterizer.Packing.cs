namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;

/// <summary>The projected Gaussians packed for blending: one 16-float row (a cache line) per Gaussian with its
/// tile-independent ellipse support, and the support's box for binning.</summary>
internal sealed partial class TileRasterizer
{
    /// <summary>Fills <see cref="Packed"/> [N, Stride] and the support box [N, 2] of every Gaussian with a radius.</summary>
    private unsafe void Pack(int n, float* mean2d, float* conic, float* opacity, float* colour, float* depth, int[] radii)
    {
        nint pm = (nint)mean2d, pc = (nint)conic, po = (nint)opacity, pcol = (nint)colour, pd = (nint)depth;
        Parallel.For(0, (n + 2047) / 2048, chunk =>
        {
            float* m2 = (float*)pm, co = (float*)pc, op = (float*)po, col = (float*)pcol, dep = (float*)pd;
            var packed = Packed; var support = _support;
            int g1 = Math.Min(n, (chunk + 1) * 2048);
            for (int g = chunk * 2048; g < g1; g++)
            {
                if (radii[g] == 0) continue; // culled: in no tile list, never gathered
                int o = g * Stride;
                packed[o] = m2[2 * g]; packed[o + 1] = m2[2 * g + 1];
                packed[o + 2] = co[3 * g]; packed[o + 3] = co[3 * g + 1]; packed[o + 4] = co[3 * g + 2];
                packed[o + 5] = op[g];
                packed[o + 6] = col[3 * g]; packed[o + 7] = col[3 * g + 1]; packed[o + 8] = col[3 * g + 2];
                packed[o + 9] = dep[g];
                // Tile-independent ellipse support (SIMD kernels): slope, q, 1/a, t, yMax, and whether it can blend at all.
                bool any = CullEllipse(co[3 * g], co[3 * g + 1], co[3 * g + 2], op[g],
                    out packed[o + 10], out packed[o + 11], out packed[o + 12], out packed[o + 13], out packed[o + 14], out support[2 * g]);
                packed[o + 15] = any ? 1f : 0f;
                support[2 * g + 1] = packed[o + 14];
            }
        });
    }

    /// <summary>Extra room in the cull test (in units of the quadratic form a dx^2 + 2b dx dy + c dy^2, and in pixels) so
    /// float rounding never culls a pixel/Gaussian pair the per-pixel alpha test would keep.</summary>
    private const float CullSlack = 0.02f, CullSlackPx = 0.02f;

    /// <summary>Conservative support of a Gaussian: the ellipse where o * exp(power) can reach 1/255, i.e.
    /// a dx^2 + 2b dx dy + c dy^2 &lt;= t with t = 2 ln(255 o). Outputs per row: the pixel-centre x interval is
    /// mx + slope dy +- sqrt((t - q dy^2) invA); rows with |dy| &lt;= yMax. xMax is the half-width of the whole ellipse
    /// (its bounding box, for tile binning). Returns false, with xMax = yMax = -1, when nothing can pass (opacity below
    /// 1/255). A non-positive-definite conic gets an unbounded support (no culling).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool CullEllipse(float a, float b, float c, float o, out float slope, out float q, out float invA, out float t,
        out float yMax, out float xMax)
    {
        slope = 0; q = 0; invA = 1; yMax = xMax = float.PositiveInfinity;
        t = 2f * MathF.Log(255f * o);
        t += CullSlack + 1e-3f * MathF.Abs(t);
        if (!(t >= 0)) { t = -1; yMax = xMax = -1; return false; }
        float det = a * c - b * b;
        if (!(a > 0) || !(det > 0) || !float.IsFinite(det)) { t = float.PositiveInfinity; return true; }
        slope = b / a; q = det / a; invA = 1f / a;
        yMax = MathF.Sqrt(t * a / det) + CullSlackPx;
        xMax = MathF.Sqrt(t * c / det) + CullSlackPx;
        return true;
    }
}
