namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using W = System.Runtime.Intrinsics.Vector512<float>;

/// <summary>AVX-512 versions of the tile kernels: one vector is a whole 16-pixel tile row, so the per-row candidate
/// test runs once per row (not once per 8-pixel chunk) and each (row, Gaussian) pair is one exp. Same arithmetic as the
/// AVX2 kernels in RasterizeSimd.cs, lane for lane; lane sums use a fixed tree order, so gradients stay deterministic.</summary>
internal sealed partial class TileRasterizer
{
    private static readonly W LaneIndex16 = Vector512.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ForwardTile512(int tile, float* outRgb, float* outFeat, float* outDepth, float* outAlpha)
    {
        int count = Binning.TileStart[tile + 1] - Binning.TileStart[tile];
        int d = D;
        // Scratch V: feature accumulators (d vectors), per-hit weights (16 floats per Gaussian). I: row lists, candidates, hits.
        var s = GetScratch(count, d, 0, 0, d * 16 + count * 16, count * (TileSize + 2));
        float* gl = TileGaussians(tile, s, d > 0, out float* fl);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        int rows = ye - ys, lanes = xe - xs;
        float bg0 = Background[0], bg1 = Background[1], bg2 = Background[2];
        long evals = 0, vecEvals = 0, candidates = 0, contributions = 0;
        var tmp = stackalloc float[16 * 6];
        var rowCount = stackalloc int[TileSize];
        float lo = xs + 0.5f, hi = xe - 0.5f;
        var pxv = Vector512.Create(xs + 0.5f) + LaneIndex16;
        var inTile = Vector512.LessThan(LaneIndex16, Vector512.Create((float)lanes));
        fixed (float* fv = s.V)
        fixed (int* iv = s.I)
        {
            float* wBuf = fv + d * 16;
            int* rowJ = iv, jr = iv + count * TileSize, hitJ = jr + count;
            BuildRowLists(gl, count, ys, rows, rowJ, rowCount);
            for (int py = ys; py < ye; py++)
            {
                float fy = py + 0.5f;
                int* list = rowJ + (py - ys) * count;
                int rowN = rowCount[py - ys];
                var active = inTile;
                var one = W.One;
                var maxA = Vector512.Create(MaxAlpha); var minA = Vector512.Create(MinAlpha); var minT = Vector512.Create(MinTransmittance);
                var T = one; var r = W.Zero; var gr = W.Zero; var b = W.Zero; var z = W.Zero; var lastV = W.Zero;
                int nh = 0;
                bool done = false;
                // As ForwardTileSimd: candidates in batches (branch-free x-interval test), then blend them, until every
                // lane saturates.
                for (int k0 = 0; k0 < rowN && !done; k0 += CandidateBatch)
                {
                    int kEnd = Math.Min(rowN, k0 + CandidateBatch), nr = 0;
                    candidates += kEnd - k0;
                    for (int k = k0; k < kEnd; k++)
                    {
                        int jj = list[k];
                        float* pc = gl + jj * Stride;
                        float dyc = pc[1] - fy;
                        float h2 = (pc[13] - pc[11] * dyc * dyc) * pc[12];
                        float half = MathF.Sqrt(MathF.Max(h2, 0f)) + CullSlackPx, centre = pc[0] + pc[10] * dyc;
                        jr[nr] = jj;
                        nr += (h2 >= 0 ? 1 : 0) & (centre - half <= hi ? 1 : 0) & (centre + half >= lo ? 1 : 0);
                    }
                    for (int k = 0; k < nr; k++)
                    {
                        vecEvals++;
                        int j = jr[k];
                        float* p = gl + j * Stride;
                        float dy = p[1] - fy;
                        var dx = Vector512.Create(p[0]) - pxv;
                        var power = Vector512.FusedMultiplyAdd(dx, Vector512.FusedMultiplyAdd(Vector512.Create(-0.5f * p[2]), dx, Vector512.Create(-p[3] * dy)), Vector512.Create(-0.5f * p[4] * dy * dy));
                        var ok = active & Vector512.LessThanOrEqual(power, W.Zero);
                        var alpha = Vector512.MinNative(maxA, Vector512.Create(p[5]) * FastExp512(power));
                        ok &= Vector512.GreaterThanOrEqual(alpha, minA);
                        var testT = T * (one - alpha);
                        var stop = ok & Vector512.LessThan(testT, minT);
                        active = Vector512.AndNot(active, stop);
                        var blend = Vector512.AndNot(ok, stop);
                        var w = blend & (alpha * T);
                        ulong bits = blend.ExtractMostSignificantBits();
                        contributions += System.Numerics.BitOperations.PopCount(bits);
                        r = Vector512.FusedMultiplyAdd(w, Vector512.Create(p[6]), r); gr = Vector512.FusedMultiplyAdd(w, Vector512.Create(p[7]), gr);
                        b = Vector512.FusedMultiplyAdd(w, Vector512.Create(p[8]), b); z = Vector512.FusedMultiplyAdd(w, Vector512.Create(p[9]), z);
                        if (d > 0) { w.Store(wBuf + 16 * nh); hitJ[nh] = j * d; nh += bits != 0 ? 1 : 0; }
                        T = Vector512.ConditionalSelect(blend, testT, T);
                        lastV = Vector512.ConditionalSelect(blend, Vector512.Create((float)(j + 1)), lastV);
                        if (active.ExtractMostSignificantBits() == 0) { done = true; break; }
                    }
                }
                // Stored before the call: vector registers do not survive calls, and values live across one made the JIT keep
                // them on the stack through the whole loop above (a store and a reload per Gaussian).
                T.Store(tmp); r.Store(tmp + 16); gr.Store(tmp + 32); b.Store(tmp + 48); z.Store(tmp + 64); lastV.Store(tmp + 80);
                WeightedSumBroadcast512(wBuf, hitJ, nh, fl, d, fv);
                for (int l = 0; l < lanes; l++)
                {
                    int pix = py * Width + xs + l;
                    float tl = tmp[l];
                    int last = (int)tmp[80 + l];
                    evals += last;
                    FinalT[pix] = tl;
                    NContrib[pix] = last;
                    outRgb[3 * pix] = tmp[16 + l] + tl * bg0; outRgb[3 * pix + 1] = tmp[32 + l] + tl * bg1; outRgb[3 * pix + 2] = tmp[48 + l] + tl * bg2;
                    outDepth[pix] = tmp[64 + l];
                    outAlpha[pix] = 1f - tl;
                    float* of = outFeat + (long)pix * d, src = fv + l;
                    for (int c = 0; c < d; c++, src += 16) of[c] = *src;
                }
            }
        }
        _tileEvals[tile] = evals;
        _tileVecEvals[tile] = vecEvals;
        _tileCandidates[tile] = candidates;
        _tileContrib[tile] = contributions;
    }

