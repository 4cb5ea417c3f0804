namespace UniCLift.Compute.Synthetic;

/// <summary>
/// Turns a ground-truth instance map into a "predicted" per-view mask the way 2D segmenters fail: ids permuted
/// per view (always), boundary jitter and tiny segments dropped (light, m2f), merges of adjacent objects, splits,
/// misses and spurious background segments (m2f). Single-threaded per view; all randomness comes from the
/// view's own stream, so the result does not depend on which thread runs it.
/// </summary>
internal static class MaskCorruptor
{
    /// <param name="gt">GT instance ids [H*W], 0 = background, objects 1..classOf.Length-1.</param>
    /// <param name="gtSemantic">GT semantic classes [H*W].</param>
    /// <param name="classOf">Semantic class per GT instance id (index 0 unused).</param>
    public static (int[] Mask, int[] Semantic, ViewCorruption Log) Corrupt(
        string view, int[] gt, int[] gtSemantic, int width, int height, int[] classOf, SyntheticSceneOptions o, StreamRandom rng)
    {
        int n = classOf.Length - 1;
        int pixels = width * height;
        var counts = new int[n + 1];
        foreach (var id in gt) counts[id]++;
        int minSeg = o.EffectiveMinSegmentPixels;
        bool m2f = o.Corruption == CorruptionLevel.M2F;

        // Segment id per GT object (union-find over GT ids); 0 = missed.
        var parent = new int[n + 1];
        for (int i = 0; i <= n; i++) parent[i] = i;
        var missed = new List<int>();
        var merged = new List<int[]>();
        int adjacentPairs = 0;
        bool sam = o.Corruption == CorruptionLevel.Sam;
        if (sam)
        {
            // Class-agnostic segmenters drop small objects far more often than large ones.
            for (int id = 1; id <= n; id++)
                if (counts[id] > 0 && rng.Chance(counts[id] < 6 * Math.Max(minSeg, 8) ? SamSmallMissProbability : o.MissProbability / 2))
                { parent[id] = 0; missed.Add(id); }
        }
        if (m2f)
        {
            for (int id = 1; id <= n; id++)
                if (counts[id] > 0 && rng.Chance(o.MissProbability)) { parent[id] = 0; missed.Add(id); }

            // Image adjacency (shared 4-neighbour boundary of at least 2 pixel pairs) between detected objects.
            var boundary = new Dictionary<(int, int), int>();
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    int a = gt[y * width + x];
                    if (a == 0) continue;
                    if (x + 1 < width) Count(boundary, a, gt[y * width + x + 1]);
                    if (y + 1 < height) Count(boundary, a, gt[(y + 1) * width + x]);
                }
            }
            foreach (var ((a, b), len) in boundary.OrderBy(kv => kv.Key.Item1).ThenBy(kv => kv.Key.Item2))
            {
                if (len < 2 || parent[a] == 0 || parent[b] == 0) continue;
                adjacentPairs++;
                if (!rng.Chance(o.MergeProbability)) continue;
                merged.Add([a, b]);
                int ra = Find(parent, a), rb = Find(parent, b);
                if (ra == rb) continue;
                // The larger object names (and classes) the merged segment.
                if (counts[rb] > counts[ra] || (counts[rb] == counts[ra] && rb < ra)) (ra, rb) = (rb, ra);
                parent[rb] = ra;
            }
        }

        var label = new int[pixels];
        for (int p = 0; p < pixels; p++)
        {
            int id = gt[p];
            label[p] = id == 0 || parent[id] == 0 ? 0 : Find(parent, id);
        }
        // Class of every label in use; new labels (splits, spurious) are appended.
        var labelClass = new List<int>(classOf);

        var split = new List<int>();
        if (m2f)
        {
            var segCount = new int[n + 1];
            var sumX = new double[n + 1];
            var sumY = new double[n + 1];
            for (int p = 0; p < pixels; p++)
            {
                int l = label[p];
                if (l == 0) continue;
                segCount[l]++; sumX[l] += p % width + 0.5; sumY[l] += p / width + 0.5;
            }
            for (int l = 1; l <= n; l++)
            {
                if (segCount[l] < 4 * minSeg || !rng.Chance(o.SplitProbability)) continue;
                // Cut along a random line through the centroid; one side gets a new id.
                double cx = sumX[l] / segCount[l], cy = sumY[l] / segCount[l];
                double ang = rng.Uniform(0, Math.PI), ux = Math.Cos(ang), uy = Math.Sin(ang);
                int newLabel = labelClass.Count;
                labelClass.Add(labelClass[l]);
                for (int p = 0; p < pixels; p++)
                    if (label[p] == l && ((p % width + 0.5 - cx) * ux + (p / width + 0.5 - cy) * uy) > 0) label[p] = newLabel;
                split.Add(l);
            }
        }

        int backgroundPieces = 0;
        if (sam)
        {
            split.AddRange(SplitIntoParts(label, width, height, n, minSeg, labelClass, rng));
            backgroundPieces = SplitBackground(label, gtSemantic, width, height, labelClass, rng);
        }

        if (o.Corruption != CorruptionLevel.None)
        {
            int passes = 1 + rng.NextInt(2);
            for (int pass = 0; pass < passes; pass++) Jitter(label, width, height, rng);
        }

        int dropped = 0;
        if (o.Corruption != CorruptionLevel.None && minSeg > 0)
        {
            var c = new int[labelClass.Count];
            foreach (var l in label) c[l]++;
            var drop = new bool[labelClass.Count];
            for (int l = 1; l < c.Length; l++)
                if (c[l] > 0 && c[l] < minSeg) { drop[l] = true; dropped++; }
            if (dropped > 0)
                for (int p = 0; p < pixels; p++)
                    if (drop[label[p]]) label[p] = 0;
        }

        int spurious = 0;
        if (m2f && rng.Chance(o.SpuriousProbability)) spurious = AddSpurious(label, gtSemantic, width, height, minSeg, labelClass, rng);

        // Compact, per-view random ids 1..K: the same object gets unrelated ids in different views.
        var used = new bool[labelClass.Count];
        foreach (var l in label) used[l] = true;
        var inUse = new List<int>();
        for (int l = 1; l < used.Length; l++) if (used[l]) inUse.Add(l);
        var ids = new int[inUse.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = i + 1;
        rng.Shuffle(ids);
        var remap = new int[labelClass.Count];
        var remapClass = new int[inUse.Count + 1];
        for (int i = 0; i < inUse.Count; i++) { remap[inUse[i]] = ids[i]; remapClass[ids[i]] = labelClass[inUse[i]]; }

        var mask = new int[pixels];
        var semantic = new int[pixels];
        for (int p = 0; p < pixels; p++)
        {
            int m = remap[label[p]];
            mask[p] = m;
            // Objects take their segment's class; background keeps the GT stuff class; object pixels a segmenter
            // lost (missed, eroded, dropped) become void.
            int gs = gtSemantic[p];
            semantic[p] = m > 0 ? remapClass[m] : (gs == SyntheticClasses.Floor || gs == SyntheticClasses.Wall ? gs : SyntheticClasses.Void);
        }
        return (mask, semantic, new ViewCorruption(view, merged, split, missed, spurious, dropped, adjacentPairs, backgroundPieces));
    }

    /// <summary>Probability that a SAM-style segmenter misses an object under about 6 minimum segments of pixels.</summary>
    public const double SamSmallMissProbability = 0.5;
    /// <summary>Probability that a SAM-style segmenter splits an object into parts in a view.</summary>
    public const double SamPartProbability = 0.5;

    /// <summary>SAM-style over-segmentation: an object's segment falls into a top and a bottom part (a lid and a
    /// body, a table top and its legs), cut at a random height of its image extent, sometimes into a third part by
    /// a vertical cut of the lower one. Returns the (GT) ids split.</summary>
    private static List<int> SplitIntoParts(int[] label, int width, int height, int n, int minSeg, List<int> labelClass, StreamRandom rng)
    {
        var split = new List<int>();
        var count = new int[n + 1];
        var top = new int[n + 1];
        var bottom = new int[n + 1];
        var left = new int[n + 1];
        var right = new int[n + 1];
        Array.Fill(top, int.MaxValue); Array.Fill(left, int.MaxValue); Array.Fill(bottom, -1); Array.Fill(right, -1);
        for (int p = 0; p < label.Length; p++)
        {
            int l = label[p];
            if (l == 0 || l > n) continue;
            int x = p % width, y = p / width;
            count[l]++;
            top[l] = Math.Min(top[l], y); bottom[l] = Math.Max(bottom[l], y);
            left[l] = Math.Min(left[l], x); right[l] = Math.Max(right[l], x);
        }
        for (int l = 1; l <= n; l++)
        {
            if (count[l] < 6 * minSeg || !rng.Chance(SamPartProbability)) continue;
            int cutY = top[l] + (int)Math.Round(rng.Uniform(0.25, 0.6) * (bottom[l] - top[l]));
            bool third = rng.Chance(0.3);
            int cutX = left[l] + (int)Math.Round(rng.Uniform(0.35, 0.65) * (right[l] - left[l]));
            int lower = labelClass.Count;
            labelClass.Add(labelClass[l]);
            int side = -1;
            if (third) { side = labelClass.Count; labelClass.Add(labelClass[l]); }
            for (int p = 0; p < label.Length; p++)
            {
                if (label[p] != l || p / width <= cutY) continue;
                label[p] = third && p % width > cutX ? side : lower;
            }
            split.Add(l);
        }
        return split;
    }

    /// <summary>SAM-style background: floor and wall pixels fall into 3-8 pieces (nearest of random seed points,
    /// never across the floor/wall edge), each with an id of its own and its stuff class. Returns the piece count.</summary>
    private static int SplitBackground(int[] label, int[] gtSemantic, int width, int height, List<int> labelClass, StreamRandom rng)
    {
        var stuff = new List<int>();
        for (int p = 0; p < label.Length; p++)
            if (label[p] == 0 && (gtSemantic[p] == SyntheticClasses.Floor || gtSemantic[p] == SyntheticClasses.Wall)) stuff.Add(p);
        if (stuff.Count == 0) return 0;
        int k = 3 + rng.NextInt(6);
        var seeds = new (double X, double Y)[k];
        for (int i = 0; i < k; i++)
        {
            int p = stuff[rng.NextInt(stuff.Count)];
            seeds[i] = (p % width + 0.5, p / width + 0.5);
        }
        // (seed, class) -> new label, made when first used.
        var pieces = new Dictionary<(int, int), int>();
        foreach (int p in stuff)
        {
            double x = p % width + 0.5, y = p / width + 0.5, best = double.PositiveInfinity;
            int nearest = 0;
            for (int i = 0; i < k; i++)
            {
                double dx = x - seeds[i].X, dy = y - seeds[i].Y, d = dx * dx + dy * dy;
                if (d < best) { best = d; nearest = i; }
            }
            int cls = gtSemantic[p];
            if (!pieces.TryGetValue((nearest, cls), out int piece))
            {
                piece = labelClass.Count;
                labelClass.Add(cls);
                pieces[(nearest, cls)] = piece;
            }
            label[p] = piece;
        }
        return pieces.Count;
    }

    private static void Count(Dictionary<(int, int), int> boundary, int a, int b)
    {
        if (b == 0 || b == a) return;
        var key = a < b ? (a, b) : (b, a);
        boundary[key] = boundary.GetValueOrDefault(key) + 1;
    }

    private static int Find(int[] parent, int i)
    {
        while (parent[i] != i) i = parent[i] = parent[parent[i]];
        return i;
    }

    /// <summary>One pass of boundary noise: a pixel next to a different label takes that label with probability
    /// 0.35 (reads the previous pass, so erosion and dilation move boundaries by at most one pixel per pass).</summary>
    private static void Jitter(int[] label, int width, int height, StreamRandom rng)
    {
        var src = (int[])label.Clone();
        Span<int> other = stackalloc int[4];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int p = y * width + x, l = src[p], k = 0;
                if (x > 0 && src[p - 1] != l) other[k++] = src[p - 1];
                if (x + 1 < width && src[p + 1] != l) other[k++] = src[p + 1];
                if (y > 0 && src[p - width] != l) other[k++] = src[p - width];
                if (y + 1 < height && src[p + width] != l) other[k++] = src[p + width];
                if (k == 0) continue;
                if (rng.Chance(0.35)) label[p] = other[rng.NextInt(k)];
            }
        }
    }

    /// <summary>A small elliptical false detection on background (stuff) pixels, with a random thing class.</summary>
    private static int AddSpurious(int[] label, int[] gtSemantic, int width, int height, int minSeg, List<int> labelClass, StreamRandom rng)
    {
        for (int tryIndex = 0; tryIndex < 50; tryIndex++)
        {
            int cx = rng.NextInt(width), cy = rng.NextInt(height);
            int c = cy * width + cx;
            if (label[c] != 0 || (gtSemantic[c] != SyntheticClasses.Floor && gtSemantic[c] != SyntheticClasses.Wall)) continue;
            double area = rng.Uniform(1.5, 4.0) * Math.Max(minSeg, 8);
            double aspect = rng.Uniform(0.5, 2.0);
            double a = Math.Sqrt(area * aspect / Math.PI), b = area / (Math.PI * a);
            double ang = rng.Uniform(0, Math.PI), co = Math.Cos(ang), si = Math.Sin(ang);
            int reach = (int)Math.Ceiling(Math.Max(a, b)) + 1;
            var pixels = new List<int>();
            for (int y = Math.Max(0, cy - reach); y <= Math.Min(height - 1, cy + reach); y++)
            {
                for (int x = Math.Max(0, cx - reach); x <= Math.Min(width - 1, cx + reach); x++)
                {
                    int p = y * width + x;
                    if (label[p] != 0) continue;
                    double dx = x - cx, dy = y - cy;
                    double u = (co * dx + si * dy) / a, v = (-si * dx + co * dy) / b;
                    if (u * u + v * v <= 1) pixels.Add(p);
                }
            }
            if (pixels.Count < Math.Max(1, minSeg)) continue;
            int newLabel = labelClass.Count;
            labelClass.Add(SyntheticClasses.Things[rng.NextInt(SyntheticClasses.Things.Length)]);
            foreach (var p in pixels) label[p] = newLabel;
            return 1;
        }
        return 0;
    }
}
