namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

/// <summary>Forward blending, scalar kernel, and the gather every kernel reads its tile from: per pixel, front to back,
/// alpha = min(0.99, o exp(power)), skipped below 1/255, stopping before T would drop below 1e-4 (graphdeco).</summary>
internal sealed partial class TileRasterizer
{
    /// <summary>The tile's Gaussians (front to back) as contiguous rows: [count, Stride] at the returned pointer and
    /// [count, D] features at f. When the forward was told a backward follows (<see cref="KeepGathered"/>) it gathers into
    /// the per-view <see cref="TileG"/> / <see cref="TileF"/> and the backward reads them back, so the random-access gather
    /// (a cache miss per pair once the scene outgrows L2) runs once per view, not twice; otherwise thread-local scratch.</summary>
    private unsafe float* TileGaussians(int tile, Scratch s, bool withFeatures, out float* f)
    {
        int start = Binning.TileStart[tile];
        if (_gathered)
        {
            f = PtrOf(TileF) + (long)start * D;
            return PtrOf(TileG) + (long)start * Stride;
        }
        float* g;
        if (KeepGathered) { g = PtrOf(TileG) + (long)start * Stride; f = PtrOf(TileF) + (long)start * D; }
        else { g = PtrOf(s.G); f = PtrOf(s.F); }
        Gather(tile, g, f, withFeatures);
        return g;
    }

    private const int PrefetchAhead = 8;

    /// <summary>Copies the tile's Gaussians (front to back) to dst [count, Stride] and, if asked, features to fdst [count, D].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe int Gather(int tile, float* dst, float* fdst, bool withFeatures)
    {
        int start = Binning.TileStart[tile], count = Binning.TileStart[tile + 1] - start;
        var sorted = Binning.Sorted;
        int d = D;
        // Pointer copies: Array.Copy's per-call overhead dominated for 12-float rows.
        float* fsrc = _feat;
        if (withFeatures && d > 0 && fsrc == null) throw new InvalidOperationException("Tile features gathered outside Forward without kept tile lists.");
        fixed (float* src = Packed)
        {
            for (int j = 0; j < count; j++)
            {
                int g = sorted[start + j];
                // The rows are random accesses (a cache miss each once the scene outgrows L2): ask for a later one now.
                if (Sse.IsSupported && j + PrefetchAhead < count)
                {
                    int ga = sorted[start + j + PrefetchAhead];
                    Sse.Prefetch0(src + (long)ga * Stride);
                    if (withFeatures) Sse.Prefetch0(fsrc + (long)ga * d);
                }
                float* a = src + (long)g * Stride, b = dst + (long)j * Stride;
                Vector256.Store(Vector256.Load(a), b);
                Vector256.Store(Vector256.Load(a + 8), b + 8);
                if (withFeatures)
                {
                    float* fa = fsrc + (long)g * d, fb = fdst + (long)j * d;
                    int c = 0;
                    for (; c + 8 <= d; c += 8) Vector256.Store(Vector256.Load(fa + c), fb + c);
                    for (; c < d; c++) fb[c] = fa[c];
                }
            }
        }
        return count;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ForwardTile(int tile, float* outRgb, float* outFeat, float* outDepth, float* outAlpha)
    {
        int count = Binning.TileStart[tile + 1] - Binning.TileStart[tile];
        var s = GetScratch(count, D, 0, 0);
        float* gl = TileGaussians(tile, s, D > 0, out float* fl);
        int tx = tile % Binning.TilesX, ty = tile / Binning.TilesX;
        int xs = tx * TileSize, ys = ty * TileSize;
        int xe = Math.Min(xs + TileSize, Width), ye = Math.Min(ys + TileSize, Height);
        int d = D;
        float bg0 = Background[0], bg1 = Background[1], bg2 = Background[2];
        long evals = 0;
        {
            for (int py = ys; py < ye; py++)
            {
                for (int px = xs; px < xe; px++)
                {
                    int pix = py * Width + px;
                    float fx = px + 0.5f, fy = py + 0.5f;
                    float T = 1f, r = 0f, gr = 0f, b = 0f, z = 0f;
                    float* of = outFeat + (long)pix * d;
                    for (int c = 0; c < d; c++) of[c] = 0f;
                    int last = 0;
                    for (int j = 0; j < count; j++)
                    {
                        float* p = gl + j * Stride;
                        float dx = p[0] - fx, dy = p[1] - fy;
                        float power = -0.5f * (p[2] * dx * dx + p[4] * dy * dy) - p[3] * dx * dy;
                        if (power > 0f) continue;
                        float alpha = MathF.Min(MaxAlpha, p[5] * MathF.Exp(power));
                        if (alpha < MinAlpha) continue;
                        float testT = T * (1f - alpha);
                        if (testT < MinTransmittance) break;
                        float w = alpha * T;
                        r += w * p[6]; gr += w * p[7]; b += w * p[8]; z += w * p[9];
                        if (d > 0) Axpy(of, fl + j * d, w, d);
                        T = testT;
                        last = j + 1;
                    }
                    evals += last;
                    FinalT[pix] = T;
                    NContrib[pix] = last;
                    outRgb[3 * pix] = r + T * bg0; outRgb[3 * pix + 1] = gr + T * bg1; outRgb[3 * pix + 2] = b + T * bg2;
                    outDepth[pix] = z;
                    outAlpha[pix] = 1f - T;
                }
            }
        }
        _tileEvals[tile] = evals;
    }
}
