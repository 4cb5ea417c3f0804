namespace UniCLift.Compute.Losses;

/// <summary>
/// The uniform grid hash (cell size sqrt(tau)) over a fixed set of Gaussian means that <see cref="NeighbourGraph"/>s are
/// drawn from. Building it sorts every Gaussian by cell; a query then searches only the 27 cells around each sampled
/// Gaussian. Lift mode keeps one grid for the whole run (the means are frozen) and queries a new sample at every refresh;
/// train mode builds a grid per refresh, the means having moved.
/// </summary>
public sealed class NeighbourGrid
{
    private readonly float[] _means;
    private readonly int _n;
    private readonly double _tau, _cell;
    private readonly int[] _order;
    private readonly Dictionary<long, (int Start, int End)> _ranges;

    private NeighbourGrid(float[] means, int n, double tau, int[] order, Dictionary<long, (int Start, int End)> ranges)
    {
        _means = means; _n = n; _tau = tau; _cell = Math.Sqrt(tau); _order = order; _ranges = ranges;
    }

    /// <summary>Gaussians in the grid.</summary>
    public int Count => _n;

    /// <param name="means">xyz of n Gaussians, [n*3] row-major (a CPU copy the grid keeps; do not change it).</param>
    /// <param name="n">Number of Gaussians.</param>
    /// <param name="tau">Squared-distance threshold of a neighbour.</param>
    public static NeighbourGrid Build(float[] means, int n, double tau)
    {
        if (n < 0 || means.Length < 3L * n)
            throw new ArgumentException($"NeighbourGraph: means has {means.Length} floats, expected 3 * {n}.", nameof(means));
        NeighbourGraph.CheckTau(tau);
        double cell = Math.Sqrt(tau);
        // Sort Gaussians by cell key, then map key -> [start, end) in the sorted order.
        var keys = new long[n];
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            keys[i] = NeighbourGraph.Key(NeighbourGraph.Cell(means[3 * i], cell), NeighbourGraph.Cell(means[3 * i + 1], cell),
                NeighbourGraph.Cell(means[3 * i + 2], cell));
            order[i] = i;
        }
        Array.Sort(keys, order);
        var ranges = new Dictionary<long, (int Start, int End)>();
        for (int s = 0; s < n;)
        {
            int e = s + 1;
            while (e < n && keys[e] == keys[s]) e++;
            ranges[keys[s]] = (s, e);
            s = e;
        }
        return new NeighbourGrid(means, n, tau, order, ranges);
    }

    /// <summary>For each sampled Gaussian i (in sample order), up to <paramref name="maxNeighbours"/> Gaussians j != i with
    /// ||mu_i - mu_j||^2 &lt;= tau, nearest first, ties by index: the same pairs whatever the thread count.</summary>
    public NeighbourGraph Query(int maxNeighbours, int[] sampleIndices)
    {
        NeighbourGraph.CheckQuery(maxNeighbours, sampleIndices, _n);
        int samples = sampleIndices.Length, k = maxNeighbours;
        var found = new int[(long)samples * k];
        var counts = new int[samples];
        const int Chunk = 256;
        Parallel.For(0, (samples + Chunk - 1) / Chunk, () => (new float[k], new int[k]), (c, _, best) =>
        {
            var (bestD2, bestJ) = best;
            int s1 = Math.Min(samples, (c + 1) * Chunk);
            for (int s = c * Chunk; s < s1; s++)
            {
                int kept = Nearest(sampleIndices[s], k, bestD2, bestJ);
                Array.Copy(bestJ, 0, found, (long)s * k, kept);
                counts[s] = kept;
            }
            return best;
        }, _ => { });
        int pairs = 0;
        foreach (int c in counts) pairs += c;
        var sources = new int[pairs];
        var targets = new int[pairs];
        for (int s = 0, p = 0; s < samples; s++)
            for (int m = 0; m < counts[s]; m++, p++)
            {
                sources[p] = sampleIndices[s];
                targets[p] = found[(long)s * k + m];
            }
        return new NeighbourGraph(sources, targets);
    }

    /// <summary>The k nearest neighbours of i within tau into bestJ (ascending (d2, j)); returns how many.</summary>
    private int Nearest(int i, int k, float[] bestD2, int[] bestJ)
    {
        var means = _means;
        float xi = means[3 * i], yi = means[3 * i + 1], zi = means[3 * i + 2];
        int cx = NeighbourGraph.Cell(xi, _cell), cy = NeighbourGraph.Cell(yi, _cell), cz = NeighbourGraph.Cell(zi, _cell);
        int kept = 0;
        for (int ox = -1; ox <= 1; ox++)
            for (int oy = -1; oy <= 1; oy++)
                for (int oz = -1; oz <= 1; oz++)
                {
                    if (!_ranges.TryGetValue(NeighbourGraph.Key(cx + ox, cy + oy, cz + oz), out var r)) continue;
                    for (int s = r.Start; s < r.End; s++)
                    {
                        int j = _order[s];
                        if (j == i) continue;
                        float dx = means[3 * j] - xi, dy = means[3 * j + 1] - yi, dz = means[3 * j + 2] - zi;
                        float d2 = dx * dx + dy * dy + dz * dz;
                        if (!(d2 <= _tau)) continue;
                        // Bounded insertion: keep the k smallest (d2, j) in order.
                        if (kept == k && !Before(d2, j, bestD2[k - 1], bestJ[k - 1])) continue;
                        int pos = kept == k ? k - 1 : kept++;
                        while (pos > 0 && Before(d2, j, bestD2[pos - 1], bestJ[pos - 1]))
                        {
                            bestD2[pos] = bestD2[pos - 1];
                            bestJ[pos] = bestJ[pos - 1];
                            pos--;
                        }
                        bestD2[pos] = d2;
                        bestJ[pos] = j;
                    }
                }
        return kept;
    }

    private static bool Before(float d2, int j, float otherD2, int otherJ) => d2 < otherD2 || d2 == otherD2 && j < otherJ;
}
