namespace UniCLift.Compute.Losses;

using static TorchSharp.torch;

/// <summary>
/// L_3D: sum_i sum_{j in N(i)} ||v_i - v_j||^2 over a sampled <see cref="NeighbourGraph"/>, normalised as the
/// mean over the graph's pairs (so the weight 0.1 does not depend on sample size or density).
/// Means are not trained by this loss: the graph is built from a detached CPU copy.
/// </summary>
public static class SmoothnessLoss
{
    /// <summary><paramref name="embeddings"/> [N,D] raw per-Gaussian embeddings; returns a scalar (0 attached when the graph is empty).</summary>
    public static Tensor Compute(Tensor embeddings, NeighbourGraph graph, SmoothnessLossOptions? options = null)
    {
        options ??= SmoothnessLossOptions.Default;
        if (embeddings.dim() != 2)
            throw new ArgumentException($"SmoothnessLoss expects embeddings [N,D]; got {RenderLoss.Shape(embeddings)}.", nameof(embeddings));
        long n = embeddings.shape[0];
        using var scope = NewDisposeScope();
        if (graph.PairCount == 0)
            return embeddings.sum().mul(Scalars.Of(0.0)).MoveToOuterDisposeScope();
        var (si, ti, max) = graph.Indices(embeddings.device); // [P], [P] (owned by the graph)
        if (max >= n)
            throw new ArgumentException($"SmoothnessLoss: the graph refers to Gaussian {max} but there are {n}; rebuild it after densification.", nameof(graph));
        var vi = embeddings.index_select(0, si); // [P,D]
        var vj = embeddings.index_select(0, ti); // [P,D]
        if (options.UseSigmoid)
        {
            vi = vi.sigmoid();
            vj = vj.sigmoid();
        }
        return vi.sub(vj).Square().sum(1).mean().MoveToOuterDisposeScope();
    }
}
