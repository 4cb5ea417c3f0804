namespace UniCLift.Compute.Losses;

using static TorchSharp.torch;

/// <summary>
/// Boundary triplet loss: mean over triplets of max(0, ||W a - W p||^2 - ||W a - W n||^2 + delta),
/// delta = 1, on Vh = sigmoid(V) at the anchor / positive / negative pixels.
/// </summary>
public static class TripletLoss
{
    public const double DefaultMargin = 1.0;

    /// <summary>
    /// <paramref name="features"/> [H,W,D] pre-sigmoid; triplets as flat pixel indices (y * W + x), e.g. from
    /// <see cref="BoundaryMiner.SampleTriplets"/>. Returns a scalar; with no triplets 0 still attached to the graph.
    /// </summary>
    public static Tensor Compute(Tensor features, int[] anchor, int[] positive, int[] negative,
        TripletProjection projection, double margin = DefaultMargin)
    {
        if (features.dim() != 3)
            throw new ArgumentException($"TripletLoss expects features [H,W,D]; got {RenderLoss.Shape(features)}.", nameof(features));
        if (anchor.Length != positive.Length || anchor.Length != negative.Length)
            throw new ArgumentException($"TripletLoss: {anchor.Length} anchors, {positive.Length} positives, {negative.Length} negatives; expected equal counts.");
        long d = features.shape[2];
        if (d != projection.Dimensions)
            throw new ArgumentException($"TripletLoss: features have D = {d} but the projection has {projection.Dimensions}.", nameof(projection));
        long pixels = features.shape[0] * features.shape[1];
        CheckRange(anchor, pixels, nameof(anchor));
        CheckRange(positive, pixels, nameof(positive));
        CheckRange(negative, pixels, nameof(negative));

        using var scope = NewDisposeScope();
        var flat = features.reshape(-1, d); // [H*W,D]
        int t = anchor.Length;
        if (t == 0)
        {
            var zero = flat.sum().mul(Scalars.Of(0.0));
            if (projection.Weight is not null) zero = zero.add(projection.Weight.sum(), Scalars.Of(0.0));
            return zero.MoveToOuterDisposeScope();
        }
        var idx = UploadIndices(anchor, positive, negative, features.device); // [3T]
        return Hinge(flat, idx, null, t, projection, margin).MoveToOuterDisposeScope();
    }

    /// <summary>Host triplets as the [3T] int64 index tensor the loss reads on <paramref name="device"/>: anchors, then
    /// positives, then negatives.</summary>
    internal static Tensor UploadIndices(int[] anchor, int[] positive, int[] negative, Device device)
    {
        int t = anchor.Length;
        var all = new long[3 * t];
        for (int i = 0; i < t; i++)
        {
            all[i] = anchor[i];
            all[t + i] = positive[i];
            all[2 * t + i] = negative[i];
        }
        return DeviceUpload.Of(all, device);
    }

    /// <summary>
    /// The loss for triplets already on the features' device (<see cref="TripletSampler.Sample"/>): <paramref name="indices"/>
    /// [3T] int64 flat pixel indices (anchors, positives, negatives), <paramref name="valid"/> [T] 1 / 0 or null (all
    /// valid); the mean runs over the valid triplets. Indices are not range-checked here (that would read them back).
    /// </summary>
    public static Tensor Compute(Tensor features, Tensor indices, Tensor? valid, int count, TripletProjection projection, double margin = DefaultMargin)
    {
        if (features.dim() != 3)
            throw new ArgumentException($"TripletLoss expects features [H,W,D]; got {RenderLoss.Shape(features)}.", nameof(features));
        if (indices.dim() != 1 || indices.shape[0] != 3L * count || valid is not null && (valid.dim() != 1 || valid.shape[0] != count))
            throw new ArgumentException($"TripletLoss: {count} triplets need indices [{3 * count}] and valid [{count}]; got {RenderLoss.Shape(indices)} and {(valid is null ? "none" : RenderLoss.Shape(valid))}.");
        long d = features.shape[2];
        if (d != projection.Dimensions)
            throw new ArgumentException($"TripletLoss: features have D = {d} but the projection has {projection.Dimensions}.", nameof(projection));
        using var scope = NewDisposeScope();
        var flat = features.reshape(-1, d); // [H*W,D]
        if (count == 0)
        {
            var zero = flat.sum().mul(Scalars.Of(0.0));
            if (projection.Weight is not null) zero = zero.add(projection.Weight.sum(), Scalars.Of(0.0));
            return zero.MoveToOuterDisposeScope();
        }
        return Hinge(flat, indices, valid, count, projection, margin).MoveToOuterDisposeScope();
    }

    /// <summary>mean over (valid) triplets of max(0, ||W a - W p||^2 - ||W a - W n||^2 + margin).</summary>
    private static Tensor Hinge(Tensor flat, Tensor idx, Tensor? valid, int t, TripletProjection projection, double margin)
    {
        var z = projection.forward(flat.index_select(0, idx).sigmoid()); // [3T,D]
        var za = z.narrow(0, 0, t);      // [T,D]
        var zp = z.narrow(0, t, t);      // [T,D]
        var zn = z.narrow(0, 2 * t, t);  // [T,D]
        var dp = za.sub(zp).Square().sum(1); // [T]
        var dn = za.sub(zn).Square().sum(1); // [T]
        var hinge = dp.sub(dn).add(Scalars.Of(margin), Scalars.One).clamp_min(Scalars.Of(0.0)); // [T]
        if (valid is null) return hinge.mean();
        return hinge.mul(valid).sum().div(valid.sum().clamp_min(Scalars.One));
    }

    private static void CheckRange(int[] idx, long pixels, string name)
    {
        foreach (var i in idx)
            if (i < 0 || i >= pixels)
                throw new ArgumentException($"TripletLoss: {name} pixel index {i} is outside the image (0..{pixels - 1}).", name);
    }
}
