namespace UniCLift.Compute.Losses;

using UniCLift.Compute.Scenes;

/// <summary>
/// Boundary hard mining for the triplet loss: a boundary pixel is one with a neighbour (4- or 8-connected)
/// of a different counting id. Triplets: anchor a on the boundary in segment A; positive p != a in A,
/// drawn within radius r of a when possible (else anywhere in A); negative n in the adjacent segment B
/// across that boundary, within radius r of a when possible (else the neighbour pixel itself).
/// All mask-side work is C# on int arrays; deterministic for a given Random seed.
/// </summary>
public static class BoundaryMiner
{
    /// <summary>METHOD.md: at most 3000 triplets per iteration.</summary>
    public const int MaxTripletsPerIteration = 3000;

    /// <summary>Rejection-sampling attempts within the radius before falling back.</summary>
    private const int Attempts = 8;

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
    /// a single pixel yields no triplet.
    /// </summary>
    public static (int[] Anchor, int[] Positive, int[] Negative) SampleTriplets(BoundaryIndex index, int max, Random rng, int radius = 10)
    {
        if (max < 0) throw new ArgumentException($"SampleTriplets: max must be >= 0, got {max}.", nameof(max));
        if (radius < 0) throw new ArgumentException($"SampleTriplets: radius must be >= 0, got {radius}.", nameof(radius));
        int b = index.BoundaryPixels.Length;
        int take = Math.Min(max, b);
        var order = new int[b];
        for (int i = 0; i < b; i++) order[i] = i;
        for (int i = 0; i < take; i++)
        {
            int j = rng.Next(i, b);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var anchors = new List<int>(take);
        var positives = new List<int>(take);
        var negatives = new List<int>(take);
        for (int t = 0; t < take; t++)
        {
            int bi = order[t];
            int a = index.BoundaryPixels[bi];
            int la = index.Labels[a];
            int n0 = index.NeighbourOffsets[bi], n1 = index.NeighbourOffsets[bi + 1];
            int across = index.NeighbourPixels[rng.Next(n0, n1)];
            int lb = index.Labels[across];

            int p = NearPixel(index, a, la, radius, rng, exclude: a);
            if (p < 0)
            {
                int s = index.SegmentSlot(la);
                int s0 = index.SegmentOffsets[s], s1 = index.SegmentOffsets[s + 1];
                if (s1 - s0 < 2) continue; // a one-pixel segment has no positive
                do p = index.SegmentPixels[rng.Next(s0, s1)]; while (p == a);
            }
            int n = NearPixel(index, a, lb, radius, rng, exclude: -1);
            if (n < 0) n = across;

            anchors.Add(a);
            positives.Add(p);
            negatives.Add(n);
        }
        return (anchors.ToArray(), positives.ToArray(), negatives.ToArray());
    }

    /// <summary>A random pixel with the given label in the disc of radius r around the centre, or -1.</summary>
    private static int NearPixel(BoundaryIndex index, int centre, int label, int radius, Random rng, int exclude)
    {
        if (radius == 0) return -1;
        int cx = centre % index.Width, cy = centre / index.Width;
        int r2 = radius * radius;
        for (int k = 0; k < Attempts; k++)
        {
            int ox = rng.Next(-radius, radius + 1), oy = rng.Next(-radius, radius + 1);
            if (ox * ox + oy * oy > r2) continue;
            int x = cx + ox, y = cy + oy;
            if (x < 0 || y < 0 || x >= index.Width || y >= index.Height) continue;
            int q = y * index.Width + x;
            if (q != exclude && index.Labels[q] == label) return q;
        }
        return -1;
    }

    private static (int[] Dx, int[] Dy) Offsets(Connectivity c) => c switch
    {
        Connectivity.Four => (new[] { 1, -1, 0, 0 }, new[] { 0, 0, 1, -1 }),
        Connectivity.Eight => (new[] { 1, -1, 0, 0, 1, 1, -1, -1 }, new[] { 0, 0, 1, -1, 1, -1, 1, -1 }),
        _ => throw new ArgumentException($"Unknown connectivity {c}; expected Four or Eight."),
    };
}
