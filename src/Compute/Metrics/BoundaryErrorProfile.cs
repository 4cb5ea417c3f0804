namespace UniCLift.Compute.Metrics;

/// <summary>
/// Where a predicted instance map is wrong, by distance to the true (GT) instance boundary (issue #17). Views are
/// added as (GT, prediction) label maps (0 = background in both); counts are kept per (distance band, GT id,
/// predicted id), so predicted ids are matched to GT ids afterwards over everything added, as PQ^scene does
/// (a predicted id matches the GT id it overlaps with IoU &gt; 0.5). Masks whose ids are unrelated between views
/// (the raw per-view masks) are added with <see cref="AddMatchedPerView"/>, which matches within the view first.
/// A pixel is then correct, "spill" (an object label on GT background), "shrink" (background on a GT object) or
/// "wrong object" (an object label not matched to the pixel's GT object).
/// </summary>
public sealed class BoundaryErrorProfile
{
    /// <summary>Upper ends (px, inclusive) of the distance bands 0-1, 1-2, 2-4, 4-8; the last band is &gt; 8.</summary>
    public static readonly double[] BandEnds = [1, 2, 4, 8];

    public static readonly string[] BandNames = ["0-1", "1-2", "2-4", "4-8", ">8"];

    private readonly Dictionary<(int Band, int Gt, int Pred), long> _counts = new();
    private int _nextUnmatched = -1;

