namespace UniCLift.Compute.Losses;

using TorchSharp;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>
/// What <see cref="ClusterLoss"/> needs of one view's mask, on the features' device: the pixels that take part, the
/// compact segment index of each (0..K-1, in order of first appearance), the pixel count per segment, the pull's
/// per-segment weights and the push hinge's off-diagonal mask. With every pixel in and no sampling, all of it is a
/// constant of the view: a trainer builds it once per view and keeps it, so a step neither walks the mask on the host
/// nor uploads its indices (at 640x480 that walk and the 5 MB copy were most of a CUDA step's host time).
/// </summary>
public sealed class ClusterTargets : IDisposable
{
    private readonly List<Tensor> _owned = new();
    private readonly Dictionary<double, Tensor> _pullWeights = new();
    private Tensor? _offDiagonal, _counts, _countColumn;

    private ClusterTargets(Tensor? pixels, Tensor segments, long[] counts, long viewPixels, Device device, ScalarType dtype)
    {
        Pixels = pixels;
        Segments = segments;
        Counts = counts;
        ViewPixels = viewPixels;
        Device = device;
        DType = dtype;
        if (pixels is not null) _owned.Add(pixels);
        _owned.Add(segments);
    }

    /// <summary>[P] int64 flat pixel indices (y * W + x) of the pixels that take part; null when every pixel of the view
    /// does, in order (the features are then used as they are, with no gather).</summary>
    public Tensor? Pixels { get; }
    /// <summary>[P] int64: each taking pixel's segment, 0..K-1.</summary>
    public Tensor Segments { get; }
    /// <summary>Pixels per segment (host), K entries.</summary>
    public long[] Counts { get; }
    public int SegmentCount => Counts.Length;

    /// <summary>The most segments one view's targets may hold: L_cluster's push term is [K, K, D] (805 MB a copy at
    /// 4,096 and D 12).</summary>
    public const int MaxSegments = 4096;
    /// <summary>Pixels that take part (P).</summary>
    public long PixelCount => Pixels is null ? (Counts.Length == 0 ? 0 : ViewPixels) : Pixels.shape[0];
    /// <summary>H x W of the view the targets were made from.</summary>
    public long ViewPixels { get; }
    public Device Device { get; }
    public ScalarType DType { get; }

    /// <summary>Selects the pixels of <paramref name="mask"/> (a seeded sample when <see cref="ClusterLossOptions.MaxPixels"/>
    /// is below the valid count: then <paramref name="rng"/> is required and the targets hold for one step only) and puts
    /// their indices on <paramref name="device"/>. The tensors are not in the caller's dispose scope: dispose the targets.</summary>
    public static ClusterTargets Build(LabelMap mask, ClusterLossOptions options, Random? rng, Device device, ScalarType dtype)
    {
        var (pixels, segments, counts) = ClusterLoss.SelectPixels(mask.Labels, options, rng);
        bool everyPixel = pixels.Length == mask.Labels.Length; // no sampling and nothing ignored: pixels[i] == i
        using var scope = NewDisposeScope();
        var pix = everyPixel || pixels.Length == 0 ? null : DeviceUpload.Of(pixels, device).DetachFromDisposeScope();
        var seg = DeviceUpload.Of(segments, device).DetachFromDisposeScope();
        return new ClusterTargets(pix, seg, counts, mask.Labels.Length, device, dtype);
    }

    /// <summary>Whether the targets of <paramref name="mask"/> under <paramref name="options"/> are the same every step
    /// (no sampling), so they can be built once and kept.</summary>
    public static bool IsConstant(LabelMap mask, ClusterLossOptions options) =>
        options.MaxPixels <= 0 || mask.Labels.Length <= options.MaxPixels;

    /// <summary>[K] pixel counts in the loss's dtype.</summary>
    internal Tensor CountTensor() => _counts ??= Own(DeviceUpload.Of(Counts, Device).to(DType));

    /// <summary>[K,1] pixel counts in the loss's dtype (divides [K,D] sums into centroids).</summary>
    internal Tensor CountColumn() => _countColumn ??= Own(CountTensor().unsqueeze(1));

    /// <summary>[K] the pull's weight per segment for size exponent a: n_k^-a / sum_j n_j^(1-a)
    /// (<see cref="ClusterLossOptions.PullSizeExponent"/>).</summary>
    internal Tensor PullWeights(double exponent)
    {
        if (!double.IsFinite(exponent) || exponent < 0 || exponent > 1)
            throw new ArgumentOutOfRangeException(nameof(exponent), exponent, "ClusterLoss: PullSizeExponent must lie in [0, 1].");
        if (_pullWeights.TryGetValue(exponent, out var cached)) return cached;
        var weights = new float[Counts.Length];
        double total = 0;
        for (int i = 0; i < Counts.Length; i++)
            total += Math.Pow(Counts[i], 1 - exponent);
        for (int i = 0; i < Counts.Length; i++)
            weights[i] = (float)(Math.Pow(Counts[i], -exponent) / total);
        return _pullWeights[exponent] = Own(DeviceUpload.Of(weights, Device).to(DType));
    }

    /// <summary>[K,K] ones with a zero diagonal.</summary>
    internal Tensor OffDiagonal()
    {
        if (_offDiagonal is not null) return _offDiagonal;
        int k = Counts.Length;
        return _offDiagonal = Own(torch.ones(k, k, DType, Device).sub(torch.eye(k, dtype: DType, device: Device)));
    }

    private Tensor Own(Tensor t)
    {
        t = t.DetachFromDisposeScope();
        _owned.Add(t);
        return t;
    }

    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
        _pullWeights.Clear();
    }
}
