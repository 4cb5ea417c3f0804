namespace UniCLift.Tests.Rendering;

using UniCLift.Compute.Rendering;

/// <summary>The binning stage alone against its definition, by brute force: Gaussian g is in tile (tx, ty) exactly when
/// its radius is positive, the tile lies in graphdeco's getRect of the 3-sigma radius and, when binning by support, the
/// tile holds a pixel centre inside g's alpha &gt;= 1/255 box; each tile lists its Gaussians front to back (depth, then
/// index); radii of Gaussians whose rectangle meets no tile become 0.</summary>
[Collection("Rasterizer")]
public sealed class TileBinningStageTests
{
    private const int T = 16;

    /// <summary>getRect (graphdeco, auxiliary.h) on its integer-centred pixel coordinates: C's (int) truncates toward
    /// zero, then min(grid, max(0, .)).</summary>
    private static (int X0, int Y0, int X1, int Y1) GetRect(float u, float v, int r, int tilesX, int tilesY)
    {
        static int Clamp(float x, int max) => Math.Min(max, Math.Max(0, float.IsNaN(x) ? 0 : (int)MathF.Max(MathF.Min(x, 1e9f), -1e9f)));
        float px = u - 0.5f, py = v - 0.5f;
        return (Clamp((px - r) / T, tilesX), Clamp((py - r) / T, tilesY), Clamp((px + r + T - 1) / T, tilesX), Clamp((py + r + T - 1) / T, tilesY));
    }

    private static bool HasCentreInBox(int tx, int ty, float u, float v, float hx, float hy)
    {
        for (int j = ty * T; j < ty * T + T; j++)
            for (int i = tx * T; i < tx * T + T; i++)
                if (MathF.Abs(i + 0.5f - u) <= hx && MathF.Abs(j + 0.5f - v) <= hy) return true;
        return false;
    }

    [Theory]
    // seed, N, W, H, bin by support
    [InlineData(1, 300, 200, 150, false)]
    [InlineData(2, 300, 200, 150, true)]
    [InlineData(3, 12000, 250, 170, true)]  // several chunks of 4096 in every parallel phase
    [InlineData(4, 9000, 97, 61, false)]    // partial edge tiles
    public unsafe void PairsEqualTheBruteForceEnumeration(int seed, int n, int w, int h, bool bySupport)
    {
        var rng = new Random(seed);
        var mean = new float[2 * n]; var depth = new float[n]; var radii = new int[n]; var support = new float[2 * n];
        for (int g = 0; g < n; g++)
        {
            mean[2 * g] = (float)(rng.NextDouble() * (w + 80) - 40); mean[2 * g + 1] = (float)(rng.NextDouble() * (h + 80) - 40);
            // Few distinct depths, so ties are common and the index order within a tie is tested.
            depth[g] = rng.Next(4) == 0 ? 2f : (float)(0.3 + rng.NextDouble() * 8);
            radii[g] = rng.Next(8) == 0 ? 0 : rng.Next(1, 45);
            int kind = rng.Next(20);
            support[2 * g] = kind == 0 ? -1f : kind == 1 ? float.PositiveInfinity : (float)(rng.NextDouble() * radii[g]);
            support[2 * g + 1] = kind == 0 ? -1f : (float)(rng.NextDouble() * radii[g]);
        }
        var radiiIn = (int[])radii.Clone();
        var b = new TileBinning();
        fixed (float* pm = mean, pd = depth, ps = support) b.Build(pm, pd, radii, n, w, h, bySupport ? ps : null);

        int tilesX = (w + T - 1) / T, tilesY = (h + T - 1) / T;
        Assert.Equal(tilesX, b.TilesX);
        Assert.Equal(tilesY, b.TilesY);
        var expected = new List<int>[tilesX * tilesY];
        for (int t = 0; t < expected.Length; t++) expected[t] = [];
        for (int g = 0; g < n; g++)
        {
            if (radiiIn[g] == 0) { Assert.Equal(0, radii[g]); continue; }
            float u = mean[2 * g], v = mean[2 * g + 1];
            var (x0, y0, x1, y1) = GetRect(u, v, radiiIn[g], tilesX, tilesY);
            bool onScreen = x1 > x0 && y1 > y0;
            Assert.True(radii[g] == (onScreen ? radiiIn[g] : 0), $"Gaussian {g}: radius {radii[g]}, rectangle [{x0}, {x1}) x [{y0}, {y1})");
            for (int ty = y0; ty < y1; ty++)
                for (int tx = x0; tx < x1; tx++)
                    if (!bySupport || HasCentreInBox(tx, ty, u, v, support[2 * g], support[2 * g + 1]))
                        expected[ty * tilesX + tx].Add(g);
        }
        int pairs = 0;
        for (int t = 0; t < expected.Length; t++)
        {
            // Front to back; equal depths by index.
            var want = expected[t].OrderBy(g => depth[g]).ThenBy(g => g).ToArray();
            var got = b.Sorted.AsSpan(b.TileStart[t], b.TileStart[t + 1] - b.TileStart[t]).ToArray();
            Assert.True(want.SequenceEqual(got), $"tile {t} ({t % tilesX}, {t / tilesX}): expected [{string.Join(",", want.Take(12))}...] ({want.Length}), got [{string.Join(",", got.Take(12))}...] ({got.Length})");
            pairs += want.Length;
        }
        Assert.Equal(pairs, b.TileStart[expected.Length]);
        Assert.Equal(pairs, b.Pairs);
        Assert.True(pairs > n, $"only {pairs} pairs for {n} Gaussians: the test would prove little");
    }
}
