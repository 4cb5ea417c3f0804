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

    // Per-chunk (8 pixels) backward state, in vectors: see BackwardTileSimd.
    private const int StT = 0, StFinalT = 1, StLast = 2, StG = 3, StBgDot = 8, StAcc = 9, StLastCol = 14, StLastAlpha = 18, StPx = 19, StFixed = 20;

    /// <summary>Backward of one tile, Gaussian-major like graphdeco's block loop: for each Gaussian (back to front) sweep
    /// the tile's 8-pixel chunks, whose running state (T, colour accumulators, pixel gradients) sits in a small array,
    /// so the Gaussian's gradient accumulates in registers/L1 and goes straight to its pair slot.</summary>
    private unsafe void BackwardTileSimd(int tile, float* dRgb, float* dDepth, float* dAlpha, float* dFeat, bool geo, bool featGeo)
    {
        int start = Binning.TileStart[tile], count = Binning.TileStart[tile + 1] - start;
        if (count == 0) return;
        int d = D, kf = FeatStride;
        bool feat = dFeat != null;
        int chunkStride = (StFixed + 3 * d) * 8; // floats per chunk: fixed state, then dv, accF, lastF (d vectors each)
        const int maxChunks = TileSize * TileSize / 8;
        // Scratch V: chunk states, then the current Gaussian's accumulators (GeoStride + kf vectors).
        var s = GetScratch(count, d, 0, 0, maxChunks * chunkStride + (GeoStride + kf) * 8);
        Gather(tile, s, feat);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        var one = V.One; var maxA = Vector256.Create(MaxAlpha); var minA = Vector256.Create(MinAlpha);
        float bg0 = Background[0], bg1 = Background[1], bg2 = Background[2];
        var chunkMax = stackalloc int[maxChunks];
        var chunkY = stackalloc float[maxChunks];
        var sorted = Binning.Sorted;
        fixed (float* gl = s.G, fl = s.F, sv = s.V)
        {
            float* accG = sv + maxChunks * chunkStride, accFj = accG + GeoStride * 8;
            int nChunks = 0, tileMax = 0;
            for (int py = ys; py < ye; py++)
            {
                for (int cx = xs; cx < xe; cx += 8)
                {
                    int lanes = Math.Min(8, xe - cx);
                    float* st = sv + nChunks * chunkStride;
                    int maxLast = 0;
                    for (int l = 0; l < 8; l++)
                    {
                        int pix = py * Width + cx + l;
                        bool inside = l < lanes;
                        int last = inside ? NContrib[pix] : 0;
                        maxLast = Math.Max(maxLast, last);
                        float t = inside ? FinalT[pix] : 1f;
                        st[8 * StT + l] = t; st[8 * StFinalT + l] = t; st[8 * StLast + l] = last;
                        float z0 = 0, z1 = 0, z2 = 0, z3 = 0, z4 = 0;
                        if (inside)
                        {
                            if (dRgb != null) { z0 = dRgb[3 * pix]; z1 = dRgb[3 * pix + 1]; z2 = dRgb[3 * pix + 2]; }
                            if (dDepth != null) z3 = dDepth[pix];
                            if (dAlpha != null) z4 = dAlpha[pix];
                        }
                        st[8 * StG + l] = z0; st[8 * (StG + 1) + l] = z1; st[8 * (StG + 2) + l] = z2; st[8 * (StG + 3) + l] = z3; st[8 * (StG + 4) + l] = z4;
                        st[8 * StBgDot + l] = bg0 * z0 + bg1 * z1 + bg2 * z2;
                        st[8 * StPx + l] = cx + l + 0.5f;
                        if (feat)
                        {
                            float* src = dFeat + (long)pix * d;
                            for (int c = 0; c < d; c++) st[8 * (StFixed + c) + l] = inside ? src[c] : 0f;
                        }
                    }
                    if (maxLast == 0) continue;
                    for (int k = StAcc; k <= StLastAlpha; k++) V.Zero.Store(st + 8 * k);
                    if (featGeo) for (int c = d; c < 3 * d; c++) V.Zero.Store(st + 8 * (StFixed + c));
                    chunkMax[nChunks] = maxLast; chunkY[nChunks] = py + 0.5f;
                    tileMax = Math.Max(tileMax, maxLast);
                    nChunks++;
                }
            }
            for (int j = count - 1; j >= 0; j--)
            {
                if (geo) for (int k = 0; k < GeoStride; k++) V.Zero.Store(accG + 8 * k);
                if (feat) for (int k = 0; k < kf; k++) V.Zero.Store(accFj + 8 * k);
                float* p = gl + j * Stride;
                var c0 = Vector256.Create(p[6]); var c1 = Vector256.Create(p[7]); var c2 = Vector256.Create(p[8]); var c3 = Vector256.Create(p[9]);
                var opv = Vector256.Create(p[5]);
                var ha = Vector256.Create(-0.5f * p[2]); var mxv = Vector256.Create(p[0]);
                var jv = Vector256.Create((float)j);
                float* fj = fl + j * d;
                for (int ch = 0; ch < nChunks; ch++)
                {
                    if (chunkMax[ch] <= j) continue;
                    float* st = sv + ch * chunkStride;
                    float dy = p[1] - chunkY[ch];
                    var dx = mxv - Vector256.Load(st + 8 * StPx);
                    var power = dx * (ha * dx + Vector256.Create(-p[3] * dy)) + Vector256.Create(-0.5f * p[4] * dy * dy);
                    var ok = Vector256.LessThan(jv, Vector256.Load(st + 8 * StLast)) & Vector256.LessThanOrEqual(power, V.Zero);
                    if (None(ok)) continue;
                    var G = Vector256.Exp(power);
                    var raw = opv * G;
                    var alpha = Vector256.Min(maxA, raw);
                    ok &= Vector256.GreaterThanOrEqual(alpha, minA);
                    if (None(ok)) continue;
                    var oneMinus = one - alpha;
                    var T = Vector256.ConditionalSelect(ok, Vector256.Load(st + 8 * StT) / oneMinus, Vector256.Load(st + 8 * StT));
                    T.Store(st + 8 * StT);
                    var w = ok & (alpha * T);
                    var geomOk = ok & Vector256.LessThanOrEqual(raw, maxA); // no gradient through an active 0.99 clamp
                    var lastAlpha = Vector256.Load(st + 8 * StLastAlpha);
                    var keep = one - lastAlpha;
                    var dyv = Vector256.Create(dy);
                    if (geo)
                    {
                        var g0 = Vector256.Load(st + 8 * StG); var g1 = Vector256.Load(st + 8 * (StG + 1)); var g2 = Vector256.Load(st + 8 * (StG + 2));
                        var g3 = Vector256.Load(st + 8 * (StG + 3)); var g4 = Vector256.Load(st + 8 * (StG + 4));
                        Add(accG + 48, w * g0); Add(accG + 56, w * g1); Add(accG + 64, w * g2); Add(accG + 72, w * g3);
                        float* acc = st + 8 * StAcc; float* lc = st + 8 * StLastCol;
                        var a0 = Vector256.ConditionalSelect(ok, lastAlpha * Vector256.Load(lc) + keep * Vector256.Load(acc), Vector256.Load(acc));
                        var a1 = Vector256.ConditionalSelect(ok, lastAlpha * Vector256.Load(lc + 8) + keep * Vector256.Load(acc + 8), Vector256.Load(acc + 8));
                        var a2 = Vector256.ConditionalSelect(ok, lastAlpha * Vector256.Load(lc + 16) + keep * Vector256.Load(acc + 16), Vector256.Load(acc + 16));
                        var a3 = Vector256.ConditionalSelect(ok, lastAlpha * Vector256.Load(lc + 24) + keep * Vector256.Load(acc + 24), Vector256.Load(acc + 24));
                        var a4 = Vector256.ConditionalSelect(ok, lastAlpha + keep * Vector256.Load(acc + 32), Vector256.Load(acc + 32));
                        a0.Store(acc); a1.Store(acc + 8); a2.Store(acc + 16); a3.Store(acc + 24); a4.Store(acc + 32);
                        Vector256.ConditionalSelect(ok, c0, Vector256.Load(lc)).Store(lc);
                        Vector256.ConditionalSelect(ok, c1, Vector256.Load(lc + 8)).Store(lc + 8);
                        Vector256.ConditionalSelect(ok, c2, Vector256.Load(lc + 16)).Store(lc + 16);
                        Vector256.ConditionalSelect(ok, c3, Vector256.Load(lc + 24)).Store(lc + 24);
                        var dAl = ((c0 - a0) * g0 + (c1 - a1) * g1 + (c2 - a2) * g2 + (c3 - a3) * g3 + (one - a4) * g4) * T
                                  - Vector256.Load(st + 8 * StFinalT) / oneMinus * Vector256.Load(st + 8 * StBgDot);
                        AddGeometrySimd(accG, p, geomOk & dAl, G, dx, dyv);
                    }
                    if (feat)
                    {
                        float* dvv = st + 8 * StFixed, accF = dvv + 8 * d, lastF = accF + 8 * d;
                        for (int c = 0; c < d; c++) Add(accFj + 8 * c, w * Vector256.Load(dvv + 8 * c));
                        if (featGeo)
                        {
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
                            AddGeometrySimd(accFj + 8 * d, p, geomOk & (dAl * T), G, dx, dyv);
                        }
                    }
                    Vector256.ConditionalSelect(ok, alpha, lastAlpha).Store(st + 8 * StLastAlpha);
                }
                // Lane sums (lanes in order) straight into this pair's slot.
                long slot = Binning.Slot(sorted[start + j], tx, ty);
                if (geo) for (int k = 0; k < GeoStride; k++) _pairGeo[slot * GeoStride + k] = LaneSum(accG + 8 * k);
                if (feat) for (int k = 0; k < kf; k++) _pairFeat[slot * kf + k] = LaneSum(accFj + 8 * k);
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
