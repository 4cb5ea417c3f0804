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
    private static readonly V LaneIndex = Vector256.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool None(V mask) => mask.ExtractMostSignificantBits() == 0;

    /// <summary>Per tile: for each pixel row the list of gathered Gaussians (front to back) whose support
    /// (packed p[10..15], see <see cref="CullEllipse"/>) covers it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BuildRowLists(float* gl, int count, int ys, int rows, int* rowJ, int* rowCount)
    {
        for (int r = 0; r < rows; r++) rowCount[r] = 0;
        for (int j = 0; j < count; j++)
        {
            float* p = gl + j * Stride;
            if (p[15] == 0f) continue;
            RowRange(p, ys, rows, out int r0, out int r1);
            for (int r = r0; r <= r1; r++) rowJ[r * count + rowCount[r]++] = j;
        }
    }

    /// <summary>Tile-local pixel rows [r0, r1] whose centre (ys + r + 0.5) lies within yMax of my.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void RowRange(float* p, int ys, int rows, out int r0, out int r1)
    {
        float lo = p[1] - p[14] - 0.5f - ys, hi = p[1] + p[14] - 0.5f - ys;
        r0 = lo <= 0 ? 0 : lo >= rows ? rows : (int)MathF.Ceiling(lo);
        r1 = hi >= rows - 1 ? rows - 1 : hi < 0 ? -1 : (int)MathF.Floor(hi);
    }

    /// <summary>Row-list entries tested per batch before blending them (see ForwardTileSimd).</summary>
    private const int CandidateBatch = 32;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ForwardTileSimd(int tile, float* outRgb, float* outFeat, float* outDepth, float* outAlpha)
    {
        int count = Binning.TileStart[tile + 1] - Binning.TileStart[tile];
        int d = D;
        // Scratch V: feature accumulators (d vectors), per-hit weights (8 floats per Gaussian), cull params, row x intervals.
        var s = GetScratch(count, d, 0, 0, d * 8 + count * 8, count * (TileSize + 2));
        float* gl = TileGaussians(tile, s, d > 0, out float* fl);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        int rows = ye - ys;
        float bg0 = Background[0], bg1 = Background[1], bg2 = Background[2];
        long evals = 0, vecEvals = 0, candidates = 0, contributions = 0;
        var one = V.One;
        var maxA = Vector256.Create(MaxAlpha); var minA = Vector256.Create(MinAlpha); var minT = Vector256.Create(MinTransmittance);
        var tmp = stackalloc float[8 * 8];
        var rowCount = stackalloc int[TileSize];
        fixed (float* fv = s.V)
        fixed (int* iv = s.I)
        {
            float* wBuf = fv + d * 8;
            int* rowJ = iv, jr = iv + count * TileSize, hitJ = jr + count;
            BuildRowLists(gl, count, ys, rows, rowJ, rowCount);
            for (int py = ys; py < ye; py++)
            {
                float fy = py + 0.5f;
                int* list = rowJ + (py - ys) * count;
                int rowN = rowCount[py - ys];
                int cpr = (xe - xs + 7) / 8;
                for (int ci = 0; ci < cpr; ci++)
                {
                    int cx = xs + 8 * ci;
                    int lanes = Math.Min(8, xe - cx);
                    float lo = cx + 0.5f, hi = cx + lanes - 0.5f;
                    var pxv = Vector256.Create(cx + 0.5f) + LaneIndex;
                    var active = Vector256.LessThan(LaneIndex, Vector256.Create((float)lanes));
                    var T = one; var r = V.Zero; var gr = V.Zero; var b = V.Zero; var z = V.Zero; var lastV = V.Zero;
                    int nh = 0;
                    bool done = false;
                    // The row list in batches: candidates for this chunk (branch-free x-interval test; the test is
                    // unpredictable, a conditional increment is not), then their blending, until every lane saturates
                    // (in dense scenes most of a long list lies behind saturated pixels and is never tested).
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
                        int* cl = jr;
                        for (int k = 0; k < nr; k++)
                        {
                            vecEvals++;
                            int j = cl[k];
                            float* p = gl + j * Stride;
                            float dy = p[1] - fy;
                            var dx = Vector256.Create(p[0]) - pxv;
                            var power = dx * (Vector256.Create(-0.5f * p[2]) * dx + Vector256.Create(-p[3] * dy)) + Vector256.Create(-0.5f * p[4] * dy * dy);
                            var ok = active & Vector256.LessThanOrEqual(power, V.Zero);
                            var alpha = Vector256.MinNative(maxA, Vector256.Create(p[5]) * FastExp(power));
                            // No early 'continue' on an empty mask: that branch waits on the exp chain and mispredicts often;
                            // masked updates are cheaper than the flushes.
                            ok &= Vector256.GreaterThanOrEqual(alpha, minA);
                            var testT = T * (one - alpha);
                            var stop = ok & Vector256.LessThan(testT, minT);
                            active = Vector256.AndNot(active, stop);
                            var blend = Vector256.AndNot(ok, stop);
                            var w = blend & (alpha * T);
                            contributions += System.Numerics.BitOperations.PopCount(blend.ExtractMostSignificantBits());
                            r += w * Vector256.Create(p[6]); gr += w * Vector256.Create(p[7]); b += w * Vector256.Create(p[8]); z += w * Vector256.Create(p[9]);
                            if (d > 0) { w.Store(wBuf + 8 * nh); hitJ[nh] = j * d; nh += blend.ExtractMostSignificantBits() != 0 ? 1 : 0; }
                            T = Vector256.ConditionalSelect(blend, testT, T);
                            lastV = Vector256.ConditionalSelect(blend, Vector256.Create((float)(j + 1)), lastV);
                            if (None(active)) { done = true; break; }
                        }
                    }
                    // Features as a small product after the walk (accumulators in registers, not in memory per hit).
                    // Stored before the call (see ForwardTile512: values live across a call stay on the stack).
                    T.Store(tmp); r.Store(tmp + 8); gr.Store(tmp + 16); b.Store(tmp + 24); z.Store(tmp + 32); lastV.Store(tmp + 40);
                    WeightedSumBroadcast(wBuf, hitJ, nh, fl, d, fv);
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
                        float* of = outFeat + (long)pix * d, src = fv + l;
                        for (int c = 0; c < d; c++, src += 8) of[c] = *src;
                    }
                }
            }
        }
        _tileEvals[tile] = evals;
        _tileVecEvals[tile] = vecEvals;
        _tileCandidates[tile] = candidates;
        _tileContrib[tile] = contributions;
    }

    // Per-chunk (8 pixels) backward state, in vectors: see BackwardTileSimd.
    private const int StT = 0, StFinalT = 1, StLast = 2, StG = 3, StBgDot = 8, StAcc = 9, StLastCol = 14, StLastAlpha = 18, StPx = 19, StFixed = 20;

    /// <summary>Backward of one tile, Gaussian-major like graphdeco's block loop: for each Gaussian (back to front) sweep
    /// the 8-pixel chunks its support (see <see cref="CullEllipse"/>) meets; each chunk's running state (T, colour
    /// accumulators, pixel gradients) sits in a small array, the Gaussian's gradient accumulates in L1 and goes straight
    /// to its pair slot. Feature gradients are a small product over the hit chunks' weights afterwards.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void BackwardTileSimd(int tile, float* dRgb, float* dDepth, float* dAlpha, float* dFeat, bool geo, bool featGeo)
    {
        int start = Binning.TileStart[tile], count = Binning.TileStart[tile + 1] - start;
        if (count == 0) return;
        int d = D, kf = FeatStride;
        bool feat = dFeat != null;
        int chunkStride = (StFixed + 3 * d) * 8; // floats per chunk: fixed state, then dv, accF, lastF (d vectors each)
        const int maxChunks = TileSize * TileSize / 8;
        // Scratch V: chunk states, the current Gaussian's accumulators (GeoStride + 6 vectors), per-hit weights, lane sums.
        var s = GetScratch(count, d, 0, 0, maxChunks * chunkStride + (GeoStride + 6) * 8 + maxChunks * 8 + 8 * d);
        float* gl = TileGaussians(tile, s, feat, out float* fl);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        int rows = ye - ys, cpr = (xe - xs + 7) / 8;
        var one = V.One; var maxA = Vector256.Create(MaxAlpha); var minA = Vector256.Create(MinAlpha);
        float bg0 = Background[0], bg1 = Background[1], bg2 = Background[2];
        var chunkMax = stackalloc int[maxChunks];
        var rowMax = stackalloc int[TileSize]; // per row: largest contributor count of its pixels
        for (int r = 0; r < TileSize; r++) rowMax[r] = 0;
        var hitCh = stackalloc int[maxChunks];
        fixed (float* sv = s.V)
        {
            float* accG = sv + maxChunks * chunkStride, accFG = accG + GeoStride * 8, wBuf = accFG + 6 * 8;
            for (int py = ys; py < ye; py++)
            {
                for (int ci = 0; ci < cpr; ci++)
                {
                    int cx = xs + 8 * ci, ch = (py - ys) * cpr + ci;
                    int lanes = Math.Min(8, xe - cx);
                    float* st = sv + ch * chunkStride;
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
                    chunkMax[ch] = maxLast;
                    rowMax[py - ys] = Math.Max(rowMax[py - ys], maxLast);
                    if (maxLast == 0) continue;
                    for (int k = StAcc; k <= StLastAlpha; k++) V.Zero.Store(st + 8 * k);
                    if (featGeo) for (int c = d; c < 3 * d; c++) V.Zero.Store(st + 8 * (StFixed + c));
                }
            }
            int tileMax = 0;
            for (int ch = 0; ch < rows * cpr; ch++) tileMax = Math.Max(tileMax, chunkMax[ch]);
            // Entries behind every pixel's last contributor (most of a long list in dense scenes) get no gradient: their
            // slots stay unused (cleared in Backward).
            for (int j = Math.Min(count, tileMax) - 1; j >= 0; j--)
            {
                if (geo) for (int k = 0; k < GeoStride; k++) V.Zero.Store(accG + 8 * k);
                if (featGeo) for (int k = 0; k < 6; k++) V.Zero.Store(accFG + 8 * k);
                int nh = 0, touched = 0;
                float* p = gl + j * Stride;
                if (p[15] != 0f)
                {
                    float slope = p[10], q = p[11], invA = p[12], tq = p[13];
                    RowRange(p, ys, rows, out int r0, out int r1);
                    var c0 = Vector256.Create(p[6]); var c1 = Vector256.Create(p[7]); var c2 = Vector256.Create(p[8]); var c3 = Vector256.Create(p[9]);
                    var opv = Vector256.Create(p[5]);
                    var ha = Vector256.Create(-0.5f * p[2]); var mxv = Vector256.Create(p[0]);
                    var jv = Vector256.Create((float)j);
                    float* fj = fl + j * d;
                    for (int r = r0; r <= r1; r++)
                    {
                        if (rowMax[r] <= j) continue; // entry j lies behind every pixel's last contributor in this row
                        float fy = ys + r + 0.5f;
                        float dy = p[1] - fy;
                        float h2 = (tq - q * dy * dy) * invA;
                        if (!(h2 >= 0)) continue;
                        float half = MathF.Sqrt(h2) + CullSlackPx, centre = p[0] + slope * dy;
                        for (int ci = 0; ci < cpr; ci++)
                        {
                            int ch = r * cpr + ci;
                            if (chunkMax[ch] <= j) continue;
                            int cx = xs + 8 * ci;
                            if (centre - half > Math.Min(cx + 8, xe) - 0.5f || centre + half < cx + 0.5f) continue;
                            float* st = sv + ch * chunkStride;
                            var dx = mxv - Vector256.Load(st + 8 * StPx);
                            var power = dx * (ha * dx + Vector256.Create(-p[3] * dy)) + Vector256.Create(-0.5f * p[4] * dy * dy);
                            var ok = Vector256.LessThan(jv, Vector256.Load(st + 8 * StLast)) & Vector256.LessThanOrEqual(power, V.Zero);
                            var G = FastExp(power);
                            var raw = opv * G;
                            var alpha = Vector256.MinNative(maxA, raw);
                            ok &= Vector256.GreaterThanOrEqual(alpha, minA);
                            // As in the forward: every update below is masked, so no branch on the exp result.
                            var oneMinus = one - alpha;
                            touched |= (int)ok.ExtractMostSignificantBits();
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
                                w.Store(wBuf + 8 * nh); hitCh[nh] = ch * chunkStride + 8 * StFixed; nh += ok.ExtractMostSignificantBits() != 0 ? 1 : 0;
                                if (featGeo)
                                {
                                    float* dvv = st + 8 * StFixed, accF = dvv + 8 * d, lastF = accF + 8 * d;
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
                                    AddGeometrySimd(accFG, p, geomOk & (dAl * T), G, dx, dyv);
                                }
                            }
                            Vector256.ConditionalSelect(ok, alpha, lastAlpha).Store(st + 8 * StLastAlpha);
                        }
                    }
                }
                // Lane sums (lanes in order) straight into this pair's slot.
                if (touched == 0) continue; // blended nowhere in this tile (the common case): the slot stays unused
                long slot = Binning.SortedSlot[start + j];
                _pairUsed[slot] = 1;
                if (geo) for (int k = 0; k < GeoStride; k++) _pairGeo[slot * GeoStride + k] = LaneSum(accG + 8 * k);
                if (feat)
                {
                    float* lane = wBuf + maxChunks * 8;
                    WeightedSumVectors(wBuf, hitCh, nh, sv, d, lane);
                    for (int c = 0; c < d; c++) _pairFeat[slot * kf + c] = LaneSum(lane + 8 * c);
                    if (featGeo) for (int k = 0; k < 6; k++) _pairFeat[slot * kf + d + k] = LaneSum(accFG + 8 * k);
                }
            }
        }
    }

    /// <summary>dst[c] (8 lanes) = sum_h w[h] * f[off[h] + c] for c &lt; d: four channels at a time, so four independent
    /// register accumulators hide the add latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightedSumBroadcast(float* w, int* off, int nh, float* f, int d, float* dst)
    {
        int c = 0;
        for (; c + 4 <= d; c += 4)
        {
            V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero;
            for (int h = 0; h < nh; h++)
            {
                var wv = Vector256.Load(w + 8 * h);
                float* fp = f + off[h] + c;
                a0 += wv * Vector256.Create(fp[0]); a1 += wv * Vector256.Create(fp[1]);
                a2 += wv * Vector256.Create(fp[2]); a3 += wv * Vector256.Create(fp[3]);
            }
            a0.Store(dst + 8 * c); a1.Store(dst + 8 * c + 8); a2.Store(dst + 8 * c + 16); a3.Store(dst + 8 * c + 24);
        }
        for (; c < d; c++)
        {
            var a = V.Zero;
            for (int h = 0; h < nh; h++) a += Vector256.Load(w + 8 * h) * Vector256.Create(f[off[h] + c]);
            a.Store(dst + 8 * c);
        }
    }

    /// <summary>dst[c] (8 lanes) = sum_h w[h] * v[off[h] + 8c] for c &lt; d (per-lane products of two vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void WeightedSumVectors(float* w, int* off, int nh, float* v, int d, float* dst)
    {
        int c = 0;
        for (; c + 4 <= d; c += 4)
        {
            V a0 = V.Zero, a1 = V.Zero, a2 = V.Zero, a3 = V.Zero;
            for (int h = 0; h < nh; h++)
            {
                var wv = Vector256.Load(w + 8 * h);
                float* vp = v + off[h] + 8 * c;
                a0 += wv * Vector256.Load(vp); a1 += wv * Vector256.Load(vp + 8);
                a2 += wv * Vector256.Load(vp + 16); a3 += wv * Vector256.Load(vp + 24);
            }
            a0.Store(dst + 8 * c); a1.Store(dst + 8 * c + 8); a2.Store(dst + 8 * c + 16); a3.Store(dst + 8 * c + 24);
        }
        for (; c < d; c++)
        {
            var a = V.Zero;
            for (int h = 0; h < nh; h++) a += Vector256.Load(w + 8 * h) * Vector256.Load(v + off[h] + 8 * c);
            a.Store(dst + 8 * c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Add(float* dst, V v) => (Vector256.Load(dst) + v).Store(dst);

    /// <summary>Sum of 8 lanes in a fixed tree order (deterministic; a scalar loop was a tenth of the backward).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float LaneSum(float* v)
    {
        var x = Vector256.Load(v);
        var s4 = x.GetLower() + x.GetUpper();
        var s2 = s4 + Vector128.Shuffle(s4, Vector128.Create(2, 3, 0, 1));
        return s2.ToScalar() + s2.GetElement(1);
    }

    /// <summary>Lower clamp of the blend kernels' exp argument. Only power &gt;= ln(1/255) (about -5.5) can blend; far lanes
    /// of a row reach powers of -100 and below, where exp(-87) times an opacity is a denormal float, and every vector
    /// operation touching a denormal takes a microcode assist (over a hundred cycles on Intel). At -30, G, alpha and
    /// all products with them stay normal, and o * exp(-30) &lt; 1e-13 is still far below 1/255, so nothing changes.</summary>
    internal const float BlendExpFloor = -30f;

    private static readonly V ExpHi = Vector256.Create(88.3762626647949f), ExpLo = Vector256.Create(BlendExpFloor);
    private static readonly V Log2e = Vector256.Create(1.44269504088896341f);
    private static readonly V Ln2Hi = Vector256.Create(0.693359375f), Ln2Lo = Vector256.Create(-2.12194440e-4f);
    private static readonly V P0 = Vector256.Create(1.9875691500e-4f), P1 = Vector256.Create(1.3981999507e-3f), P2 = Vector256.Create(8.3334519073e-3f),
        P3 = Vector256.Create(4.1665795894e-2f), P4 = Vector256.Create(1.6666665459e-1f), P5 = Vector256.Create(5.0000001201e-1f);

    /// <summary>exp for 8 floats (Cephes expf: 2^n times a degree-7 polynomial, about 1 ulp on [-30, 88]; clamped below at <see cref="BlendExpFloor"/>). .NET's
    /// Vector256.Exp(float) widens to double and is several times slower; blending calls this once per pixel and Gaussian.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static V FastExp(V x)
    {
        x = Vector256.MinNative(Vector256.MaxNative(x, ExpLo), ExpHi);
        var n = Vector256.Round(x * Log2e);
        var r = x - n * Ln2Hi - n * Ln2Lo;
        var r2 = r * r;
        var y = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5;
        y = y * r2 + r + V.One;
        var pow2 = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
        return y * pow2;
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
