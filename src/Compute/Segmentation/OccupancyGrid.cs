namespace UniCLift.Compute.Segmentation;

/// <summary>
/// The occupancy grid over a model's Gaussians that <see cref="SpatialParts"/> and <see cref="StrayGaussians"/> connect
/// pieces on: cells of a share of the scene's size, keyed by their packed integer coordinates.
/// </summary>
internal static class OccupancyGrid
{
    /// <summary>The Gaussians at least <paramref name="minOpacity"/> opaque (sigmoid of the logit) with finite means.</summary>
    public static List<int> Opaque(float[] means, float[] opacityLogits, double minOpacity)
    {
        double minLogit = Math.Log(minOpacity / (1 - minOpacity));
        var used = new List<int>();
        for (int i = 0; i < opacityLogits.Length; i++)
            if (opacityLogits[i] >= minLogit && Finite(means, i)) used.Add(i);
        return used;
    }

    public static bool Finite(float[] means, int i) => float.IsFinite(means[3 * i]) && float.IsFinite(means[3 * i + 1]) && float.IsFinite(means[3 * i + 2]);

    /// <summary><paramref name="fraction"/> of the scene's size: the diagonal of the box holding the central 96% of the
    /// <paramref name="used"/> Gaussians on each axis. Not positive (or not finite) when the size cannot be measured.</summary>
    public static double CellSize(float[] means, IReadOnlyList<int> used, double fraction)
    {
        if (used.Count == 0) return 0;
        double diagonal2 = 0;
        for (int a = 0; a < 3; a++)
        {
            var values = used.Select(i => means[3 * i + a]).Order().ToArray();
            double span = values[(int)(0.98 * (values.Length - 1))] - values[(int)(0.02 * (values.Length - 1))];
            diagonal2 += span * span;
        }
        return fraction * Math.Sqrt(diagonal2);
    }

    // Cell coordinates in 21 signed bits each (a point further out than a million cells is clamped: an outlier).
    public const long Limit = (1 << 20) - 1;
    public static long Coordinate(double v, double size) => (long)Math.Clamp(Math.Floor(v / size), -Limit, Limit);
    public static long Key(float[] means, int i, double size) =>
        Pack(Coordinate(means[3 * i], size), Coordinate(means[3 * i + 1], size), Coordinate(means[3 * i + 2], size));
    public static long Pack(long x, long y, long z) => ((x + Limit + 1) << 42) | ((y + Limit + 1) << 21) | (z + Limit + 1);
    public static (long X, long Y, long Z) Unpack(long key) =>
        ((key >> 42) - Limit - 1, ((key >> 21) & ((1L << 21) - 1)) - Limit - 1, (key & ((1L << 21) - 1)) - Limit - 1);

    /// <summary>The 26 cells around <paramref name="key"/> (not the cell itself).</summary>
    public static IEnumerable<long> Around(long key)
    {
        var (x, y, z) = Unpack(key);
        for (int dx = -1; dx <= 1; dx++)
        for (int dy = -1; dy <= 1; dy++)
        for (int dz = -1; dz <= 1; dz++)
            if ((dx, dy, dz) != (0, 0, 0)) yield return Pack(x + dx, y + dy, z + dz);
    }

    /// <summary>Connected pieces of the occupied <paramref name="cells"/> (<paramref name="index"/>: cell -> its index)
    /// over the 26-neighbourhood, each with its cell indices (ascending) and the sum of its cells'
    /// <paramref name="counts"/>: largest first, ties by the smaller first cell, so the order is a function of the cells
    /// alone.</summary>
    public static List<(int[] Cells, int Count)> Pieces(IReadOnlyList<long> cells, IReadOnlyDictionary<long, int> index, IReadOnlyList<int> counts)
    {
        var parent = Enumerable.Range(0, cells.Count).ToArray();
        int Find(int x) { while (parent[x] != x) x = parent[x] = parent[parent[x]]; return x; }
        for (int ci = 0; ci < cells.Count; ci++)
            foreach (var nb in Around(cells[ci]))
                if (index.TryGetValue(nb, out int other))
                {
                    int ra = Find(ci), rb = Find(other);
                    if (ra != rb) parent[Math.Max(ra, rb)] = Math.Min(ra, rb); // a piece's root is its smallest cell
                }
        return Enumerable.Range(0, cells.Count).GroupBy(Find)
            .Select(g => (Cells: g.ToArray(), Count: g.Sum(ci => counts[ci]), First: g.Key))
            .OrderByDescending(p => p.Count).ThenBy(p => p.First)
            .Select(p => (p.Cells, p.Count)).ToList();
    }
}
