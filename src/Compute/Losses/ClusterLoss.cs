namespace UniCLift.Compute.Losses;

using TorchSharp;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>How pull and push terms are normalised.</summary>
public enum ClusterNormalisation
{
    /// <summary>
    /// Pull: mean over the pixels of a segment, then mean over segments (every segment weighs the same,
    /// so small objects are not drowned by walls and floors). Push: mean over ordered pairs i != j.
    /// Both terms stay in [0, D] because Vh lies in [0,1]^D, independent of image size and sampling.
    /// </summary>
    Mean,

    /// <summary>
    /// METHOD.md's literal formula: pull = sum over segments and their pixels, push = sum over ordered
    /// pairs i != j. Scales with the number of (sampled) pixels and with K^2.
    /// </summary>
    Sum,

    /// <summary>
    /// Pull as <see cref="Mean"/>; push = for each segment the sum of its squared distances to the other
    /// centroids, averaged over segments (sum over ordered pairs / K). Under <see cref="Mean"/> one pair's
    /// push fades as 1/(K(K-1)) while its pull only fades as 1/K; here both fade as 1/K. Measured: it did not
    /// separate two touching objects that had collapsed onto one code (bench segment seed 1 lift, PQ things 80.5
    /// vs 80.7 with Mean); <see cref="ClusterLossOptions.PushMargin"/> did.
    /// </summary>
    PerSegment,
}

/// <summary>What the mask id 0 (background / unlabelled) means to the clustering loss.</summary>
public enum BackgroundMode
{
    /// <summary>
    /// Id 0 is one more segment: it is pulled together and its centroid is pushed away from the
    /// objects, so background ends up in its own corner of the hypercube (one decoded code).
    /// Default, because Replica/ScanNet masks mark walls/floor/unlabelled as 0 and the decoder
    /// wants one background code. To be measured against <see cref="Ignore"/>.
    /// </summary>
    AsSegment,

    /// <summary>Pixels with id 0 do not take part (neither pull nor push).</summary>
    Ignore,
}

/// <summary>Options of <see cref="ClusterLoss"/>. Defaults are the project's choices for METHOD.md's open points.</summary>
public sealed record ClusterLossOptions
{
    public ClusterNormalisation Normalisation { get; init; } = ClusterNormalisation.Mean;
    public BackgroundMode Background { get; init; } = BackgroundMode.AsSegment;

    /// <summary>At most this many pixels per view take part, drawn uniformly without replacement
    /// from the valid pixels with the caller's seeded <see cref="Random"/>. 0 or less = all pixels.</summary>
    public int MaxPixels { get; init; } = 4096;

    /// <summary>Weight of the push term relative to pull (METHOD.md: 1).</summary>
    public double PushWeight { get; init; } = 1.0;

    /// <summary>
    /// Margin delta of an extra hinge push PushWeight * sum_{i != j} max(0, delta - ||m_i - m_j||)^2 (normalised like
    /// the push), 0 = off (METHOD.md's loss). The squared-distance push has no force between two centroids that
    /// coincide (its gradient on m_i is the sum of m_i - m_j), and neither has the boundary triplet at a = n, so two
    /// objects that fall into one corner of the hypercube early stay there; the hinge pushes close pairs apart with a
    /// force that does not fade with their distance. Distances of centroids in [0,1]^D: 1 = one full bit.
    /// </summary>
    public double PushMargin { get; init; }

    public static ClusterLossOptions Default { get; } = new();
}

/// <summary>
/// Contrastive clustering loss of UniC-Lift on one view: Vh = sigmoid(V); segments are the mask ids;
/// m_k = mean of Vh over segment k; loss = pull - PushWeight * push with
/// pull = sum_k sum_{u in k} ||Vh(u) - m_k||^2 and push = sum_{i != j} ||m_i - m_j||^2
/// (normalised per <see cref="ClusterNormalisation"/>). Negative mask ids are void and always ignored.
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

        var (pixels, segments, counts) = SelectPixels(mask.Labels, options, rng);
        long d = features.shape[2];
        using var scope = NewDisposeScope();
        var flat = features.reshape(-1, d); // [H*W,D]
        if (pixels.Length == 0)
            return flat.sum().mul(Scalars.Of(0.0)).MoveToOuterDisposeScope();

        var device = features.device;
        int k = counts.Length;
        var pix = DeviceUpload.Of(pixels, device);   // [P] int64
        var seg = DeviceUpload.Of(segments, device); // [P] int64
        var cnt = DeviceUpload.Of(counts, device).to(features.dtype); // [K]

        var vh = flat.index_select(0, pix).sigmoid(); // [P,D]
        var sums = torch.zeros(new long[] { k, d }, features.dtype, device).index_add(0, seg, vh, Scalars.Of(1.0)); // [K,D]
        var centroids = sums / cnt.unsqueeze(1); // [K,D]
        var diff = vh.sub(centroids.index_select(0, seg)); // [P,D]
        var sq = diff.Square().sum(1); // [P]
        var perSegment = torch.zeros(new long[] { k }, features.dtype, device).index_add(0, seg, sq, Scalars.Of(1.0)); // [K]

        Tensor pull, push;
        var pairDist = centroids.unsqueeze(1).sub(centroids.unsqueeze(0)).Square().sum(2); // [K,K], zero diagonal
        if (options.Normalisation == ClusterNormalisation.Mean)
        {
            pull = (perSegment / cnt).mean();
            push = k > 1 ? pairDist.sum().div(Scalars.Of(k * (k - 1))) : pairDist.sum().mul(Scalars.Of(0.0));
        }
        else if (options.Normalisation == ClusterNormalisation.PerSegment)
        {
            pull = (perSegment / cnt).mean();
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
                .mul(torch.ones(k, k, features.dtype, device).sub(torch.eye(k, dtype: features.dtype, device: device)));
            var norm = options.Normalisation switch
            {
                ClusterNormalisation.Mean => k * (k - 1.0),
                ClusterNormalisation.PerSegment => k,
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
