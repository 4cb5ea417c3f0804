namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;

/// <summary>Assigns projected Gaussians to 16x16 tiles and depth-sorts each tile's list (graphdeco's duplicateWithKeys +
/// sort + identifyTileRanges, done as one radix sort of the Gaussians by depth followed by a counting sort by tile).
/// Pairs (Gaussian, tile) also get a "slot": Gaussian g owns slots [SlotStart[g], SlotStart[g+1]) in row-major order
/// over its tile rectangle, so backward can write per-pair gradients without races and reduce them in a fixed order.</summary>
internal sealed class TileBinning
{
    public const int TileSize = 16;

    public int TilesX, TilesY, Count;
    /// <summary>[N, 4] tile rectangle x0, y0, x1, y1 (exclusive) per Gaussian; empty when culled.</summary>
    public int[] Rect = [];
    /// <summary>[N + 1] first pair slot of each Gaussian.</summary>
    public int[] SlotStart = [];
    /// <summary>[tiles + 1] start of each tile's range in <see cref="Sorted"/>.</summary>
    public int[] TileStart = [];
    /// <summary>[pairs] Gaussian index of each pair, per tile front to back.</summary>
    public int[] Sorted = [];
    /// <summary>[pairs] slot of each entry of <see cref="Sorted"/>: for Gaussian g in tile (tx, ty),
    /// SlotStart[g] + (ty - y0) * (x1 - x0) + (tx - x0) over its rectangle (written by the scatter).</summary>
    public int[] SortedSlot = [];
    /// <summary>Chunks of at least this many Gaussians are binned per task.</summary>
    private const int MinChunk = 4096;
    private int[] _chunkPairs = [], _chunkVisible = [], _counts = [], _idxA = [], _idxB = [];
    private uint[] _keyA = [], _keyB = [];

    public int Pairs => SlotStart.Length > Count ? SlotStart[Count] : 0;