    /// <summary>BackwardTileSimd with one 16-lane state per tile row (layout St*, 16 floats per vector).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void BackwardTile512(int tile, float* dRgb, float* dDepth, float* dAlpha, float* dFeat, bool geo, bool featGeo)
    {
        int start = Binning.TileStart[tile], count = Binning.TileStart[tile + 1] - start;
        if (count == 0) return;
        int d = D, kf = FeatStride;
        bool feat = dFeat != null;
        int rowStride = (StFixed + 3 * d) * 16; // floats per row: fixed state, then dv, accF, lastF (d vectors each)
        // Scratch V: row states, the current Gaussian's accumulators (GeoStride + 6 vectors), per-hit weights, lane sums.
        var s = GetScratch(count, d, 0, 0, TileSize * rowStride + (GeoStride + 6) * 16 + TileSize * 16 + 16 * d);
        float* gl = TileGaussians(tile, s, feat, out float* fl);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        int rows = ye - ys, lanes = xe - xs;
        float lo = xs + 0.5f, hi = xe - 0.5f;
        float bg0 = Background[0], bg1 = Background[1], bg2 = Background[2];
        var rowMax = stackalloc int[TileSize]; // per row: largest contributor count of its pixels
        for (int r = 0; r < TileSize; r++) rowMax[r] = 0;
        var hitRow = stackalloc int[TileSize];
        var sorted = Binning.Sorted;
        fixed (float* sv = s.V)
        {
            float* accG = sv + TileSize * rowStride, accFG = accG + GeoStride * 16, wBuf = accFG + 6 * 16;
            for (int py = ys; py < ye; py++)
            {
                int row = py - ys;
                float* st = sv + row * rowStride;
                int maxLast = 0;
                for (int l = 0; l < 16; l++)
                {
                    int pix = py * Width + xs + l;
                    bool inside = l < lanes;
                    int last = inside ? NContrib[pix] : 0;
                    maxLast = Math.Max(maxLast, last);
                    float t = inside ? FinalT[pix] : 1f;
                    st[16 * StT + l] = t; st[16 * StFinalT + l] = t; st[16 * StLast + l] = last;
                    float z0 = 0, z1 = 0, z2 = 0, z3 = 0, z4 = 0;
                    if (inside)
                    {
                        if (dRgb != null) { z0 = dRgb[3 * pix]; z1 = dRgb[3 * pix + 1]; z2 = dRgb[3 * pix + 2]; }
                        if (dDepth != null) z3 = dDepth[pix];
                        if (dAlpha != null) z4 = dAlpha[pix];
                    }
                    st[16 * StG + l] = z0; st[16 * (StG + 1) + l] = z1; st[16 * (StG + 2) + l] = z2; st[16 * (StG + 3) + l] = z3; st[16 * (StG + 4) + l] = z4;
                    st[16 * StBgDot + l] = bg0 * z0 + bg1 * z1 + bg2 * z2;
                    st[16 * StPx + l] = xs + l + 0.5f;
                    if (feat)
                    {
                        float* src = dFeat + (long)pix * d;
                        for (int c = 0; c < d; c++) st[16 * (StFixed + c) + l] = inside ? src[c] : 0f;
                    }
                }
                rowMax[row] = maxLast;
                if (maxLast == 0) continue;
                for (int k = StAcc; k <= StLastAlpha; k++) W.Zero.Store(st + 16 * k);
                if (featGeo) for (int c = d; c < 3 * d; c++) W.Zero.Store(st + 16 * (StFixed + c));
            }
            int tileMax = 0;
            for (int r = 0; r < rows; r++) tileMax = Math.Max(tileMax, rowMax[r]);
            // Entries behind every pixel's last contributor (most of a long list in dense scenes) get no gradient: their
            // slots stay unused (cleared in Backward).
            for (int j = Math.Min(count, tileMax) - 1; j >= 0; j--)
            {
                // The Gaussian's geometry gradient lanes live in registers (AVX-512 has 32; memory accumulators cost a load
                // and a store each per evaluation).
                W m0 = W.Zero, m1 = W.Zero, ca = W.Zero, cb = W.Zero, cc = W.Zero, op = W.Zero, k0 = W.Zero, k1 = W.Zero, k2 = W.Zero, k3 = W.Zero;
                if (featGeo) for (int k = 0; k < 6; k++) W.Zero.Store(accFG + 16 * k);
                int nh = 0;
                ulong touched = 0;
                float* p = gl + j * Stride;
                if (p[15] != 0f)
                {
                    float slope = p[10], q = p[11], invA = p[12], tq = p[13];
                    RowRange(p, ys, rows, out int r0, out int r1);
                    // Per-Gaussian broadcasts are written at their uses (embedded-broadcast memory operands): hoisted into
                    // locals they took registers the JIT then lacked for the accumulators, and it spilled those instead.
                    float ha = -0.5f * p[2], jf = j;
                    float* fj = fl + j * d;
                    for (int r = r0; r <= r1; r++)
                    {
                        if (rowMax[r] <= j) continue; // entry j lies behind every pixel's last contributor in this row
                        float fy = ys + r + 0.5f;
                        float dy = p[1] - fy;
                        float h2 = (tq - q * dy * dy) * invA;
                        if (!(h2 >= 0)) continue;
                        float half = MathF.Sqrt(h2) + CullSlackPx, centre = p[0] + slope * dy;
                        if (centre - half > hi || centre + half < lo) continue;
                        float* st = sv + r * rowStride;
                        var dx = Vector512.Create(p[0]) - Vector512.Load(st + 16 * StPx);
                        var power = Vector512.FusedMultiplyAdd(dx, Vector512.FusedMultiplyAdd(Vector512.Create(ha), dx, Vector512.Create(-p[3] * dy)), Vector512.Create(-0.5f * p[4] * dy * dy));
                        var ok = Vector512.LessThan(Vector512.Create(jf), Vector512.Load(st + 16 * StLast)) & Vector512.LessThanOrEqual(power, W.Zero);
                        var G = FastExp512(power);
                        var raw = Vector512.Create(p[5]) * G;
                        var alpha = Vector512.MinNative(Vector512.Create(MaxAlpha), raw);
                        ok &= Vector512.GreaterThanOrEqual(alpha, Vector512.Create(MinAlpha));
                        var oneMinus = W.One - alpha;
                        ulong okBits = ok.ExtractMostSignificantBits();
                        touched |= okBits;
                        // 1 / (1 - alpha) once, by reciprocal estimate + one Newton step (about 1 ulp): a 512-bit divide
                        // blocks its port for 16 cycles, and this used two per (row, Gaussian).
                        var est = Avx512F.Reciprocal14(oneMinus);
                        var inv = est * Vector512.FusedMultiplyAdd(-oneMinus, est, Vector512.Create(2f));
                        var T0 = Vector512.Load(st + 16 * StT);
                        var T = Vector512.ConditionalSelect(ok, T0 * inv, T0);
                        T.Store(st + 16 * StT);
                        var w = ok & (alpha * T);
                        var geomOk = ok & Vector512.LessThanOrEqual(raw, Vector512.Create(MaxAlpha)); // no gradient through an active 0.99 clamp
                        var lastAlpha = Vector512.Load(st + 16 * StLastAlpha);
                        var keep = W.One - lastAlpha;
                        var dyv = Vector512.Create(dy);
                        if (geo)
                        {
                            var g0 = Vector512.Load(st + 16 * StG); var g1 = Vector512.Load(st + 16 * (StG + 1)); var g2 = Vector512.Load(st + 16 * (StG + 2));
                            var g3 = Vector512.Load(st + 16 * (StG + 3)); var g4 = Vector512.Load(st + 16 * (StG + 4));
                            k0 = Vector512.FusedMultiplyAdd(w, g0, k0); k1 = Vector512.FusedMultiplyAdd(w, g1, k1);
                            k2 = Vector512.FusedMultiplyAdd(w, g2, k2); k3 = Vector512.FusedMultiplyAdd(w, g3, k3);
                            float* acc = st + 16 * StAcc; float* lc = st + 16 * StLastCol;
                            var a0 = Blend512(ok, lastAlpha, Vector512.Load(lc), keep, Vector512.Load(acc));
                            var a1 = Blend512(ok, lastAlpha, Vector512.Load(lc + 16), keep, Vector512.Load(acc + 16));
                            var a2 = Blend512(ok, lastAlpha, Vector512.Load(lc + 32), keep, Vector512.Load(acc + 32));
                            var a3 = Blend512(ok, lastAlpha, Vector512.Load(lc + 48), keep, Vector512.Load(acc + 48));
                            var a4 = Blend512(ok, lastAlpha, W.One, keep, Vector512.Load(acc + 64));
                            a0.Store(acc); a1.Store(acc + 16); a2.Store(acc + 32); a3.Store(acc + 48); a4.Store(acc + 64);
                            Vector512.ConditionalSelect(ok, Vector512.Create(p[6]), Vector512.Load(lc)).Store(lc);
                            Vector512.ConditionalSelect(ok, Vector512.Create(p[7]), Vector512.Load(lc + 16)).Store(lc + 16);
                            Vector512.ConditionalSelect(ok, Vector512.Create(p[8]), Vector512.Load(lc + 32)).Store(lc + 32);
                            Vector512.ConditionalSelect(ok, Vector512.Create(p[9]), Vector512.Load(lc + 48)).Store(lc + 48);
                            var dot = Vector512.FusedMultiplyAdd(Vector512.Create(p[9]) - a3, g3, (W.One - a4) * g4);
                            dot = Vector512.FusedMultiplyAdd(Vector512.Create(p[8]) - a2, g2, dot);
                            dot = Vector512.FusedMultiplyAdd(Vector512.Create(p[7]) - a1, g1, dot);
                            dot = Vector512.FusedMultiplyAdd(Vector512.Create(p[6]) - a0, g0, dot);
                            var dAl = Vector512.FusedMultiplyAdd(dot, T, -(Vector512.Load(st + 16 * StFinalT) * inv * Vector512.Load(st + 16 * StBgDot)));
                            // AddGeometry512 on the register accumulators.
                            var dA = geomOk & dAl;
                            var dPower = dA * Vector512.Create(p[5]) * G;
                            var mP = -dPower;
                            var hP = Vector512.Create(-0.5f) * dPower;
                            m0 = Vector512.FusedMultiplyAdd(mP, Vector512.FusedMultiplyAdd(Vector512.Create(p[2]), dx, Vector512.Create(p[3]) * dyv), m0);
                            m1 = Vector512.FusedMultiplyAdd(mP, Vector512.FusedMultiplyAdd(Vector512.Create(p[4]), dyv, Vector512.Create(p[3]) * dx), m1);
                            ca = Vector512.FusedMultiplyAdd(hP * dx, dx, ca);
                            cb = Vector512.FusedMultiplyAdd(mP * dx, dyv, cb);
                            cc = Vector512.FusedMultiplyAdd(hP * dyv, dyv, cc);
                            op = Vector512.FusedMultiplyAdd(dA, G, op);
                        }
                        if (feat)
                        {
                            w.Store(wBuf + 16 * nh); hitRow[nh] = r * rowStride + 16 * StFixed; nh += okBits != 0 ? 1 : 0;
                            if (featGeo)
                            {
                                float* dvv = st + 16 * StFixed, accF = dvv + 16 * d, lastF = accF + 16 * d;
                                var dAl = W.Zero;
                                for (int c = 0; c < d; c++)
                                {
                                    var fc = Vector512.Create(fj[c]);
                                    var acc = Vector512.Load(accF + 16 * c);
                                    acc = Blend512(ok, lastAlpha, Vector512.Load(lastF + 16 * c), keep, acc);
                                    acc.Store(accF + 16 * c);
                                    Vector512.ConditionalSelect(ok, fc, Vector512.Load(lastF + 16 * c)).Store(lastF + 16 * c);
                                    dAl = Vector512.FusedMultiplyAdd(fc - acc, Vector512.Load(dvv + 16 * c), dAl);
                                }
                                AddGeometry512(accFG, p, geomOk & (dAl * T), G, dx, dyv);
                            }
                        }
                        Vector512.ConditionalSelect(ok, alpha, lastAlpha).Store(st + 16 * StLastAlpha);
                    }
                }
                if (touched == 0) continue; // blended nowhere in this tile (the common case): the slot stays unused
                long slot = Binning.Slot(sorted[start + j], tx, ty);
                _pairUsed[slot] = 1;
                if (geo)
                {
                    m0.Store(accG); m1.Store(accG + 16); ca.Store(accG + 32); cb.Store(accG + 48); cc.Store(accG + 64); op.Store(accG + 80);
                    k0.Store(accG + 96); k1.Store(accG + 112); k2.Store(accG + 128); k3.Store(accG + 144);
                    for (int k = 0; k < GeoStride; k++) _pairGeo[slot * GeoStride + k] = LaneSum512(accG + 16 * k);
                }
                if (feat)
                {
                    float* lane = wBuf + TileSize * 16;
                    WeightedSumVectors512(wBuf, hitRow, nh, sv, d, lane);
                    for (int c = 0; c < d; c++) _pairFeat[slot * kf + c] = LaneSum512(lane + 16 * c);
                    if (featGeo) for (int k = 0; k < 6; k++) _pairFeat[slot * kf + d + k] = LaneSum512(accFG + 16 * k);
                }
            }
        }
    }

