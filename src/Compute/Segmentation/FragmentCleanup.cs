namespace UniCLift.Compute.Segmentation;

/// <summary>
/// Removes tiny fragments from a per-view label map: every 4-connected component of one label smaller than the
/// threshold, and every component of <see cref="Unassigned"/> whatever its size, takes the most common label
/// among the pixels 4-adjacent to it (ties: the smaller label). Fragments are handled smallest first,
/// so a fragment that only touches fragments follows whatever they became. Deterministic, C# on int arrays.
/// </summary>
public static class FragmentCleanup
{
    /// <summary>Label of pixels whose code has no compact id (dropped or unknown); always reassigned.</summary>
    public const int Unassigned = -1;

    /// <summary>Returns a cleaned copy of <paramref name="labels"/> (row-major [H*W]).</summary>
    public static int[] Clean(int[] labels, int width, int height, FragmentOptions? options = null)
    {
        options ??= FragmentOptions.Default;
        if (width <= 0 || height <= 0 || labels.Length != width * height)
            throw new ArgumentException($"FragmentCleanup: {labels.Length} labels for a {width}x{height} image.", nameof(labels));
        int threshold = options.Threshold(width, height), largestThreshold = options.LargestThreshold(width, height);
        var l = (int[])labels.Clone();
        int n = l.Length;
        var comp = new int[n];
        var pixels = new int[n]; // pixels grouped by component
        var queueStart = new List<int>();
        var votes = new Dictionary<int, int>();
        var largest = new Dictionary<int, (int Component, int Size)>();

        for (int pass = 0; pass < Math.Max(1, options.MaxPasses); pass++)
        {
            // Connected components (BFS, 4-connectivity); component c owns pixels[start[c] .. start[c+1]).
            Array.Fill(comp, -1);
            queueStart.Clear();
            int filled = 0;
            for (int seed = 0; seed < n; seed++)
            {
                if (comp[seed] >= 0) continue;
                int c = queueStart.Count, label = l[seed];
                queueStart.Add(filled);
                comp[seed] = c;
                pixels[filled++] = seed;
                for (int head = queueStart[c]; head < filled; head++)
                {
                    int p = pixels[head], x = p % width, y = p / width;
                    if (x > 0) Visit(p - 1);
                    if (x < width - 1) Visit(p + 1);
                    if (y > 0) Visit(p - width);
                    if (y < height - 1) Visit(p + width);
                }

                void Visit(int q)
                {
                    if (comp[q] < 0 && l[q] == label)
                    {
                        comp[q] = c;
                        pixels[filled++] = q;
                    }
                }
            }
            queueStart.Add(filled);
            int count = queueStart.Count - 1;

            largest.Clear();
            if (largestThreshold < threshold)
                for (int c = 0; c < count; c++)
                {
                    int label = l[pixels[queueStart[c]]], size = queueStart[c + 1] - queueStart[c];
                    if (!largest.TryGetValue(label, out var top) || size > top.Size) largest[label] = (c, size);
                }
            var small = new List<int>();
            for (int c = 0; c < count; c++)
            {
                int size = queueStart[c + 1] - queueStart[c], label = l[pixels[queueStart[c]]];
                bool isLargest = largest.TryGetValue(label, out var top) && top.Component == c;
                if (label == Unassigned || size < (isLargest ? largestThreshold : threshold)) small.Add(c);
            }
            if (small.Count == 0) break;
            small.Sort((a, b) =>
            {
                int sa = queueStart[a + 1] - queueStart[a], sb = queueStart[b + 1] - queueStart[b];
                return sa != sb ? sa.CompareTo(sb) : a.CompareTo(b);
            });

            bool changed = false;
            foreach (int c in small)
            {
                votes.Clear();
                int own = l[pixels[queueStart[c]]];
                for (int i = queueStart[c]; i < queueStart[c + 1]; i++)
                {
                    int p = pixels[i], x = p % width, y = p / width;
                    if (x > 0) Vote(p - 1);
                    if (x < width - 1) Vote(p + 1);
                    if (y > 0) Vote(p - width);
                    if (y < height - 1) Vote(p + width);
                }
                if (votes.Count == 0) continue;
                int best = 0, bestVotes = 0;
                foreach (var (label, v) in votes)
                    if (v > bestVotes || (v == bestVotes && label < best)) (best, bestVotes) = (label, v);
                if (best == own) continue;
                for (int i = queueStart[c]; i < queueStart[c + 1]; i++) l[pixels[i]] = best;
                changed = true;

                void Vote(int q)
                {
                    // Neighbours outside this component; their label is the current one (earlier fragments already moved).
                    if (comp[q] == c) return;
                    int lq = l[q];
                    if (lq == Unassigned) return; // own label counts: an earlier merge may have joined this fragment to a region
                    votes[lq] = votes.TryGetValue(lq, out int v) ? v + 1 : 1;
                }
            }
            if (!changed) break;
        }

        // Only possible when nothing assigned touches it (e.g. the whole image unassigned): background.
        for (int i = 0; i < n; i++)
            if (l[i] == Unassigned) l[i] = 0;
        return l;
    }
}
