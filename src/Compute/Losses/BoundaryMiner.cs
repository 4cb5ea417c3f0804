namespace UniCLift.Compute.Losses;

using UniCLift.Compute.Scenes;

/// <summary>
/// Boundary hard mining for the triplet loss: a boundary pixel is one with a neighbour (4- or 8-connected)
/// of a different counting id. Triplets: anchor a on the boundary in segment A; positive p != a in A,
/// drawn within radius r of a when possible (else anywhere in A); negative n in the adjacent segment B
/// across that boundary, within radius r of a when possible (else the neighbour pixel itself).
/// The index is built in C# on int arrays; sampling is <see cref="TripletSampler"/>'s, deterministic for a seed.
/// </summary>
public static class BoundaryMiner
{
    /// <summary>METHOD.md: at most 3000 triplets per iteration.</summary>
    public const int MaxTripletsPerIteration = 3000;

    public static BoundaryIndex Build(LabelMap mask, BoundaryOptions? options = null)
    {
        options ??= BoundaryOptions.Default;
        int w = mask.Width, h = mask.Height;
        if (w <= 0 || h <= 0 || mask.Labels.Length != w * h)
            throw new ArgumentException($"BoundaryMiner: mask {w}x{h} has {mask.Labels.Length} labels, expected {w * h}.", nameof(mask));

        var labels = new int[w * h];
        for (int i = 0; i < labels.Length; i++)
        {
            int l = mask.Labels[i];
            labels[i] = l > 0 || (l == 0 && options.BackgroundIsSegment) ? l : -1;
        }

        var (dx, dy) = Offsets(options.Connectivity);
        var boundary = new List<int>();
        var offsets = new List<int> { 0 };
        var neighbours = new List<int>();
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int p = y * w + x, l = labels[p];
                if (l < 0) continue;
                int before = neighbours.Count;
                for (int k = 0; k < dx.Length; k++)
                {
                    int nx = x + dx[k], ny = y + dy[k];
                    if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
                    int q = ny * w + nx, m = labels[q];
                    if (m >= 0 && m != l) neighbours.Add(q);
                }
                if (neighbours.Count > before)
                {
                    boundary.Add(p);
                    offsets.Add(neighbours.Count);
                }
            }

        // Segment CSR by counting sort over the sorted distinct labels.
        var distinct = labels.Where(l => l >= 0).Distinct().OrderBy(l => l).ToArray();
        var segOffsets = new int[distinct.Length + 1];
        foreach (var l in labels)
            if (l >= 0) segOffsets[Array.BinarySearch(distinct, l) + 1]++;
        for (int s = 0; s < distinct.Length; s++) segOffsets[s + 1] += segOffsets[s];
        var fill = (int[])segOffsets.Clone();
        var segPixels = new int[segOffsets[^1]];
        for (int p = 0; p < labels.Length; p++)
            if (labels[p] >= 0) segPixels[fill[Array.BinarySearch(distinct, labels[p])]++] = p;

        return new BoundaryIndex(w, h, labels, boundary.ToArray(), offsets.ToArray(), neighbours.ToArray(),
            distinct, segOffsets, segPixels);
    }

    /// <summary>
    /// Up to <paramref name="max"/> triplets as flat pixel indices. Anchors are distinct boundary pixels
    /// (a uniform sample without replacement when there are more than max). An anchor whose segment has
    /// a single pixel yields no triplet. The draws are <see cref="TripletSampler"/>'s: the same seed gives the same
    /// triplets here and on a CUDA device.
    /// </summary>
    public static (int[] Anchor, int[] Positive, int[] Negative) SampleTriplets(BoundaryIndex index, int max, ulong seed, int radius = DefaultRadius)
    {
        var (a, p, n, valid) = TripletSampler.SampleHost(index, max, seed, radius);
        if (valid.All(v => v)) return (a, p, n);
        var keep = Enumerable.Range(0, a.Length).Where(t => valid[t]).ToArray();
        return (keep.Select(t => a[t]).ToArray(), keep.Select(t => p[t]).ToArray(), keep.Select(t => n[t]).ToArray());
    }

    /// <summary>Positives and negatives are drawn within this many pixels of the anchor when possible.</summary>
    public const int DefaultRadius = 10;

    private static (int[] Dx, int[] Dy) Offsets(Connectivity c) => c switch
    {
        Connectivity.Four => (new[] { 1, -1, 0, 0 }, new[] { 0, 0, 1, -1 }),
        Connectivity.Eight => (new[] { 1, -1, 0, 0, 1, 1, -1, -1 }, new[] { 0, 0, 1, -1, 1, -1, 1, -1 }),
        _ => throw new ArgumentException($"Unknown connectivity {c}; expected Four or Eight."),
    };
}
