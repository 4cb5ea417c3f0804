namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using V = System.Runtime.Intrinsics.Vector256<float>;

/// <summary>AVX2 versions of the tile kernels: 8 pixels of a tile row per vector, one Gaussian at a time, so the
/// per-Gaussian parameters are broadcasts and exp runs 8-wide. Same arithmetic order per pixel as the scalar kernels
/// except exp (vectorised) and fused sums, so results agree to float rounding, and gradients stay deterministic
/// (per-Gaussian lane accumulators are summed lane 0..7 in order).</summary>
internal sealed partial class TileRasterizer
{
    /// <summary>Use the SIMD kernels when the hardware has 256-bit vectors (tests flip it to compare with scalar).</summary>
    internal static bool UseSimd = Vector256.IsHardwareAccelerated;

    private static readonly V LaneIndex = Vector256.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool None(V mask) => mask.ExtractMostSignificantBits() == 0;

    private unsafe void ForwardTileSimd(int tile, float* outRgb, float* outFeat, float* outDepth, float* outAlpha)
    {
        int count = Binning.TileStart[tile + 1] - Binning.TileStart[tile];
        int d = D;
        var s = GetScratch(count, d, 0, 0, d * 8);
        Gather(tile, s, d > 0);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        float bg0 = Background[0], bg1 = Background[1], bg2 = Background[2];
        long evals = 0;
        var one = V.One;
        var maxA = Vector256.Create(MaxAlpha); var minA = Vector256.Create(MinAlpha); var minT = Vector256.Create(MinTransmittance);
        var tmp = stackalloc float[8 * 8];
        fixed (float* gl = s.G, fl = s.F, fv = s.V)
        {
            for (int py = ys; py < ye; py++)
            {
                float fy = py + 0.5f;
                for (int cx = xs; cx < xe; cx += 8)
                {
                    int lanes = Math.Min(8, xe - cx);
                    var pxv = Vector256.Create(cx + 0.5f) + LaneIndex;
                    var active = Vector256.LessThan(LaneIndex, Vector256.Create((float)lanes));
                    var T = one; var r = V.Zero; var gr = V.Zero; var b = V.Zero; var z = V.Zero; var lastV = V.Zero;
                    for (int c = 0; c < d; c++) V.Zero.Store(fv + 8 * c);
                    for (int j = 0; j < count; j++)
                    {
                        float* p = gl + j * Stride;
                        float dy = p[1] - fy;
                        var dx = Vector256.Create(p[0]) - pxv;
                        var power = dx * (Vector256.Create(-0.5f * p[2]) * dx + Vector256.Create(-p[3] * dy)) + Vector256.Create(-0.5f * p[4] * dy * dy);
                        var ok = active & Vector256.LessThanOrEqual(power, V.Zero);
                        if (None(ok)) continue;
                        var alpha = Vector256.Min(maxA, Vector256.Create(p[5]) * Vector256.Exp(power));
                        ok &= Vector256.GreaterThanOrEqual(alpha, minA);
                        if (None(ok)) continue;
                        var testT = T * (one - alpha);
                        var stop = ok & Vector256.LessThan(testT, minT);
                        active = Vector256.AndNot(active, stop);
                        var blend = Vector256.AndNot(ok, stop);
                        var w = blend & (alpha * T);
                        r += w * Vector256.Create(p[6]); gr += w * Vector256.Create(p[7]); b += w * Vector256.Create(p[8]); z += w * Vector256.Create(p[9]);
                        float* fj = fl + j * d;
                        for (int c = 0; c < d; c++) (Vector256.Load(fv + 8 * c) + w * Vector256.Create(fj[c])).Store(fv + 8 * c);
                        T = Vector256.ConditionalSelect(blend, testT, T);
                        lastV = Vector256.ConditionalSelect(blend, Vector256.Create((float)(j + 1)), lastV);
                        if (None(active)) break;
                    }
                    T.Store(tmp); r.Store(tmp + 8); gr.Store(tmp + 16); b.Store(tmp + 24); z.Store(tmp + 32); lastV.Store(tmp + 40);
                    for (int l = 0; l < lanes; l++)
                    {
                        int pix = py * Width + cx + l;
                        float tl = tmp[l];
                        int last = (int)tmp[40 + l];
                        evals += last;
                        FinalT[pix] = tl;
                        NContrib[pix] = last;
                        outRgb[3 * pix] = tmp[8 + l] + tl * bg0; outRgb[3 * pix + 1] = tmp[16 + l] + tl * bg1; outRgb[3 * pix + 2] = tmp[24 + l] + tl * bg2;
                        outDepth[pix] = tmp[32 + l];
                        outAlpha[pix] = 1f - tl;
                        float* of = outFeat + (long)pix * d;
                        for (int c = 0; c < d; c++) of[c] = fv[8 * c + l];
                    }
                }
            }
        }
        _tileEvals[tile] = evals;
    }

