namespace UniCLift.Compute.Losses;

/// <summary>
/// Sampled neighbour pairs for the 3D smoothness loss: for each sampled Gaussian i, up to maxNeighbours
/// Gaussians j != i with ||mu_i - mu_j||^2 &lt;= tau (the nearest ones when there are more).
/// Built in C# on a CPU copy of the means with a uniform grid hash of cell size sqrt(tau), so only the
/// 27 cells around i are searched (<see cref="NeighbourGrid"/>). Plain arrays: the trainer may cache it and rebuild every
/// K iterations.
/// </summary>
public sealed class NeighbourGraph : IDisposable
{
    private TorchSharp.torch.Tensor? _src, _dst;
    private int _maxIndex = -1;

    /// <summary>The pairs as int64 index tensors [P] on a device, made once per graph (a step on a GPU then uploads
    /// nothing), and the largest Gaussian index they name.</summary>
    internal (TorchSharp.torch.Tensor Sources, TorchSharp.torch.Tensor Targets, int MaxIndex) Indices(TorchSharp.torch.Device device)
    {
        if (_src is null || !Cuda.KernelHost.SameDevice(_src.device, device))
        {
            _src?.Dispose(); _dst?.Dispose();
            var s = new long[Sources.Length]; var t = new long[Targets.Length];
            _maxIndex = -1;
            for (int p = 0; p < s.Length; p++)
            {
                s[p] = Sources[p]; t[p] = Targets[p];
                _maxIndex = Math.Max(_maxIndex, Math.Max(Sources[p], Targets[p]));
            }
            _src = DeviceUpload.Of(s, device).DetachFromDisposeScope(); // pinned and non-blocking on a GPU
            _dst = DeviceUpload.Of(t, device).DetachFromDisposeScope();
        }
        return (_src, _dst!, _maxIndex);
    }

    public void Dispose()
    {
        _src?.Dispose(); _dst?.Dispose();
        _src = _dst = null;
    }

    public NeighbourGraph(int[] sources, int[] targets)
    {
        if (sources.Length != targets.Length)
            throw new ArgumentException($"NeighbourGraph: {sources.Length} sources but {targets.Length} targets.");
        Sources = sources;
        Targets = targets;
    }

    /// <summary>Pair p connects Gaussian Sources[p] to Targets[p]; grouped by source in sample order, nearest first.</summary>
    public int[] Sources { get; }
    public int[] Targets { get; }
    public int PairCount => Sources.Length;

    /// <summary>METHOD.md's tau.</summary>
    public const double DefaultTau = 0.01;

    /// <param name="means">xyz of n Gaussians, [n*3] row-major (a detached CPU copy).</param>
    /// <param name="n">Number of Gaussians.</param>
    /// <param name="tau">Squared-distance threshold.</param>
    /// <param name="maxNeighbours">Cap per sampled Gaussian (the nearest are kept).</param>
    /// <param name="sampleIndices">The Gaussians i whose neighbourhoods are searched.</param>
    public static NeighbourGraph Build(float[] means, int n, double tau, int maxNeighbours, int[] sampleIndices) =>
        NeighbourGrid.Build(means, n, tau).Query(maxNeighbours, sampleIndices);

    /// <summary>Up to <paramref name="count"/> distinct Gaussian indices drawn uniformly (all of them if count &gt;= n), seeded.</summary>
    public static int[] SampleIndices(int n, int count, Random rng)
    {
        if (count >= n) return Enumerable.Range(0, n).ToArray();
        // Floyd's algorithm: O(count) memory, distinct, uniform.
        var chosen = new HashSet<int>();
        var result = new int[count];
        int c = 0;
        for (int j = n - count; j < n; j++)
        {
            int t = rng.Next(0, j + 1);
            int pick = chosen.Add(t) ? t : j;
            if (pick == j) chosen.Add(j);
            result[c++] = pick;
        }
        return result;
    }

    /// <summary>The squared-distance threshold of a query: positive.</summary>
    internal static void CheckTau(double tau)
    {
        if (!(tau > 0)) throw new ArgumentException($"NeighbourGraph: tau must be > 0, got {tau}.", nameof(tau));
    }

    /// <summary>A query's cap and samples: at least one neighbour, every sample a Gaussian of the n.</summary>
    internal static void CheckQuery(int maxNeighbours, int[] sampleIndices, long n)
    {
        if (maxNeighbours < 1) throw new ArgumentException($"NeighbourGraph: maxNeighbours must be >= 1, got {maxNeighbours}.", nameof(maxNeighbours));
        foreach (var i in sampleIndices)
            if (i < 0 || i >= n) throw new ArgumentException($"NeighbourGraph: sample index {i} is outside 0..{n - 1}.", nameof(sampleIndices));
    }

    internal static int Cell(float v, double cell) => (int)Math.Clamp(Math.Floor(v / cell), -(1 << 20) + 2, (1 << 20) - 2);

    internal static long Key(int x, int y, int z) =>
        ((long)(x + (1 << 20)) << 42) | ((long)(y + (1 << 20)) << 21) | (long)(z + (1 << 20));
}
