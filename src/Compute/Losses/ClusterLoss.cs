namespace UniCLift.Compute.Losses;

using TorchSharp;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>
/// Contrastive clustering loss of UniC-Lift on one view: Vh = sigmoid(V); segments are the mask ids;
/// m_k = mean of Vh over segment k; loss = pull - PushWeight * push with
/// pull = sum_k sum_{u in k} ||Vh(u) - m_k||^2 and push = sum_{i != j} ||m_i - m_j||^2
/// (normalised per <see cref="ClusterNormalisation"/>; the pull as a weighted mean over pixels by segment size,
/// <see cref="ClusterLossOptions.PullSizeExponent"/>). Negative mask ids are void and always ignored.
/// Cost O(P * D + K^2 * D) with P sampled pixels and K segments: index_add scatter, no per-pixel C# on tensors.
/// </summary>
public static class ClusterLoss
{
    /// <summary>
    /// Loss for rendered features <paramref name="features"/> [H,W,D] (pre-sigmoid) and the view's mask.
    /// <paramref name="rng"/> draws the pixel sample when the view has more valid pixels than MaxPixels;
    /// it may be null only when no sampling is needed (MaxPixels &lt;= 0).
    /// Returns a scalar; with no valid pixel it returns 0 still attached to the graph.
    /// </summary>
    public static Tensor Compute(Tensor features, LabelMap mask, ClusterLossOptions? options = null, Random? rng = null)
    {
        options ??= ClusterLossOptions.Default;
        if (features.dim() != 3)
            throw new ArgumentException($"ClusterLoss expects features [H,W,D]; got {RenderLoss.Shape(features)}.", nameof(features));
        if (features.shape[0] != mask.Height || features.shape[1] != mask.Width)
            throw new ArgumentException(
                $"ClusterLoss: mask is {mask.Width}x{mask.Height} (WxH) but features are {RenderLoss.Shape(features)} ([H,W,D]).", nameof(mask));
        if (mask.Labels.Length != mask.Width * mask.Height)
            throw new ArgumentException($"ClusterLoss: mask has {mask.Labels.Length} labels, expected {mask.Width}*{mask.Height}.", nameof(mask));

        using var targets = ClusterTargets.Build(mask, options, rng, features.device, features.dtype);
        return Compute(features, targets, options);
    }