    /// <summary>dst[c] (16 lanes) = sum_h w[h] * f[off[h] + c] for c &lt; d, four channels at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightedSumBroadcast512(float* w, int* off, int nh, float* f, int d, float* dst)
    {
        int c = 0;
        for (; c + 4 <= d; c += 4)
        {
            W a0 = W.Zero, a1 = W.Zero, a2 = W.Zero, a3 = W.Zero;
            for (int h = 0; h < nh; h++)
            {
                var wv = Vector512.Load(w + 16 * h);
                float* fp = f + off[h] + c;
                a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(fp[0]), a0); a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(fp[1]), a1);
                a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(fp[2]), a2); a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Create(fp[3]), a3);
            }
            a0.Store(dst + 16 * c); a1.Store(dst + 16 * c + 16); a2.Store(dst + 16 * c + 32); a3.Store(dst + 16 * c + 48);
        }
        for (; c < d; c++)
        {
            var a = W.Zero;
            for (int h = 0; h < nh; h++) a += Vector512.Load(w + 16 * h) * Vector512.Create(f[off[h] + c]);
            a.Store(dst + 16 * c);
        }
    }

    /// <summary>dst[c] (16 lanes) = sum_h w[h] * v[off[h] + 16c] for c &lt; d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightedSumVectors512(float* w, int* off, int nh, float* v, int d, float* dst)
    {
        int c = 0;
        for (; c + 4 <= d; c += 4)
        {
            W a0 = W.Zero, a1 = W.Zero, a2 = W.Zero, a3 = W.Zero;
            for (int h = 0; h < nh; h++)
            {
                var wv = Vector512.Load(w + 16 * h);
                float* vp = v + off[h] + 16 * c;
                a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(vp), a0); a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(vp + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(vp + 32), a2); a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(vp + 48), a3);
            }
            a0.Store(dst + 16 * c); a1.Store(dst + 16 * c + 16); a2.Store(dst + 16 * c + 32); a3.Store(dst + 16 * c + 48);
        }
        for (; c < d; c++)
        {
            var a = W.Zero;
            for (int h = 0; h < nh; h++) a += Vector512.Load(w + 16 * h) * Vector512.Load(v + off[h] + 16 * c);
            a.Store(dst + 16 * c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Add512(float* dst, W v) => (Vector512.Load(dst) + v).Store(dst);

    /// <summary>dst += a * b (fused).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Fma512(float* dst, W a, W b) => Vector512.FusedMultiplyAdd(a, b, Vector512.Load(dst)).Store(dst);

    /// <summary>The "everything behind" accumulator update: where ok, lastAlpha * last + keep * acc; else acc.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static W Blend512(W ok, W lastAlpha, W last, W keep, W acc) =>
        Vector512.ConditionalSelect(ok, Vector512.FusedMultiplyAdd(lastAlpha, last, keep * acc), acc);

    /// <summary>Sum of 16 lanes in a fixed tree order (deterministic).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float LaneSum512(float* v)
    {
        var x = Vector512.Load(v);
        var s8 = x.GetLower() + x.GetUpper();
        var s4 = s8.GetLower() + s8.GetUpper();
        var s2 = s4 + Vector128.Shuffle(s4, Vector128.Create(2, 3, 0, 1));
        return s2.ToScalar() + s2.GetElement(1);
    }

    /// <summary><see cref="FastExp"/> for 16 floats (same Cephes polynomial, with fused multiply-adds; constants inline
    /// rather than static readonly fields, which cost a 64-bit address load per use here).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static W FastExp512(W x)
    {
        x = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(BlendExpFloor)), Vector512.Create(88.3762626647949f));
        var n = Vector512.Round(x * Vector512.Create(1.44269504088896341f));
        // Fused multiply-adds (one rounding each): fewer instructions on the two 512-bit ports, about the same accuracy.
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var r2 = r * r;
        var y = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500e-4f), r, Vector512.Create(1.3981999507e-3f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(8.3334519073e-3f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(4.1665795894e-2f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(1.6666665459e-1f));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(5.0000001201e-1f));
        y = Vector512.FusedMultiplyAdd(y, r2, r) + W.One;
        var pow2 = Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
        return y * pow2;
    }

    /// <summary>16-lane <see cref="AddGeometrySimd"/>: o holds 6 lane vectors (mean2d x, y, conic a, b, c, opacity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddGeometry512(float* o, float* p, W dAlpha, W G, W dx, W dy)
    {
        var dPower = dAlpha * Vector512.Create(p[5]) * G;
        var ca = Vector512.Create(p[2]); var cb = Vector512.Create(p[3]); var cc = Vector512.Create(p[4]);
        var m = -dPower;
        Fma512(o, m, Vector512.FusedMultiplyAdd(ca, dx, cb * dy));
        Fma512(o + 16, m, Vector512.FusedMultiplyAdd(cc, dy, cb * dx));
        var h = Vector512.Create(-0.5f) * dPower;
        Fma512(o + 32, h * dx, dx);
        Fma512(o + 48, m * dx, dy);
        Fma512(o + 64, h * dy, dy);
        Fma512(o + 80, dAlpha, G);
    }
}
