namespace UniCLift.Compute.Segmentation;

using UniCLift.Compute.Metrics;

/// <summary>
/// How well a scene's decoded instance maps agree with its input 2D masks, view by view: PQ of the decoded segments
/// against the mask's segments of the same view (ids matched within the view at IoU &gt; 0.5, id 0 left out on both
/// sides), over all views together. The masks are inconsistent across views and noisy within one, but equally so for
/// every decoding of the same model, so the score ranks decodings without ground truth.
/// </summary>
public sealed class MaskAgreement
{
    private double iouSum;
    private long tp, fp, fn;

    /// <summary>Adds one view: <paramref name="labels"/> decoded ids and <paramref name="mask"/> the input mask's ids,
    /// both row-major and the same size (0 = background).</summary>
    public void AddView(int[] labels, int[] mask)
    {
        if (labels.Length != mask.Length)
            throw new ArgumentException($"MaskAgreement: {labels.Length} labels but {mask.Length} mask pixels.", nameof(mask));
        var overlap = new SegmentOverlap();
        overlap.Add(labels, mask);
        int matched = 0;
        foreach (var (_, _, iou) in overlap.Matches())
        {
            iouSum += iou;
            matched++;
        }
        Views++;
        tp += matched;
        fp += overlap.SegmentsA - matched;
        fn += overlap.SegmentsB - matched;
    }

    public int Views { get; private set; }

    /// <summary>PQ in [0, 1] over the views added (0 when neither side has a segment).</summary>
    public double Score => tp + fp + fn == 0 ? 0 : iouSum / (tp + 0.5 * fp + 0.5 * fn);
}