    /// <summary>
    /// Distance (px) of every pixel centre to the nearest boundary between different GT labels (4-neighbour edges):
    /// pixels on either side of an edge are 0.5 away, the rest by a two-pass chamfer (1, √2) from them.
    /// Infinity where the map has no boundary. The image border is not a boundary.
    /// </summary>
    public static float[] DistanceToBoundary(int[] gt, int width, int height)
    {
        if (gt.Length != width * height) throw new ArgumentException($"label map has {gt.Length} pixels, not {width}x{height}.", nameof(gt));
        var d = new float[gt.Length];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int p = y * width + x, l = gt[p];
                bool edge = (x > 0 && gt[p - 1] != l) || (x + 1 < width && gt[p + 1] != l)
                    || (y > 0 && gt[p - width] != l) || (y + 1 < height && gt[p + width] != l);
                d[p] = edge ? 0.5f : float.PositiveInfinity;
            }
        }
        const float diag = 1.41421356f;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int p = y * width + x;
                float v = d[p];
                if (x > 0) v = Math.Min(v, d[p - 1] + 1);
                if (y > 0)
                {
                    v = Math.Min(v, d[p - width] + 1);
                    if (x > 0) v = Math.Min(v, d[p - width - 1] + diag);
                    if (x + 1 < width) v = Math.Min(v, d[p - width + 1] + diag);
                }
                d[p] = v;
            }
        }
        for (int y = height - 1; y >= 0; y--)
        {
            for (int x = width - 1; x >= 0; x--)
            {
                int p = y * width + x;
                float v = d[p];
                if (x + 1 < width) v = Math.Min(v, d[p + 1] + 1);
                if (y + 1 < height)
                {
                    v = Math.Min(v, d[p + width] + 1);
                    if (x + 1 < width) v = Math.Min(v, d[p + width + 1] + diag);
                    if (x > 0) v = Math.Min(v, d[p + width - 1] + diag);
                }
                d[p] = v;
            }
        }
        return d;
    }

    /// <summary>Band index (0..4) of a distance.</summary>
    public static int Band(float distance)
    {
        for (int b = 0; b < BandEnds.Length; b++)
            if (distance <= BandEnds[b]) return b;
        return BandEnds.Length;
    }

    /// <summary>Adds one view; its predicted ids are matched together with every other view added this way.</summary>
    public void Add(int[] gt, int[] pred, int width, int height)
    {
        if (pred.Length != gt.Length) throw new ArgumentException($"prediction has {pred.Length} pixels, GT {gt.Length}.", nameof(pred));
        var d = DistanceToBoundary(gt, width, height);
        for (int i = 0; i < gt.Length; i++)
        {
            var key = (Band(d[i]), gt[i], pred[i]);
            _counts[key] = _counts.GetValueOrDefault(key) + 1;
        }
    }

    /// <summary>
    /// Adds one view whose predicted ids mean nothing outside it: they are matched to GT ids within the view and
    /// renamed to them; unmatched ones get ids of their own that match nothing.
    /// </summary>
    public void AddMatchedPerView(int[] gt, int[] pred, int width, int height)
    {
        var view = new BoundaryErrorProfile();
        view.Add(gt, pred, width, height);
        var match = view.Match();
        var rename = new Dictionary<int, int>();
        foreach (var ((band, g, p), n) in view._counts)
        {
            int q = p;
            if (p != 0 && !match.TryGetValue(p, out q))
            {
                if (!rename.TryGetValue(p, out q)) rename[p] = q = _nextUnmatched--;
            }
            var key = (band, g, q);
            _counts[key] = _counts.GetValueOrDefault(key) + n;
        }
    }

    /// <summary>Predicted id → GT id for the pairs with IoU &gt; 0.5 (objects only: 0 is never matched).</summary>
    public Dictionary<int, int> Match() => Match(Overlap());

    private static Dictionary<int, int> Match(SegmentOverlap overlap) => overlap.Matches().ToDictionary(m => m.B, m => m.A);

    /// <summary>GT (side A) against prediction (side B) over everything added, bands summed.</summary>
    private SegmentOverlap Overlap()
    {
        var overlap = new SegmentOverlap();
        foreach (var ((_, g, p), n) in _counts) overlap.Add(g, p, n);
        return overlap;
    }

    /// <summary>Pixel and error counts of one distance band.</summary>
    public sealed record BandErrors(string Name, long Pixels, long Spill, long Shrink, long WrongObject)
    {
        public long Errors => Spill + Shrink + WrongObject;
    }

    /// <summary>One GT object: its area (px, all views added), the matched predicted id (null: none) and their IoU (0 if none).</summary>
    public sealed record ObjectIou(int Gt, long Area, int? Pred, double Iou);

    public sealed record Summary(IReadOnlyList<BandErrors> Bands, IReadOnlyList<ObjectIou> Objects)
    {
        public long Pixels => Bands.Sum(b => b.Pixels);
        public long Errors => Bands.Sum(b => b.Errors);
        public double MeanObjectIou => Objects.Count == 0 ? 0 : Objects.Average(o => o.Iou);

        /// <summary>A few lines: per band the pixel share, error rate (spill/shrink/wrong) and share of all errors; object IoUs.</summary>
        public IEnumerable<string> Lines(int worst = 5)
        {
            long pixels = Math.Max(1, Pixels), errors = Math.Max(1, Errors);
            yield return $"errors {100.0 * Errors / pixels:0.00}% of {Pixels} px (spill {100.0 * Bands.Sum(b => b.Spill) / pixels:0.00}%, shrink {100.0 * Bands.Sum(b => b.Shrink) / pixels:0.00}%, wrong object {100.0 * Bands.Sum(b => b.WrongObject) / pixels:0.00}%)";
            yield return "by distance to GT boundary: " + string.Join("; ", Bands.Select(b =>
            {
                double n = Math.Max(1, b.Pixels);
                return $"{b.Name}px ({100.0 * b.Pixels / pixels:0.0}% of px): err {100.0 * b.Errors / n:0.0}% = spill {100.0 * b.Spill / n:0.0} + shrink {100.0 * b.Shrink / n:0.0} + wrong {100.0 * b.WrongObject / n:0.0}, {100.0 * b.Errors / errors:0}% of errors";
            }));
            yield return $"object IoU mean {MeanObjectIou:0.000} over {Objects.Count}; worst: " + string.Join(", ",
                Objects.OrderBy(o => o.Iou).Take(worst).Select(o => $"gt{o.Gt}{(o.Pred is int p ? $"->{p}" : "->none")} {o.Iou:0.00} ({o.Area} px)"));
        }
    }

    public Summary Summarise()
    {
        var overlap = Overlap();
        var match = Match(overlap);
        var bands = new long[BandNames.Length, 4];
        foreach (var ((band, g, p), n) in _counts)
        {
            bands[band, 0] += n;
            if (g == 0 && p != 0) bands[band, 1] += n;
            else if (g != 0 && p == 0) bands[band, 2] += n;
            else if (g != 0 && (!match.TryGetValue(p, out var m) || m != g)) bands[band, 3] += n;
        }
        var objects = new List<ObjectIou>();
        foreach (var (g, area) in overlap.AreasA.OrderBy(kv => kv.Key))
        {
            var p = match.Where(kv => kv.Value == g).Select(kv => (int?)kv.Key).FirstOrDefault();
            objects.Add(new ObjectIou(g, area, p, p is int q ? overlap.Iou(g, q) : 0));
        }
        return new Summary(Enumerable.Range(0, BandNames.Length)
            .Select(b => new BandErrors(BandNames[b], bands[b, 0], bands[b, 1], bands[b, 2], bands[b, 3])).ToList(), objects);
    }
}
