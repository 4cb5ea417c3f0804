namespace UniCLift.Compute.Losses;

/// <summary>
/// Per-view precomputation for boundary triplet mining, plain arrays only (a view grain keeps it and can
/// serialise it). Flat pixel index = y * Width + x.
/// </summary>
public sealed class BoundaryIndex
{
    public BoundaryIndex(int width, int height, int[] labels, int[] boundaryPixels, int[] neighbourOffsets,
        int[] neighbourPixels, int[] segmentLabels, int[] segmentOffsets, int[] segmentPixels)
    {
        if (labels.Length != width * height)
            throw new ArgumentException($"BoundaryIndex: {labels.Length} labels for a {width}x{height} view.", nameof(labels));
        if (neighbourOffsets.Length != boundaryPixels.Length + 1)
            throw new ArgumentException("BoundaryIndex: neighbourOffsets must have one entry per boundary pixel plus one.", nameof(neighbourOffsets));
        if (segmentOffsets.Length != segmentLabels.Length + 1)
            throw new ArgumentException("BoundaryIndex: segmentOffsets must have one entry per segment plus one.", nameof(segmentOffsets));
        Width = width;
        Height = height;
        Labels = labels;
        BoundaryPixels = boundaryPixels;
        NeighbourOffsets = neighbourOffsets;
        NeighbourPixels = neighbourPixels;
        SegmentLabels = segmentLabels;
        SegmentOffsets = segmentOffsets;
        SegmentPixels = segmentPixels;
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>The mask, row-major [H*W]; ids that do not count are stored as -1.</summary>
    public int[] Labels { get; }

    /// <summary>Boundary pixels, ascending flat index.</summary>
    public int[] BoundaryPixels { get; }

    /// <summary>CSR: neighbours of BoundaryPixels[b] in a different counting segment are
    /// NeighbourPixels[NeighbourOffsets[b] .. NeighbourOffsets[b+1]).</summary>
    public int[] NeighbourOffsets { get; }
    public int[] NeighbourPixels { get; }

    /// <summary>CSR: pixels of segment SegmentLabels[s] are SegmentPixels[SegmentOffsets[s] .. SegmentOffsets[s+1]),
    /// ascending flat index. SegmentLabels ascending.</summary>
    public int[] SegmentLabels { get; }
    public int[] SegmentOffsets { get; }
    public int[] SegmentPixels { get; }

    internal int SegmentSlot(int label) => Array.BinarySearch(SegmentLabels, label);

    private int[]? _slots;

    /// <summary>Per pixel, the slot of its segment in <see cref="SegmentLabels"/>, or -1 for ids that do not count
    /// (made on first use; what <see cref="TripletSampler"/> compares instead of labels).</summary>
    public int[] Slots
    {
        get
        {
            if (_slots is not null) return _slots;
            var slots = new int[Labels.Length];
            for (int p = 0; p < slots.Length; p++) slots[p] = Labels[p] < 0 ? -1 : SegmentSlot(Labels[p]);
            return _slots = slots;
        }
    }
}