    private unsafe void BackwardTileSimd(int tile, float* dRgb, float* dDepth, float* dAlpha, float* dFeat, bool geo, bool featGeo)
    {
        int start = Binning.TileStart[tile], count = Binning.TileStart[tile + 1] - start;
        if (count == 0) return;
        int d = D, kf = FeatStride;
        bool feat = dFeat != null;
        // Lane accumulators: per Gaussian GeoStride (and kf) vectors of 8 pixels; pixel state: dv, accF, lastF (3 d vectors).
        var s = GetScratch(count, d, GeoStride * 8, kf * 8, 3 * d * 8);
        Gather(tile, s, feat);
        if (geo) Array.Clear(s.GradG, 0, count * GeoStride * 8);
        if (feat) Array.Clear(s.GradF, 0, count * kf * 8);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        var one = V.One; var maxA = Vector256.Create(MaxAlpha); var minA = Vector256.Create(MinAlpha);
        var bgv0 = Vector256.Create(Background[0]); var bgv1 = Vector256.Create(Background[1]); var bgv2 = Vector256.Create(Background[2]);
        var tmp = stackalloc float[8 * 8];
        fixed (float* gl = s.G, fl = s.F, gg = s.GradG, gf = s.GradF, fv = s.V)
        {
            float* dvv = fv, accF = fv + 8 * d, lastF = fv + 16 * d;
            for (int py = ys; py < ye; py++)
            {
                float fy = py + 0.5f;
                for (int cx = xs; cx < xe; cx += 8)
                {
                    int lanes = Math.Min(8, xe - cx);
                    int maxLast = 0;
                    for (int l = 0; l < 8; l++)
                    {
                        int pix = py * Width + cx + l;
                        int last = l < lanes ? NContrib[pix] : 0;
                        maxLast = Math.Max(maxLast, last);
                        tmp[l] = last; tmp[8 + l] = l < lanes ? FinalT[pix] : 1f;
                        float z0 = 0, z1 = 0, z2 = 0, z3 = 0, z4 = 0;
                        if (l < lanes)
                        {
                            if (dRgb != null) { z0 = dRgb[3 * pix]; z1 = dRgb[3 * pix + 1]; z2 = dRgb[3 * pix + 2]; }
                            if (dDepth != null) z3 = dDepth[pix];
                            if (dAlpha != null) z4 = dAlpha[pix];
                        }
                        tmp[16 + l] = z0; tmp[24 + l] = z1; tmp[32 + l] = z2; tmp[40 + l] = z3; tmp[48 + l] = z4;
                        if (feat)
                        {
                            float* src = dFeat + (long)pix * d;
                            for (int c = 0; c < d; c++) dvv[8 * c + l] = l < lanes ? src[c] : 0f;
                        }
                    }
                    if (maxLast == 0) continue;
                    var lastV = Vector256.Load(tmp); var finalT = Vector256.Load(tmp + 8); var T = finalT;
                    var g0 = Vector256.Load(tmp + 16); var g1 = Vector256.Load(tmp + 24); var g2 = Vector256.Load(tmp + 32);
                    var g3 = Vector256.Load(tmp + 40); var g4 = Vector256.Load(tmp + 48);
                    var bgDot = bgv0 * g0 + bgv1 * g1 + bgv2 * g2;
                    V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero, a4 = V.Zero, l0 = V.Zero, l1 = V.Zero, l2 = V.Zero, l3 = V.Zero, lastAlpha = V.Zero;
                    if (featGeo) for (int c = 0; c < d; c++) { V.Zero.Store(accF + 8 * c); V.Zero.Store(lastF + 8 * c); }
                    var pxv = Vector256.Create(cx + 0.5f) + LaneIndex;
                    for (int j = maxLast - 1; j >= 0; j--)
                    {
                        float* p = gl + j * Stride;
                        float dy = p[1] - fy;
                        var dx = Vector256.Create(p[0]) - pxv;
                        var power = dx * (Vector256.Create(-0.5f * p[2]) * dx + Vector256.Create(-p[3] * dy)) + Vector256.Create(-0.5f * p[4] * dy * dy);
                        var ok = Vector256.LessThan(Vector256.Create((float)j), lastV) & Vector256.LessThanOrEqual(power, V.Zero);
                        if (None(ok)) continue;
                        var G = Vector256.Exp(power);
                        var opv = Vector256.Create(p[5]);
                        var raw = opv * G;
                        var alpha = Vector256.Min(maxA, raw);
                        ok &= Vector256.GreaterThanOrEqual(alpha, minA);
                        if (None(ok)) continue;
                        var oneMinus = one - alpha;
                        T = Vector256.ConditionalSelect(ok, T / oneMinus, T);
                        var w = ok & (alpha * T);
                        var geomOk = ok & Vector256.LessThanOrEqual(raw, maxA); // no gradient through an active 0.99 clamp
                        var keep = one - lastAlpha;
                        var dyv = Vector256.Create(dy);
                        if (geo)
                        {
                            float* o = gg + j * GeoStride * 8;
                            var c0 = Vector256.Create(p[6]); var c1 = Vector256.Create(p[7]); var c2 = Vector256.Create(p[8]); var c3 = Vector256.Create(p[9]);
                            Add(o + 48, w * g0); Add(o + 56, w * g1); Add(o + 64, w * g2); Add(o + 72, w * g3);
                            a0 = Vector256.ConditionalSelect(ok, lastAlpha * l0 + keep * a0, a0);
                            a1 = Vector256.ConditionalSelect(ok, lastAlpha * l1 + keep * a1, a1);
                            a2 = Vector256.ConditionalSelect(ok, lastAlpha * l2 + keep * a2, a2);
                            a3 = Vector256.ConditionalSelect(ok, lastAlpha * l3 + keep * a3, a3);
                            a4 = Vector256.ConditionalSelect(ok, lastAlpha + keep * a4, a4);
                            l0 = Vector256.ConditionalSelect(ok, c0, l0); l1 = Vector256.ConditionalSelect(ok, c1, l1);
                            l2 = Vector256.ConditionalSelect(ok, c2, l2); l3 = Vector256.ConditionalSelect(ok, c3, l3);
                            var dAl = ((c0 - a0) * g0 + (c1 - a1) * g1 + (c2 - a2) * g2 + (c3 - a3) * g3 + (one - a4) * g4) * T
                                      - finalT / oneMinus * bgDot;
                            AddGeometrySimd(o, p, geomOk & dAl, G, dx, dyv);
                        }
                        if (feat)
                        {
                            float* o = gf + j * kf * 8;
                            for (int c = 0; c < d; c++) Add(o + 8 * c, w * Vector256.Load(dvv + 8 * c));
                            if (featGeo)
                            {
                                float* fj = fl + j * d;
                                var dAl = V.Zero;
                                for (int c = 0; c < d; c++)
                                {
                                    var fc = Vector256.Create(fj[c]);
                                    var acc = Vector256.Load(accF + 8 * c);
                                    acc = Vector256.ConditionalSelect(ok, lastAlpha * Vector256.Load(lastF + 8 * c) + keep * acc, acc);
                                    acc.Store(accF + 8 * c);
                                    Vector256.ConditionalSelect(ok, fc, Vector256.Load(lastF + 8 * c)).Store(lastF + 8 * c);
                                    dAl += (fc - acc) * Vector256.Load(dvv + 8 * c);
                                }
                                AddGeometrySimd(o + 8 * d, p, geomOk & (dAl * T), G, dx, dyv);
                            }
                        }
                        lastAlpha = Vector256.ConditionalSelect(ok, alpha, lastAlpha);
                    }
                }
            }
            // Lane sums (lanes in order), then each pair's tile-local sums to its slot.
            var sorted = Binning.Sorted;
            for (int j = 0; j < count; j++)
            {
                int slot = Binning.Slot(sorted[start + j], tx, ty);
                if (geo)
                    for (int k = 0; k < GeoStride; k++) _pairGeo[(long)slot * GeoStride + k] = LaneSum(gg + (j * GeoStride + k) * 8);
                if (feat)
                    for (int k = 0; k < kf; k++) _pairFeat[(long)slot * kf + k] = LaneSum(gf + (j * kf + k) * 8);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Add(float* dst, V v) => (Vector256.Load(dst) + v).Store(dst);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float LaneSum(float* v)
    {
        float sum = 0f;
        for (int l = 0; l < 8; l++) sum += v[l];
        return sum;
    }

    /// <summary>Vector form of <see cref="AddGeometry"/>: o holds 6 lane vectors (mean2d x, y, conic a, b, c, opacity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddGeometrySimd(float* o, float* p, V dAlpha, V G, V dx, V dy)
    {
        var dPower = dAlpha * Vector256.Create(p[5]) * G;
        var ca = Vector256.Create(p[2]); var cb = Vector256.Create(p[3]); var cc = Vector256.Create(p[4]);
        Add(o, -dPower * (ca * dx + cb * dy));
        Add(o + 8, -dPower * (cc * dy + cb * dx));
        var h = Vector256.Create(-0.5f) * dPower;
        Add(o + 16, h * dx * dx);
        Add(o + 24, -dPower * dx * dy);
        Add(o + 32, h * dy * dy);
        Add(o + 40, dAlpha * G);
    }
}
