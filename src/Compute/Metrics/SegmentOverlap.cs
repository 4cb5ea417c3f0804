namespace UniCLift.Compute.Metrics;

/// <summary>
/// Pixel counts of two label maps laid over each other: each side's segment areas and the pairs' overlaps, id 0 being
/// background on both sides (never a segment). Segments match at IoU &gt; 0.5, which makes every match unique: the
/// rule of PQ (<see cref="ScenePanopticQuality"/> adds void handling to it), of the boundary error profile and of the
/// decoded maps' agreement with the input masks.
/// </summary>
public sealed class SegmentOverlap
{
    private readonly Dictionary<(int A, int B), long> _overlap = new();
    private readonly Dictionary<int, long> _areaA = new();
    private readonly Dictionary<int, long> _areaB = new();

    /// <summary>Adds <paramref name="pixels"/> pixels labelled <paramref name="a"/> on one side and <paramref name="b"/> on the other.</summary>
    public void Add(int a, int b, long pixels = 1)
    {
        if (a != 0) _areaA[a] = _areaA.GetValueOrDefault(a) + pixels;
        if (b != 0) _areaB[b] = _areaB.GetValueOrDefault(b) + pixels;
        if (a != 0 && b != 0) _overlap[(a, b)] = _overlap.GetValueOrDefault((a, b)) + pixels;
    }

    /// <summary>Adds two maps of the same view, row-major and the same size.</summary>
    public void Add(int[] a, int[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"label maps of {a.Length} and {b.Length} pixels.", nameof(b));
        for (int i = 0; i < a.Length; i++) Add(a[i], b[i]);
    }

    /// <summary>Segments (ids other than 0) seen on each side.</summary>
    public int SegmentsA => _areaA.Count;
    public int SegmentsB => _areaB.Count;

    public IReadOnlyDictionary<int, long> AreasA => _areaA;

    /// <summary>IoU of segment <paramref name="a"/> and segment <paramref name="b"/> (0 when they do not overlap).</summary>
    public double Iou(int a, int b)
    {
        long n = _overlap.GetValueOrDefault((a, b));
        return n == 0 ? 0 : Iou(a, b, n);
    }

    /// <summary>The pairs with IoU &gt; 0.5: each segment is in at most one.</summary>
    public IEnumerable<(int A, int B, double Iou)> Matches()
    {
        foreach (var ((a, b), n) in _overlap)
        {
            double iou = Iou(a, b, n);
            if (iou > 0.5) yield return (a, b, iou);
        }
    }

    private double Iou(int a, int b, long overlap) => overlap / (double)(_areaA[a] + _areaB[b] - overlap);
}
