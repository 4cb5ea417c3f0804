namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using W = System.Runtime.Intrinsics.Vector512<float>;

/// <summary>AVX-512 versions of the tile kernels: one vector is a whole 16-pixel tile row, so the per-row candidate
/// test runs once per row (not once per 8-pixel chunk) and each (row, Gaussian) pair is one exp. Same arithmetic as the
/// AVX2 kernels in TileRasterizer.Avx2.cs, lane for lane; lane sums use a fixed tree order, so gradients stay deterministic.</summary>
internal sealed partial class TileRasterizer
{
    private static readonly W LaneIndex16 = Vector512.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f, 15f);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ForwardTile512(int tile, float* outRgb, float* outFeat, float* outDepth, float* outAlpha)
    {
        int count = Binning.TileStart[tile + 1] - Binning.TileStart[tile];
        int d = D;
        // Scratch V: feature accumulators (d vectors), per-hit weights (16 floats per Gaussian). I: row lists, hits.
        int listStride = count + 16;
        var s = GetScratch(count, d, 0, 0, d * 16 + count * 16, TileSize * listStride + count);
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
        var interleave3 = stackalloc int[16 * 3];
        InterleaveIndex(3, interleave3);
        var interleaveD = stackalloc int[16 * d];
        InterleaveIndex(d, interleaveD);
        fixed (float* fv = s.V)
        fixed (int* iv = s.I)
        fixed (float* finalT = FinalT)
        fixed (int* nContrib = NContrib)
        {
            float* wBuf = fv + d * 16;
            int* rowJ = iv, hitJ = iv + TileSize * listStride;
            RowLists512(gl, count, ys, rows, lo, hi, rowJ, listStride, rowCount);
            for (int py = ys; py < ye; py++)
            {
                float fy = py + 0.5f;
                int* list = rowJ + (py - ys) * listStride;
                int rowN = rowCount[py - ys];
                var active = inTile;
                var one = W.One;
                var maxA = Vector512.Create(MaxAlpha); var minA = Vector512.Create(MinAlpha); var minT = Vector512.Create(MinTransmittance);
                var T = one; var r = W.Zero; var gr = W.Zero; var b = W.Zero; var z = W.Zero; var lastV = W.Zero;
                int nh = 0;
                // The row list holds exactly the Gaussians whose support meets this row (RowLists512): blend them front
                // to back until every lane saturates.
                candidates += rowN;
                var blended = Vector512<int>.Zero; // per lane: pairs blended (counted in a register, not a memory counter)
                int k = 0;
                while (k < rowN)
                {
                    int j = list[k++];
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
                    blended -= blend.AsInt32();
                    r = Vector512.FusedMultiplyAdd(w, Vector512.Create(p[6]), r); gr = Vector512.FusedMultiplyAdd(w, Vector512.Create(p[7]), gr);
                    b = Vector512.FusedMultiplyAdd(w, Vector512.Create(p[8]), b); z = Vector512.FusedMultiplyAdd(w, Vector512.Create(p[9]), z);
                    if (d > 0) { w.Store(wBuf + 16 * nh); hitJ[nh] = j * d; nh += bits != 0 ? 1 : 0; }
                    T = Vector512.ConditionalSelect(blend, testT, T);
                    lastV = Vector512.ConditionalSelect(blend, Vector512.Create((float)(j + 1)), lastV);
                    if (active.ExtractMostSignificantBits() == 0) break;
                }
                vecEvals += k;
                contributions += Vector512.Sum(blended);
                // Stored before the call: vector registers do not survive calls, and values live across one made the JIT keep
                // them on the stack through the whole loop above (a store and a reload per Gaussian).
                T.Store(tmp); r.Store(tmp + 16); gr.Store(tmp + 32); b.Store(tmp + 48); z.Store(tmp + 64); lastV.Store(tmp + 80);
                WeightedSumBroadcast512(wBuf, hitJ, nh, fl, d, fv);
                int pix0 = py * Width + xs;
                if (lanes == TileSize)
                {
                    // A whole tile row: vector stores, and the channel-major sums interleaved into the [H, W, C] images by
                    // gathers (a transpose; element by element it was a tenth of the forward).
                    var tv = Vector512.Load(tmp);
                    tv.Store(finalT + pix0);
                    var lastI = Vector512.ConvertToInt32(Vector512.Load(tmp + 80));
                    lastI.Store(nContrib + pix0);
                    evals += Vector512.Sum(lastI);
                    (Vector512.Load(tmp + 16) + tv * Vector512.Create(bg0)).Store(tmp + 16);
                    (Vector512.Load(tmp + 32) + tv * Vector512.Create(bg1)).Store(tmp + 32);
                    (Vector512.Load(tmp + 48) + tv * Vector512.Create(bg2)).Store(tmp + 48);
                    Interleave512(tmp + 16, 3, interleave3, outRgb + 3L * pix0);
                    Vector512.Load(tmp + 64).Store(outDepth + pix0);
                    (W.One - tv).Store(outAlpha + pix0);
                    if (d > 0) Interleave512(fv, d, interleaveD, outFeat + (long)pix0 * d);
                    continue;
                }
                for (int l = 0; l < lanes; l++)
                {
                    int pix = pix0 + l;
                    float tl = tmp[l];
                    int last = (int)tmp[80 + l];
                    evals += last;
                    finalT[pix] = tl;
                    nContrib[pix] = last;
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

    /// <summary>Gather indices that turn c channel-major vectors of 16 pixels (src[ch * 16 + l]) into pixel-major order
    /// (dst[l * c + ch]): output element f comes from src[(f % c) * 16 + f / c].</summary>
    private static unsafe void InterleaveIndex(int c, int* idx)
    {
        for (int f = 0; f < 16 * c; f++) idx[f] = f % c * 16 + f / c;
    }

    /// <summary>dst[l * c + ch] = src[ch * 16 + l] for 16 pixels and c channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Interleave512(float* src, int c, int* idx, float* dst)
    {
        // .NET exposes no 512-bit gather: two 256-bit ones per output vector.
        for (int h = 0; h < 2 * c; h++) Avx2.GatherVector256(src, Vector256.Load(idx + 8 * h), 4).Store(dst + 8 * h);
    }

    /// <summary>Per tile row, the gathered Gaussians (front to back) whose conservative support (<see cref="CullEllipse"/>)
    /// meets the row's pixel centres. <see cref="RowMask512"/> tests all 16 rows of a Gaussian at once; for each batch of
    /// 16 Gaussians the 16x16 bit matrix is then read row by row (a shift and a sign mask) and each row's hits are appended
    /// with one compress, so there is neither a per-(row, Gaussian) scalar test nor a data-dependent branch. Row r's list
    /// starts at rowJ + r * rowStride (rowStride &gt;= count + 16: a compress stores a whole vector).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RowLists512(float* gl, int count, int ys, int rows, float lo, float hi, int* rowJ, int rowStride, int* rowCount)
    {
        for (int r = 0; r < TileSize; r++) rowCount[r] = 0;
        var fy = Vector512.Create(ys + 0.5f) + LaneIndex16;
        var rowOk = Vector512.LessThan(LaneIndex16, Vector512.Create((float)rows));
        var masks = stackalloc uint[16];
        var iota = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        for (int j0 = 0; j0 < count; j0 += 16)
        {
            int m = Math.Min(16, count - j0);
            for (int i = 0; i < m; i++)
            {
                float* p = gl + (j0 + i) * Stride;
                masks[i] = p[15] != 0f ? RowMask512(p, fy, rowOk, lo, hi) : 0u;
            }
            for (int i = m; i < 16; i++) masks[i] = 0u;
            var bitsByGaussian = Vector512.Load(masks).AsInt32();
            if (bitsByGaussian == Vector512<int>.Zero) continue;
            var idx = Vector512.Create(j0) + iota;
            for (int r = 0; r < rows; r++)
            {
                var sel = Vector512.ShiftRightArithmetic(Vector512.ShiftLeft(bitsByGaussian, 31 - r), 31); // -1 where Gaussian hits row r
                int* dst = rowJ + r * rowStride + rowCount[r];
                Avx512F.Compress(Vector512<int>.Zero, sel, idx).Store(dst);
                rowCount[r] += System.Numerics.BitOperations.PopCount(sel.ExtractMostSignificantBits());
            }
        }
    }

    /// <summary>Bit r set when the Gaussian's support meets tile row r (pixel centres fy[r], x in [lo, hi]): the row is
    /// inside the ellipse's y extent and the row's x interval mx + slope dy +- sqrt((t - q dy^2) / a) overlaps the tile.
    /// Forward and backward both cull with this one function, so they agree on every (row, Gaussian) pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe uint RowMask512(float* p, W fy, W rowOk, float lo, float hi)
    {
        var dy = Vector512.Create(p[1]) - fy;
        var h2 = (Vector512.Create(p[13]) - Vector512.Create(p[11]) * dy * dy) * Vector512.Create(p[12]);
        var half = Vector512.Sqrt(Vector512.MaxNative(h2, W.Zero)) + Vector512.Create(CullSlackPx);
        var centre = Vector512.Create(p[0]) + Vector512.Create(p[10]) * dy;
        var m = rowOk & Vector512.GreaterThanOrEqual(h2, W.Zero)
            & Vector512.LessThanOrEqual(centre - half, Vector512.Create(hi)) & Vector512.GreaterThanOrEqual(centre + half, Vector512.Create(lo));
        return (uint)m.ExtractMostSignificantBits();
    }

    // Per-row state of BackwardTile512, one 16-lane vector each: transmittance, T_final * (background . dL/dRGB), contributor
    // count, pixel x, dL/d(r, g, b, depth, alpha), the running sums S and S_f, then dL/dfeature (d vectors).
    private const int B5T = 0, B5FinalBg = 1, B5Last = 2, B5Px = 3, B5G = 4, B5Sum = 9, B5SumF = 10, B5Fixed = 11;

    /// <summary>The backward blend with one 16-lane state per tile row. Colour images C = sum_k c_k a_k T_k + T_final bg give
    /// dC/da_i = c_i T_i - (sum_{k behind i} c_k a_k T_k + T_final bg) / (1 - a_i); walking back to front, the per-lane sum
    /// S = sum_{k behind} w_k (c_k . g) (g = dL/dC over r, g, b, depth and alpha, whose "colour" is 1) is all the state the
    /// chain rule needs: two vectors per row instead of graphdeco's accumulated colour, last colour and last alpha (eleven
    /// loads and stores per (row, Gaussian)). The same for the feature image with S_f when its gradients reach geometry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void BackwardTile512(int tile, float* dRgb, float* dDepth, float* dAlpha, float* dFeat, bool geo, bool featGeo)
    {
        int start = Binning.TileStart[tile], count = Binning.TileStart[tile + 1] - start;
        if (count == 0) return;
        int d = D, kf = FeatStride;
        bool feat = dFeat != null;
        int rowStride = (B5Fixed + d) * 16;
        // Scratch V: row states; the current Gaussian's lane accumulators, contiguous so one LaneSums512 call reduces them:
        // geometry (GeoStride vectors), features (d), feature geometry (6); per-hit weights; the lane sums.
        int accVectors = GeoStride + d + 6;
        var s = GetScratch(count, d, 0, 0, TileSize * rowStride + accVectors * 16 + TileSize * 16 + accVectors + 16);
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
        fixed (float* sv = s.V)
        {
            float* accG = sv + TileSize * rowStride, lane = accG + GeoStride * 16, accFG = lane + d * 16, wBuf = accFG + 6 * 16;
            float* sums = wBuf + TileSize * 16;
            var slots = Binning.SortedSlot;
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
                    float z0 = 0, z1 = 0, z2 = 0, z3 = 0, z4 = 0;
                    if (inside)
                    {
                        if (dRgb != null) { z0 = dRgb[3 * pix]; z1 = dRgb[3 * pix + 1]; z2 = dRgb[3 * pix + 2]; }
                        if (dDepth != null) z3 = dDepth[pix];
                        if (dAlpha != null) z4 = dAlpha[pix];
                    }
                    st[16 * B5T + l] = t; st[16 * B5FinalBg + l] = t * (bg0 * z0 + bg1 * z1 + bg2 * z2); st[16 * B5Last + l] = last;
                    st[16 * B5Px + l] = xs + l + 0.5f;
                    st[16 * B5G + l] = z0; st[16 * (B5G + 1) + l] = z1; st[16 * (B5G + 2) + l] = z2; st[16 * (B5G + 3) + l] = z3; st[16 * (B5G + 4) + l] = z4;
                    st[16 * B5Sum + l] = 0f; st[16 * B5SumF + l] = 0f;
                    if (feat)
                    {
                        float* src = dFeat + (long)pix * d;
                        for (int c = 0; c < d; c++) st[16 * (B5Fixed + c) + l] = inside ? src[c] : 0f;
                    }
                }
                rowMax[row] = maxLast;
            }
            int tileMax = 0;
            for (int r = 0; r < rows; r++) tileMax = Math.Max(tileMax, rowMax[r]);
            var rowMaxV = Vector512.Load(rowMax);
            var fyv = Vector512.Create(ys + 0.5f) + LaneIndex16;
            var rowOkv = Vector512.LessThan(LaneIndex16, Vector512.Create((float)rows));
            // Entries behind every pixel's last contributor (most of a long list in dense scenes) get no gradient: their
            // slots stay unused (cleared in Backward).
            for (int j = Math.Min(count, tileMax) - 1; j >= 0; j--)
            {
                // The Gaussian's gradient lanes live in registers (AVX-512 has 32; memory accumulators cost a load and a
                // store each per evaluation).
                W m0 = W.Zero, m1 = W.Zero, ca = W.Zero, cb = W.Zero, cc = W.Zero, op = W.Zero, k0 = W.Zero, k1 = W.Zero, k2 = W.Zero, k3 = W.Zero;
                W fm0 = W.Zero, fm1 = W.Zero, fca = W.Zero, fcb = W.Zero, fcc = W.Zero, fop = W.Zero;
                int nh = 0;
                ulong touched = 0;
                float* p = gl + j * Stride;
                if (p[15] != 0f)
                {
                    // Rows the support meets, minus those where entry j lies behind every pixel's last contributor.
                    uint rm = RowMask512(p, fyv, rowOkv, lo, hi) & (uint)Vector512.LessThan(Vector512.Create(j), rowMaxV).ExtractMostSignificantBits();
                    float jf = j;
                    float* fj = fl + j * d;
                    while (rm != 0)
                    {
                        int r = System.Numerics.BitOperations.TrailingZeroCount(rm);
                        rm &= rm - 1;
                        float dy = p[1] - (ys + r + 0.5f);
                        float* st = sv + r * rowStride;
                        var dx = Vector512.Create(p[0]) - Vector512.Load(st + 16 * B5Px);
                        var power = Vector512.FusedMultiplyAdd(dx, Vector512.FusedMultiplyAdd(Vector512.Create(-0.5f * p[2]), dx, Vector512.Create(-p[3] * dy)), Vector512.Create(-0.5f * p[4] * dy * dy));
                        var ok = Vector512.LessThan(Vector512.Create(jf), Vector512.Load(st + 16 * B5Last)) & Vector512.LessThanOrEqual(power, W.Zero);
                        var G = FastExp512(power);
                        var raw = Vector512.Create(p[5]) * G;
                        var alpha = Vector512.MinNative(Vector512.Create(MaxAlpha), raw);
                        ok &= Vector512.GreaterThanOrEqual(alpha, Vector512.Create(MinAlpha));
                        var oneMinus = W.One - alpha;
                        ulong okBits = ok.ExtractMostSignificantBits();
                        touched |= okBits;
                        // 1 / (1 - alpha) once, by reciprocal estimate + one Newton step (about 1 ulp): a 512-bit divide
                        // blocks its port for 16 cycles.
                        var est = Avx512F.Reciprocal14(oneMinus);
                        var inv = est * Vector512.FusedMultiplyAdd(-oneMinus, est, Vector512.Create(2f));
                        var T0 = Vector512.Load(st + 16 * B5T);
                        var T = Vector512.ConditionalSelect(ok, T0 * inv, T0);
                        T.Store(st + 16 * B5T);
                        var w = ok & (alpha * T);
                        // dL/d(raw alpha) is 0 where the 0.99 clamp is active.
                        var geomOk = ok & Vector512.LessThanOrEqual(raw, Vector512.Create(MaxAlpha));
                        var dyv = Vector512.Create(dy);
                        var dPx = Vector512.FusedMultiplyAdd(Vector512.Create(p[2]), dx, Vector512.Create(p[3]) * dyv);
                        var dPy = Vector512.FusedMultiplyAdd(Vector512.Create(p[4]), dyv, Vector512.Create(p[3]) * dx);
                        if (geo)
                        {
                            var g0 = Vector512.Load(st + 16 * B5G); var g1 = Vector512.Load(st + 16 * (B5G + 1)); var g2 = Vector512.Load(st + 16 * (B5G + 2));
                            var g3 = Vector512.Load(st + 16 * (B5G + 3)); var g4 = Vector512.Load(st + 16 * (B5G + 4));
                            k0 = Vector512.FusedMultiplyAdd(w, g0, k0); k1 = Vector512.FusedMultiplyAdd(w, g1, k1);
                            k2 = Vector512.FusedMultiplyAdd(w, g2, k2); k3 = Vector512.FusedMultiplyAdd(w, g3, k3);
                            var dot = Vector512.FusedMultiplyAdd(Vector512.Create(p[9]), g3, g4);
                            dot = Vector512.FusedMultiplyAdd(Vector512.Create(p[8]), g2, dot);
                            dot = Vector512.FusedMultiplyAdd(Vector512.Create(p[7]), g1, dot);
                            dot = Vector512.FusedMultiplyAdd(Vector512.Create(p[6]), g0, dot);
                            var S = Vector512.Load(st + 16 * B5Sum);
                            var dA = geomOk & Vector512.FusedMultiplyAdd(dot, T, -((S + Vector512.Load(st + 16 * B5FinalBg)) * inv));
                            Vector512.FusedMultiplyAdd(w, dot, S).Store(st + 16 * B5Sum);
                            var dPower = dA * Vector512.Create(p[5]) * G;
                            var mP = -dPower;
                            var hP = Vector512.Create(-0.5f) * dPower;
                            m0 = Vector512.FusedMultiplyAdd(mP, dPx, m0);
                            m1 = Vector512.FusedMultiplyAdd(mP, dPy, m1);
                            ca = Vector512.FusedMultiplyAdd(hP * dx, dx, ca);
                            cb = Vector512.FusedMultiplyAdd(mP * dx, dyv, cb);
                            cc = Vector512.FusedMultiplyAdd(hP * dyv, dyv, cc);
                            op = Vector512.FusedMultiplyAdd(dA, G, op);
                        }
                        if (feat)
                        {
                            w.Store(wBuf + 16 * nh); hitRow[nh] = r * rowStride + 16 * B5Fixed; nh += okBits != 0 ? 1 : 0;
                            if (featGeo)
                            {
                                float* dvv = st + 16 * B5Fixed;
                                var dot = W.Zero;
                                for (int c = 0; c < d; c++) dot = Vector512.FusedMultiplyAdd(Vector512.Create(fj[c]), Vector512.Load(dvv + 16 * c), dot);
                                var S = Vector512.Load(st + 16 * B5SumF);
                                var dA = geomOk & Vector512.FusedMultiplyAdd(dot, T, -(S * inv));
                                Vector512.FusedMultiplyAdd(w, dot, S).Store(st + 16 * B5SumF);
                                var dPower = dA * Vector512.Create(p[5]) * G;
                                var mP = -dPower;
                                var hP = Vector512.Create(-0.5f) * dPower;
                                fm0 = Vector512.FusedMultiplyAdd(mP, dPx, fm0);
                                fm1 = Vector512.FusedMultiplyAdd(mP, dPy, fm1);
                                fca = Vector512.FusedMultiplyAdd(hP * dx, dx, fca);
                                fcb = Vector512.FusedMultiplyAdd(mP * dx, dyv, fcb);
                                fcc = Vector512.FusedMultiplyAdd(hP * dyv, dyv, fcc);
                                fop = Vector512.FusedMultiplyAdd(dA, G, fop);
                            }
                        }
                    }
                }
                if (touched == 0) continue; // blended nowhere in this tile (the common case): the slot stays unused
                int slot = slots[start + j];
                _pairUsed[slot] = 1;
                if (geo)
                {
                    m0.Store(accG); m1.Store(accG + 16); ca.Store(accG + 32); cb.Store(accG + 48); cc.Store(accG + 64); op.Store(accG + 80);
                    k0.Store(accG + 96); k1.Store(accG + 112); k2.Store(accG + 128); k3.Store(accG + 144);
                }
                if (feat) WeightedSumVectors512(wBuf, hitRow, nh, sv, d, lane);
                if (featGeo)
                {
                    fm0.Store(accFG); fm1.Store(accFG + 16); fca.Store(accFG + 32); fcb.Store(accFG + 48); fcc.Store(accFG + 64); fop.Store(accFG + 80);
                }
                // One transposed reduction for all of this pair's accumulators.
                int first = geo ? 0 : GeoStride, end = feat ? GeoStride + kf : GeoStride;
                LaneSums512(accG + 16 * first, end - first, sums);
                if (geo) new ReadOnlySpan<float>(sums, GeoStride).CopyTo(_pairGeo.AsSpan(slot * GeoStride, GeoStride));
                if (feat) new ReadOnlySpan<float>(sums + GeoStride - first, kf).CopyTo(_pairFeat.AsSpan(slot * kf, kf));
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

    /// <summary>dst[k] = the sum of the 16 lanes of vector v + 16 k, for k &lt; n, in one fixed tree per vector (deterministic
    /// gradients): 256-bit halves, then 128-bit quarters, then lanes (0 + 2, 1 + 3), then their two sums. Sixteen vectors
    /// at a time, each level on two vectors per instruction (a transpose) instead of a serial shuffle chain per vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void LaneSums512(float* v, int n, float* dst)
    {
        var tmp = stackalloc float[16];
        for (int b = 0; b < n; b += 16)
        {
            int m = Math.Min(16, n - b);
            float* src = v + 16 * b;
            var s0 = Halves(Ld(src, 0, m), Ld(src, 1, m)); var s1 = Halves(Ld(src, 2, m), Ld(src, 3, m));
            var s2 = Halves(Ld(src, 4, m), Ld(src, 5, m)); var s3 = Halves(Ld(src, 6, m), Ld(src, 7, m));
            var s4 = Halves(Ld(src, 8, m), Ld(src, 9, m)); var s5 = Halves(Ld(src, 10, m), Ld(src, 11, m));
            var s6 = Halves(Ld(src, 12, m), Ld(src, 13, m)); var s7 = Halves(Ld(src, 14, m), Ld(src, 15, m));
            var u0 = Quarters(s0, s1); var u1 = Quarters(s2, s3); var u2 = Quarters(s4, s5); var u3 = Quarters(s6, s7);
            // Within each 128-bit chunk: lanes (0 + 2, 1 + 3) of two vectors, then (0 + 1) of the results.
            var q0 = Avx512F.Shuffle(u0, u1, 0x44) + Avx512F.Shuffle(u0, u1, 0xEE);
            var q1 = Avx512F.Shuffle(u2, u3, 0x44) + Avx512F.Shuffle(u2, u3, 0xEE);
            var r = Avx512F.Shuffle(q0, q1, 0x88) + Avx512F.Shuffle(q0, q1, 0xDD);
            // Lane 4c + i of r holds vector c + 4i.
            r.Store(tmp);
            for (int k = 0; k < m; k++) dst[b + k] = tmp[4 * (k & 3) + (k >> 2)];
        }

        static W Ld(float* src, int k, int m) => k < m ? Vector512.Load(src + 16 * k) : W.Zero;
        // [a.lo256 + a.hi256, b.lo256 + b.hi256] and [x.q0 + x.q1 for the four 256-bit halves].
        static W Halves(W a, W b) => Avx512F.Shuffle4x128(a, b, 0x44) + Avx512F.Shuffle4x128(a, b, 0xEE);
        static W Quarters(W a, W b) => Avx512F.Shuffle4x128(a, b, 0x88) + Avx512F.Shuffle4x128(a, b, 0xDD);
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
        // y * 2^n in one vscalefps (exact, like the exponent-bits product it replaces, for the n in [-44, 128] the clamps allow).
        return Avx512F.Scale(y, n);
    }
}