    /// <summary>Bins N Gaussians. radii is updated in place: Gaussians whose 3-sigma rectangle touches no tile get radius 0.</summary>
    /// <param name="mean2d">[N, 2] pixel coordinates (centre of pixel i at i + 0.5).</param>
    /// <param name="depth">[N] camera z (positive for every Gaussian with radius &gt; 0).</param>
    /// <param name="support">[N, 2] or null: half-widths (x, y) in pixels of the box around the mean outside which the
    /// Gaussian cannot reach alpha 1/255 (xMax and yMax of <see cref="TileRasterizer.CullEllipse"/>; negative =
    /// nowhere). Tiles of the 3-sigma rectangle that no pixel centre
    /// of that box falls in are left out of the lists: they would blend nothing, so images and gradients are unchanged,
    /// but low-opacity Gaussians cost fewer pairs. Radii keep the 3-sigma meaning (visibility for density control), so a
    /// Gaussian can have radius &gt; 0 and no pair.</param>
    /// <remarks>Parallel and deterministic: (1) per chunk of Gaussians, tile rectangles and local slot counts; (2) the
    /// visible Gaussians are put in (depth, index) order by a stable LSD radix sort of the depth bits; (3) per chunk of
    /// that order, per-tile counts; their prefix sums give every (chunk, tile) a fixed output range, so (4) the chunks
    /// scatter in parallel and each tile's list comes out already front to back. The result is the same for any
    /// chunking (the order within a tile is fully determined by depth, then index), so it does not depend on threads.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Build(float* mean2d, float* depth, int[] radii, int n, int width, int height, float* support = null)
    {
        Count = n;
        TilesX = (width + TileSize - 1) / TileSize;
        TilesY = (height + TileSize - 1) / TileSize;
        int tiles = TilesX * TilesY, tilesX = TilesX, tilesY = TilesY;
        Grow(ref Rect, 4 * n);
        Grow(ref SlotStart, n + 1);
        Grow(ref TileStart, tiles + 1);
        int chunks = Math.Clamp(n / MinChunk, 1, 4 * Environment.ProcessorCount), chunk = (n + chunks - 1) / chunks;
        Grow(ref _chunkPairs, chunks + 1);
        Grow(ref _chunkVisible, chunks + 1);
        var rect = Rect; var slotStart = SlotStart; var chunkPairs = _chunkPairs; var chunkVisible = _chunkVisible;
        nint pm = (nint)mean2d, pd = (nint)depth, ps = (nint)support;

        // (1) Rectangles, chunk-local slot starts, visible counts.
        Parallel.For(0, chunks, c =>
        {
            float* m2 = (float*)pm, sup = (float*)ps;
            int g0 = c * chunk, g1 = Math.Min(n, g0 + chunk), local = 0, visible = 0;
            for (int g = g0; g < g1; g++)
            {
                slotStart[g] = local;
                int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
                int r = radii[g];
                if (r > 0)
                {
                    // graphdeco's getRect, on its integer-centred pixel coordinates (ours minus 0.5).
                    (x0, y0, x1, y1) = TileRect(m2[2 * g], m2[2 * g + 1], r, tilesX, tilesY);
                    if (x1 <= x0 || y1 <= y0) { x0 = y0 = x1 = y1 = 0; radii[g] = 0; }
                    else
                    {
                        if (sup != null)
                        {
                            var (sx0, sy0, sx1, sy1) = SupportRect(m2[2 * g], m2[2 * g + 1], sup[2 * g], sup[2 * g + 1], tilesX, tilesY);
                            x0 = Math.Max(x0, sx0); y0 = Math.Max(y0, sy0); x1 = Math.Min(x1, sx1); y1 = Math.Min(y1, sy1);
                        }
                        if (x1 <= x0 || y1 <= y0) x0 = y0 = x1 = y1 = 0; // visible, but blends in no tile
                        else visible++;
                    }
                }
                rect[4 * g] = x0; rect[4 * g + 1] = y0; rect[4 * g + 2] = x1; rect[4 * g + 3] = y1;
                local += (x1 - x0) * (y1 - y0);
            }
            chunkPairs[c + 1] = local; chunkVisible[c + 1] = visible;
        });
        chunkPairs[0] = chunkVisible[0] = 0;
        for (int c = 0; c < chunks; c++) { chunkPairs[c + 1] += chunkPairs[c]; chunkVisible[c + 1] += chunkVisible[c]; }
        int total = chunkPairs[chunks], nv = chunkVisible[chunks];
        SlotStart[n] = total;
        Grow(ref _keyA, nv); Grow(ref _keyB, nv); Grow(ref _idxA, nv); Grow(ref _idxB, nv);
        var keyA = _keyA; var idxA = _idxA;
        // Global slot starts; visible Gaussians with their depth bits, in index order.
        Parallel.For(0, chunks, c =>
        {
            float* dep = (float*)pd;
            int g0 = c * chunk, g1 = Math.Min(n, g0 + chunk), off = chunkPairs[c], v = chunkVisible[c];
            for (int g = g0; g < g1; g++)
            {
                slotStart[g] += off;
                if (rect[4 * g + 2] == rect[4 * g]) continue;
                // Positive floats order like their bit patterns.
                keyA[v] = BitConverter.SingleToUInt32Bits(dep[g]); idxA[v] = g; v++;
            }
        });

        // (2) Stable radix sort by depth: equal depths keep index order, i.e. the (depth, index) order.
        RadixSort(nv);

        // (3) Per (chunk of the depth order, tile) counts, then their prefix sums in (tile, chunk) order.
        int vchunks = Math.Clamp(nv / MinChunk, 1, 4 * Environment.ProcessorCount), vchunk = Math.Max(1, (nv + vchunks - 1) / vchunks);
        Grow(ref _counts, vchunks * tiles);
        Array.Clear(_counts, 0, vchunks * tiles);
        var counts = _counts; var order = _idxA;
        Parallel.For(0, vchunks, c =>
        {
            int j1 = Math.Min(nv, (c + 1) * vchunk), row = c * tiles;
            for (int j = c * vchunk; j < j1; j++)
            {
                int g = order[j];
                int x0 = rect[4 * g], y0 = rect[4 * g + 1], x1 = rect[4 * g + 2], y1 = rect[4 * g + 3];
                for (int ty = y0; ty < y1; ty++)
                    for (int tx = x0; tx < x1; tx++)
                        counts[row + ty * tilesX + tx]++;
            }
        });
        int run = 0;
        for (int t = 0; t < tiles; t++)
        {
            TileStart[t] = run;
            for (int c = 0; c < vchunks; c++) { int k = counts[c * tiles + t]; counts[c * tiles + t] = run; run += k; }
        }
        TileStart[tiles] = run;

        // (4) Scatter, each chunk into its own ranges.
        Grow(ref Sorted, total);
        Grow(ref SortedSlot, total);
        var sorted = Sorted; var sortedSlot = SortedSlot;
        Parallel.For(0, vchunks, c =>
        {
            int j1 = Math.Min(nv, (c + 1) * vchunk), row = c * tiles;
            for (int j = c * vchunk; j < j1; j++)
            {
                int g = order[j];
                int x0 = rect[4 * g], y0 = rect[4 * g + 1], x1 = rect[4 * g + 2], y1 = rect[4 * g + 3];
                int slot = slotStart[g];
                for (int ty = y0; ty < y1; ty++)
                    for (int tx = x0; tx < x1; tx++)
                    {
                        int at = counts[row + ty * tilesX + tx]++;
                        sorted[at] = g;
                        sortedSlot[at] = slot++; // row-major over the rectangle
                    }
            }
        });
    }

