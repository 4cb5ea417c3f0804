namespace UniCLift.Compute.Metrics;

/// <summary>How a nearest-neighbour resize picks its source pixel.</summary>
public enum NearestMode
{
    /// <summary>
    /// Pillow's <c>Image.resize(size, Image.NEAREST)</c>: src = floor((dst + 0.5) * src_len / dst_len), i.e. the
    /// source pixel under the centre of the destination pixel. Pillow evaluates this in 16.16 fixed point; that is exact
    /// whenever dst_len is a power of two (512 in the evaluation), and here it is computed exactly in integers.
    /// This is what Panoptic Lifting's evaluation uses (read_and_resize_labels), hence the default.
    /// </summary>
    PixelCentre,

    /// <summary>torch <c>F.interpolate(mode="nearest")</c> / OpenCV INTER_NEAREST: src = floor(dst * src_len / dst_len).</summary>
    Floor,
}
