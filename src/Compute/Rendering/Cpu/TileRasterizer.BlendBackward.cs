namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;

/// <summary>Backward of <see cref="TileRasterizer.Forward"/>: per tile, per pixel, walk the blended Gaussians back to
/// front recovering T by division (graphdeco), accumulate per-(tile, Gaussian) gradients in thread-local arrays, write
/// them to that pair's slot, then reduce each Gaussian's slots in slot order. No atomics, so the result is bit-identical
/// from run to run whatever the scheduling.</summary>
internal sealed partial class TileRasterizer
{
    /// <summary>Per-Gaussian image-gradient layout: d mean2d (2), d conic (3), d opacity, d colour (3), d depth.</summary>
    public const int GeoStride = 10;

    private float[] _pairGeo = [];
    private float[] _pairFeat = [];
    /// <summary>[pairs] 1 if the pair's gradient slots were written, 0 if the pair blended nowhere (slots left stale).</summary>
    private byte[] _pairUsed = [];
    public int FeatStride;

    /// <summary>Floats per Gaussian of the feature-image gradient: d feature (D), then, if geometry is on, d mean2d (2),
    /// d conic (3), d opacity.</summary>
    public int FeatGradStride(bool featureGeometry) => D + (featureGeometry ? 6 : 0);

    /// <summary>Runs backward. Null gradient pointers mean "no loss on that image"; the corresponding work is skipped.</summary>
    /// <param name="dRgb">[H, W, 3] or null</param><param name="dDepth">[H, W] or null</param>
    /// <param name="dAlpha">[H, W] or null</param><param name="dFeat">[H, W, D] or null</param>
    /// <param name="gradGeo">[N, GeoStride] receives the gradients from the RGB, depth and alpha images (every element
    /// written); needed when any of those is given.</param>
    /// <param name="gradFeat">[N, <see cref="FeatGradStride"/>] receives the gradients from the feature image; needed
    /// when dFeat is given.</param>
    public unsafe void Backward(float* dRgb, float* dDepth, float* dAlpha, float* dFeat, bool featureGeometry, float* gradGeo, float* gradFeat)
    {
        bool geo = dRgb != null || dDepth != null || dAlpha != null;
        bool feat = dFeat != null && D > 0;
        bool featGeo = feat && featureGeometry;
        FeatStride = feat ? FeatGradStride(featGeo) : 0;
        int pairs = Binning.Pairs;
        if (geo) TileBinning.Grow(ref _pairGeo, pairs * GeoStride);
        if (feat) TileBinning.Grow(ref _pairFeat, pairs * FeatStride);
        TileBinning.Grow(ref _pairUsed, pairs);
        // Every slot starts unused; the kernels mark the pairs that blended (cheaper than marking the rest unused: most
        // list entries lie behind every pixel's last contributor, and finding their slot is a few dependent loads).
        Array.Clear(_pairUsed, 0, pairs);
        int tiles = Binning.TilesX * Binning.TilesY;
        nint a = (nint)dRgb, b = (nint)dDepth, c = (nint)dAlpha, e = (nint)dFeat;
        double c0 = RasterStats.CpuNow();
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        switch (Kernel)
        {
            case BlendKernel.Avx512: Parallel.For(0, tiles, t => BackwardTile512(t, (float*)a, (float*)b, (float*)c, feat ? (float*)e : null, geo, featGeo)); break;
            case BlendKernel.Avx2: Parallel.For(0, tiles, t => BackwardTileSimd(t, (float*)a, (float*)b, (float*)c, feat ? (float*)e : null, geo, featGeo)); break;
            default: Parallel.For(0, tiles, t => BackwardTile(t, (float*)a, (float*)b, (float*)c, feat ? (float*)e : null, geo, featGeo)); break;
        }

        long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
        Stats.BlendBackwardCpuMs = RasterStats.CpuNow() - c0;
        // Fixed-order reduction of each Gaussian's pair slots.
        var slotStart = Binning.SlotStart;
        nint og = (nint)gradGeo, of = (nint)gradFeat;
        Parallel.For(0, (N + 1023) / 1024, chunk =>
        {
            int g1 = Math.Min(N, (chunk + 1) * 1024);
            for (int g = chunk * 1024; g < g1; g++)
            {
                if (geo) Reduce(_pairGeo, _pairUsed, (float*)og, g, slotStart[g], slotStart[g + 1], GeoStride);
                if (feat) Reduce(_pairFeat, _pairUsed, (float*)of, g, slotStart[g], slotStart[g + 1], FeatStride);
            }
        });
        Stats.ReduceCpuMs = RasterStats.CpuNow() - c0 - Stats.BlendBackwardCpuMs;
        Stats.BlendBackwardMs = System.Diagnostics.Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds;
        Stats.ReduceMs = System.Diagnostics.Stopwatch.GetElapsedTime(t1).TotalMilliseconds;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Reduce(float[] pairs, byte[] used, float* pd, int g, int s0, int s1, int k)
    {
        fixed (float* pp = pairs)
        {
            float* o = pd + (long)g * k;
            for (int i = 0; i < k; i++) o[i] = 0f;
            for (int s = s0; s < s1; s++) if (used[s] != 0) Axpy(o, pp + (long)s * k, 1f, k);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void BackwardTile(int tile, float* dRgb, float* dDepth, float* dAlpha, float* dFeat, bool geo, bool featGeo)
    {
        int start = Binning.TileStart[tile], count = Binning.TileStart[tile + 1] - start;
        if (count == 0) return;
        int d = D, kf = FeatStride;
        bool feat = dFeat != null;
        var s = GetScratch(count, d, GeoStride, kf);
        float* gl = TileGaussians(tile, s, feat, out float* fl);
        if (geo) Array.Clear(s.GradG, 0, count * GeoStride);
        if (feat) Array.Clear(s.GradF, 0, count * kf);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        float bg0 = Background[0], bg1 = Background[1], bg2 = Background[2];
        fixed (float* gg = s.GradG, gf = s.GradF, pixBuf = s.Pix)
        {
            float* accF = pixBuf;          // [D] accumulated feature of everything behind
            float* lastF = pixBuf + d;     // [D] feature of the previous (behind) Gaussian
            for (int py = ys; py < ye; py++)
            {
                for (int px = xs; px < xe; px++)
                {
                    int pix = py * Width + px;
                    int last = NContrib[pix];
                    if (last == 0) continue;
                    float fx = px + 0.5f, fy = py + 0.5f;
                    float finalT = FinalT[pix], T = finalT;
                    // Geometry channels: r, g, b, depth, 1 (the alpha image).
                    float g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, bgDot = 0;
                    if (geo)
                    {
                        if (dRgb != null) { g0 = dRgb[3 * pix]; g1 = dRgb[3 * pix + 1]; g2 = dRgb[3 * pix + 2]; bgDot = bg0 * g0 + bg1 * g1 + bg2 * g2; }
                        if (dDepth != null) g3 = dDepth[pix];
                        if (dAlpha != null) g4 = dAlpha[pix];
                    }
                    float* dv = feat ? dFeat + (long)pix * d : null;
                    float a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0;
                    float l0 = 0, l1 = 0, l2 = 0, l3 = 0;
                    float lastAlpha = 0;
                    if (featGeo) for (int c = 0; c < d; c++) { accF[c] = 0; lastF[c] = 0; }
                    for (int j = last - 1; j >= 0; j--)
                    {
                        float* p = gl + j * Stride;
                        float dx = p[0] - fx, dy = p[1] - fy;
                        float power = -0.5f * (p[2] * dx * dx + p[4] * dy * dy) - p[3] * dx * dy;
                        if (power > 0f) continue;
                        float G = MathF.Exp(power);
                        float raw = p[5] * G;
                        float alpha = MathF.Min(MaxAlpha, raw);
                        if (alpha < MinAlpha) continue;
                        float oneMinus = 1f - alpha;
                        T /= oneMinus;
                        float w = alpha * T;
                        // d alpha / d raw is 0 where the 0.99 clamp is active.
                        bool clamped = raw > MaxAlpha;
                        if (geo)
                        {
                            float* o = gg + j * GeoStride;
                            o[6] += w * g0; o[7] += w * g1; o[8] += w * g2; o[9] += w * g3;
                            float keep = 1f - lastAlpha;
                            a0 = lastAlpha * l0 + keep * a0; a1 = lastAlpha * l1 + keep * a1; a2 = lastAlpha * l2 + keep * a2;
                            a3 = lastAlpha * l3 + keep * a3; a4 = lastAlpha + keep * a4;
                            l0 = p[6]; l1 = p[7]; l2 = p[8]; l3 = p[9];
                            float dAl = ((p[6] - a0) * g0 + (p[7] - a1) * g1 + (p[8] - a2) * g2 + (p[9] - a3) * g3 + (1f - a4) * g4) * T;
                            dAl += -finalT / oneMinus * bgDot;
                            if (!clamped) AddGeometry(o, p, dAl, G, dx, dy);
                        }
                        if (feat)
                        {
                            float* o = gf + j * kf;
                            Axpy(o, dv, w, d);
                            if (featGeo)
                            {
                                float* fj = fl + j * d;
                                float keep = 1f - lastAlpha, dAl = 0;
                                for (int c = 0; c < d; c++)
                                {
                                    accF[c] = lastAlpha * lastF[c] + keep * accF[c];
                                    lastF[c] = fj[c];
                                    dAl += (fj[c] - accF[c]) * dv[c];
                                }
                                if (!clamped) AddGeometry(o + d, p, dAl * T, G, dx, dy);
                            }
                        }
                        lastAlpha = alpha;
                    }
                }
            }
            // Write each pair's tile-local sums to its slot.
            for (int j = 0; j < count; j++)
            {
                int slot = Binning.SortedSlot[start + j];
                _pairUsed[slot] = 1;
                if (geo) new ReadOnlySpan<float>(gg + j * GeoStride, GeoStride).CopyTo(_pairGeo.AsSpan(slot * GeoStride, GeoStride));
                if (feat) new ReadOnlySpan<float>(gf + j * kf, kf).CopyTo(_pairFeat.AsSpan(slot * kf, kf));
            }
        }
    }

    /// <summary>Chain rule from d loss / d alpha to mean2d, conic and opacity, added to o[0..6).
    /// power = -0.5 (a dx^2 + c dy^2) - b dx dy, dx = mx - px; alpha = o G (unclamped here).</summary>
    private static unsafe void AddGeometry(float* o, float* p, float dAlpha, float G, float dx, float dy)
    {
        float dPower = dAlpha * p[5] * G;
        o[0] += -dPower * (p[2] * dx + p[3] * dy);
        o[1] += -dPower * (p[4] * dy + p[3] * dx);
        o[2] += -0.5f * dPower * dx * dx;
        o[3] += -dPower * dx * dy;
        o[4] += -0.5f * dPower * dy * dy;
        o[5] += dAlpha * G;
    }
}