    /// <summary>Stable LSD radix sort of _keyA[0..n) carrying _idxA, 8 bits a pass; passes whose byte is the same for
    /// every key are skipped. The result ends in _keyA / _idxA.</summary>
    private void RadixSort(int n)
    {
        Span<int> hist = stackalloc int[4 * 256];
        hist.Clear();
        var keys = _keyA;
        for (int i = 0; i < n; i++)
        {
            uint k = keys[i];
            hist[(int)(k & 0xFF)]++; hist[256 + (int)((k >> 8) & 0xFF)]++; hist[512 + (int)((k >> 16) & 0xFF)]++; hist[768 + (int)(k >> 24)]++;
        }
        for (int pass = 0; pass < 4; pass++)
        {
            var h = hist.Slice(256 * pass, 256);
            int shift = 8 * pass;
            if (n == 0 || h[(int)((_keyA[0] >> shift) & 0xFF)] == n) continue; // one bucket: order unchanged
            int sum = 0;
            for (int b = 0; b < 256; b++) { int c = h[b]; h[b] = sum; sum += c; }
            uint[] ka = _keyA, kb = _keyB; int[] ia = _idxA, ib = _idxB;
            for (int i = 0; i < n; i++)
            {
                uint k = ka[i];
                int dst = h[(int)((k >> shift) & 0xFF)]++;
                kb[dst] = k; ib[dst] = ia[i];
            }
            (_keyA, _keyB) = (kb, ka); (_idxA, _idxB) = (ib, ia);
        }
    }

    /// <summary>graphdeco's getRect: tiles [x0, x1) x [y0, y1) touched by a disc of radius r around (u, v), in its
    /// integer-centred pixel coordinates (ours minus 0.5).</summary>
    public static (int X0, int Y0, int X1, int Y1) TileRect(float u, float v, int r, int tilesX, int tilesY)
    {
        float px = u - 0.5f, py = v - 0.5f;
        return (ClampTile((px - r) / TileSize, tilesX), ClampTile((py - r) / TileSize, tilesY),
                ClampTile((px + r + TileSize - 1) / TileSize, tilesX), ClampTile((py + r + TileSize - 1) / TileSize, tilesY));
    }

    /// <summary>Tiles [x0, x1) x [y0, y1) with a pixel centre in the box |x - u| &lt;= hx, |y - v| &lt;= hy (our pixel
    /// coordinates: pixel i's centre at i + 0.5). Empty when the box holds no pixel centre (hx or hy negative or NaN
    /// included); an infinite half-width spans the image.</summary>
    public static (int X0, int Y0, int X1, int Y1) SupportRect(float u, float v, float hx, float hy, int tilesX, int tilesY)
    {
        if (!(hx >= 0) || !(hy >= 0)) return (0, 0, 0, 0);
        // Pixels [i0, i1] x [j0, j1] have their centres in the box.
        float i0 = MathF.Ceiling(u - hx - 0.5f), i1 = MathF.Floor(u + hx - 0.5f);
        float j0 = MathF.Ceiling(v - hy - 0.5f), j1 = MathF.Floor(v + hy - 0.5f);
        if (!(i0 <= i1) || !(j0 <= j1)) return (0, 0, 0, 0);
        return (ClampTile(MathF.Floor(i0 / TileSize), tilesX), ClampTile(MathF.Floor(j0 / TileSize), tilesY),
                ClampTile(MathF.Floor(i1 / TileSize) + 1, tilesX), ClampTile(MathF.Floor(j1 / TileSize) + 1, tilesY));
    }

    private static int ClampTile(float v, int max)
    {
        if (!(v > 0)) return 0; // also NaN
        return v >= max ? max : (int)v;
    }

    internal static void Grow<T>(ref T[] a, int n)
    {
        if (a.Length < n) a = new T[Math.Max(n, a.Length + a.Length / 2)];
    }
}
