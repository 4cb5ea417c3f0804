namespace UniCLift.Compute.Rendering;

using System.Runtime.CompilerServices;

/// <summary>Assigns projected Gaussians to 16x16 tiles and depth-sorts each tile's list (graphdeco's duplicateWithKeys +
/// sort + identifyTileRanges, done as a counting sort by tile followed by a per-tile sort on (depth, index)).
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
    private ulong[] _keys = [];
    private int[] _cursor = [];

    public int Pairs => SlotStart.Length > Count ? SlotStart[Count] : 0;

    /// <summary>Bins N Gaussians. radii is updated in place: Gaussians touching no tile get radius 0.</summary>
    /// <param name="mean2d">[N, 2] pixel coordinates (centre of pixel i at i + 0.5).</param>
    /// <param name="depth">[N] camera z (positive for every Gaussian with radius &gt; 0).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Build(float* mean2d, float* depth, int[] radii, int n, int width, int height)
    {
        Count = n;
        TilesX = (width + TileSize - 1) / TileSize;
        TilesY = (height + TileSize - 1) / TileSize;
        int tiles = TilesX * TilesY;
        Grow(ref Rect, 4 * n);
        Grow(ref SlotStart, n + 1);
        Grow(ref TileStart, tiles + 1);
        Grow(ref _cursor, tiles);
        Array.Clear(TileStart, 0, tiles + 1);

        int total = 0;
        for (int g = 0; g < n; g++)
        {
            SlotStart[g] = total;
            int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
            int r = radii[g];
            if (r > 0)
            {
                // graphdeco's getRect, on its integer-centred pixel coordinates (ours minus 0.5).
                (x0, y0, x1, y1) = TileRect(mean2d[2 * g], mean2d[2 * g + 1], r, TilesX, TilesY);
                if (x1 <= x0 || y1 <= y0) { x0 = y0 = x1 = y1 = 0; radii[g] = 0; }
            }
            Rect[4 * g] = x0; Rect[4 * g + 1] = y0; Rect[4 * g + 2] = x1; Rect[4 * g + 3] = y1;
            for (int ty = y0; ty < y1; ty++)
                for (int tx = x0; tx < x1; tx++)
                    TileStart[ty * TilesX + tx + 1]++;
            total += (x1 - x0) * (y1 - y0);
        }
        SlotStart[n] = total;
        for (int t = 0; t < tiles; t++) TileStart[t + 1] += TileStart[t];
        Grow(ref _keys, total);
        Grow(ref Sorted, total);
        Array.Copy(TileStart, _cursor, tiles);
        for (int g = 0; g < n; g++)
        {
            int x0 = Rect[4 * g], y0 = Rect[4 * g + 1], x1 = Rect[4 * g + 2], y1 = Rect[4 * g + 3];
            if (x1 == x0) continue;
            // Positive floats order like their bit patterns; the index breaks ties so the order is deterministic.
            ulong key = ((ulong)BitConverter.SingleToUInt32Bits(depth[g]) << 32) | (uint)g;
            for (int ty = y0; ty < y1; ty++)
                for (int tx = x0; tx < x1; tx++)
                    _keys[_cursor[ty * TilesX + tx]++] = key;
        }
        var keys = _keys;
        var sorted = Sorted;
        var tileStart = TileStart;
        Parallel.For(0, tiles, t =>
        {
            var span = keys.AsSpan(tileStart[t], tileStart[t + 1] - tileStart[t]);
            span.Sort();
            for (int i = 0; i < span.Length; i++) sorted[tileStart[t] + i] = (int)(uint)span[i];
        });
    }

    /// <summary>Slot of the pair (Gaussian g, tile (tx, ty)).</summary>
    public int Slot(int g, int tx, int ty)
    {
        int x0 = Rect[4 * g], y0 = Rect[4 * g + 1], x1 = Rect[4 * g + 2];
        return SlotStart[g] + (ty - y0) * (x1 - x0) + (tx - x0);
    }

    /// <summary>graphdeco's getRect: tiles [x0, x1) x [y0, y1) touched by a disc of radius r around (u, v), in its
    /// integer-centred pixel coordinates (ours minus 0.5).</summary>
    public static (int X0, int Y0, int X1, int Y1) TileRect(float u, float v, int r, int tilesX, int tilesY)
    {
        float px = u - 0.5f, py = v - 0.5f;
        return (ClampTile((px - r) / TileSize, tilesX), ClampTile((py - r) / TileSize, tilesY),
                ClampTile((px + r + TileSize - 1) / TileSize, tilesX), ClampTile((py + r + TileSize - 1) / TileSize, tilesY));
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