    /// <summary>
    /// The loss for targets made from the view's mask beforehand (<see cref="ClusterTargets.Build"/>): the same value
    /// as <see cref="Compute(Tensor, LabelMap, ClusterLossOptions?, Random?)"/> with no host work on the mask. The
    /// targets' device and dtype must be the features'. <paramref name="fused"/>: where the CUDA kernels run, null
    /// (default) uses <see cref="FusedClusterStats"/> once its self-check has agreed on the device, false always the
    /// TorchSharp chain, true always the kernels; on the CPU, null or true <see cref="CpuClusterStats"/> for float32
    /// features (unless <c>UNICLIFT_FUSED_CLUSTER=0</c>), false the chain.
    /// </summary>
    public static Tensor Compute(Tensor features, ClusterTargets targets, ClusterLossOptions? options = null, bool? fused = null)
    {
        options ??= ClusterLossOptions.Default;
        if (features.dim() != 3)
            throw new ArgumentException($"ClusterLoss expects features [H,W,D]; got {RenderLoss.Shape(features)}.", nameof(features));
        if (features.shape[0] * features.shape[1] != targets.ViewPixels)
            throw new ArgumentException($"ClusterLoss: the targets were made from a mask of {targets.ViewPixels} pixels but features are {RenderLoss.Shape(features)}.", nameof(targets));
        if (targets.DType != features.dtype || targets.Device.ToString() != features.device.ToString())
            throw new ArgumentException($"ClusterLoss: targets are {targets.DType} on {targets.Device}, features {features.dtype} on {features.device}.", nameof(targets));
        long d = features.shape[2];
        // The fused statistics' autograd function keeps its inputs for its backward, so they (the flattened features
        // among them) are made in the caller's dispose scope, as its outputs are, not in this call's.
        var flat = features.reshape(-1, d); // [H*W,D]
        (Tensor Centroids, Tensor Spread)? stats = null;
        if (targets.PixelCount > 0 && fused != false)
        {
            if (Cuda.KernelHost.Runs(features.device))
            {
                if (fused == true || FusedClusterStats.Applies(features)) stats = FusedClusterStats.Compute(flat, targets);
            }
            else if (CpuClusterStats.Applies(features)) stats = CpuClusterStats.Compute(flat, targets);
        }
        using var scope = NewDisposeScope();
        if (targets.PixelCount == 0)
            return flat.sum().mul(Scalars.Of(0.0)).MoveToOuterDisposeScope();

        var device = features.device;
        int k = targets.SegmentCount;
        var seg = targets.Segments; // [P] int64
        var cnt = targets.CountTensor(); // [K]

        Tensor centroids, perSegment; // [K,D] segment means of sigmoid(features), [K] sums of squared distances to them
        if (stats is { } fusedStats) (centroids, perSegment) = fusedStats;
        else
        {
            var vh = (targets.Pixels is { } pix ? flat.index_select(0, pix) : flat).sigmoid(); // [P,D]
            var sums = torch.zeros(new long[] { k, d }, features.dtype, device).index_add(0, seg, vh, Scalars.Of(1.0)); // [K,D]
            centroids = sums / cnt.unsqueeze(1); // [K,D]
            var diff = vh.sub(centroids.index_select(0, seg)); // [P,D]
            var sq = diff.Square().sum(1); // [P]
            perSegment = torch.zeros(new long[] { k }, features.dtype, device).index_add(0, seg, sq, Scalars.Of(1.0)); // [K]
        }

        Tensor pull, push;
        var pairDist = centroids.unsqueeze(1).sub(centroids.unsqueeze(0)).Square().sum(2); // [K,K], zero diagonal
        if (options.Normalisation is ClusterNormalisation.Mean or ClusterNormalisation.MeanHingePerSegment)
        {
            pull = perSegment.mul(targets.PullWeights(options.PullSizeExponent)).sum();
            push = k > 1 ? pairDist.sum().div(Scalars.Of(k * (k - 1))) : pairDist.sum().mul(Scalars.Of(0.0));
        }
        else if (options.Normalisation == ClusterNormalisation.PerSegment)
        {
            pull = perSegment.mul(targets.PullWeights(options.PullSizeExponent)).sum();
            push = pairDist.sum().div(Scalars.Of(k));
        }
        else
        {
            pull = perSegment.sum();
            push = pairDist.sum();
        }
        var loss = pull.sub(push.mul(Scalars.Of(options.PushWeight)));
        if (options.PushMargin > 0 && k > 1)
        {
            // sqrt(d^2 + eps): finite gradient where two centroids coincide; the diagonal (i == j) is masked out.
            var dist = pairDist.add(Scalars.Of(1e-8), Scalars.One).sqrt(); // [K,K]
            var hinge = dist.neg().add(Scalars.Of(options.PushMargin), Scalars.One).clamp_min(Scalars.Of(0.0)).Square() // [K,K]
                .mul(targets.OffDiagonal());
            var norm = options.Normalisation switch
            {
                ClusterNormalisation.Mean => k * (k - 1.0),
                ClusterNormalisation.PerSegment or ClusterNormalisation.MeanHingePerSegment => k,
                _ => 1.0,
            };
            loss = loss.add(hinge.sum().div(Scalars.Of(norm)), Scalars.Of(options.PushWeight));
        }
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mask-side preprocessing in C#: the valid pixels (optionally a seeded sample), their compact segment
    /// index 0..K-1 (in order of first appearance in the sample) and the pixel count per segment.
    /// </summary>
    internal static (long[] Pixels, long[] Segments, long[] Counts) SelectPixels(int[] labels, ClusterLossOptions options, Random? rng)
    {
        bool ignoreZero = options.Background == BackgroundMode.Ignore;
        int valid = 0;
        foreach (var l in labels)
            if (l > 0 || (l == 0 && !ignoreZero)) valid++;
        var chosen = new int[valid];
        int n = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            int l = labels[i];
            if (l > 0 || (l == 0 && !ignoreZero)) chosen[n++] = i;
        }
        int take = valid;
        if (options.MaxPixels > 0 && valid > options.MaxPixels)
        {
            if (rng is null)
                throw new ArgumentException($"ClusterLoss: {valid} valid pixels exceed MaxPixels = {options.MaxPixels}, so a seeded Random is required.", nameof(rng));
            take = options.MaxPixels;
            // Partial Fisher-Yates: the first 'take' entries become a uniform sample without replacement.
            for (int i = 0; i < take; i++)
            {
                int j = rng.Next(i, valid);
                (chosen[i], chosen[j]) = (chosen[j], chosen[i]);
            }
        }
        var pixels = new long[take];
        var segments = new long[take];
        var index = new Dictionary<int, int>();
        var counts = new List<long>();
        for (int i = 0; i < take; i++)
        {
            int p = chosen[i];
            pixels[i] = p;
            if (!index.TryGetValue(labels[p], out int s))
            {
                s = counts.Count;
                index[labels[p]] = s;
                counts.Add(0);
            }
            segments[i] = s;
            counts[s]++;
        }
        return (pixels, segments, counts.ToArray());
    }
}
