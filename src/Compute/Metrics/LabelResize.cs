namespace UniCLift.Compute.Metrics;

using UniCLift.Compute.Scenes;

/// <summary>Nearest-neighbour resizing of label maps (no interpolation, labels are copied).</summary>
public static class LabelResize
{
    /// <summary>Returns a <paramref name="width"/> x <paramref name="height"/> copy of <paramref name="map"/>.</summary>
    public static LabelMap Nearest(LabelMap map, int width, int height, NearestMode mode = NearestMode.PixelCentre)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (map.Labels.Length != (long)map.Width * map.Height)
            throw new ArgumentException($"Label map says {map.Width}x{map.Height} but holds {map.Labels.Length} labels.", nameof(map));
        var xs = SourceIndices(map.Width, width, mode);
        var ys = SourceIndices(map.Height, height, mode);
        var output = new LabelMap(width, height);
        for (int y = 0; y < height; y++)
        {
            int srcRow = ys[y] * map.Width, dstRow = y * width;
            for (int x = 0; x < width; x++)
                output.Labels[dstRow + x] = map.Labels[srcRow + xs[x]];
        }
        return output;
    }

    /// <summary>For each of the <paramref name="dstLength"/> output positions, the source index it copies from.</summary>
    public static int[] SourceIndices(int srcLength, int dstLength, NearestMode mode = NearestMode.PixelCentre)
    {
        if (srcLength <= 0) throw new ArgumentOutOfRangeException(nameof(srcLength), srcLength, "Source length must be positive.");
        if (dstLength <= 0) throw new ArgumentOutOfRangeException(nameof(dstLength), dstLength, "Target length must be positive.");
        var idx = new int[dstLength];
        for (int d = 0; d < dstLength; d++)
        {
            // Integer arithmetic so the result is exact (no floating rounding at .5 boundaries).
            long s = mode == NearestMode.PixelCentre
                ? (2L * d + 1) * srcLength / (2L * dstLength)
                : (long)d * srcLength / dstLength;
            idx[d] = (int)Math.Min(s, srcLength - 1);
        }
        return idx;
    }
}
