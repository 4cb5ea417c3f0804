namespace UniCLift.Compute.Losses;

using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// L_3D's neighbour query where the means live, with tensor operations: for each sampled Gaussian, the squared distances
/// to every Gaussian (in row chunks that bound the temporary memory), the nearest candidates by topk, then the exact
/// order of <see cref="NeighbourGrid.Query"/> (d2 ascending, ties by index) among them and the tau cut. The squares and
/// sums are the grid's float32 operations in the grid's order, so the pairs are the grid's; the one difference is a run
/// of equal distances longer than the candidate slack at the k-th place, where the grid keeps the lowest indices and
/// this keeps whichever topk returned. On a GPU the means are not copied to the host (the pairs, a few hundred KB,
/// come back every rebuild: a synchronisation every SmoothGraphRefresh steps); the CPU path keeps the grid, which is
/// faster there.
/// </summary>
public static class DeviceNeighbours
{
    /// <summary>Extra candidates beyond k taken from topk before the exact ordering.</summary>
    public const int Slack = 8;
    /// <summary>Elements per temporary [rows, N] matrix (64 MB of float32; a chunk holds about six at once).</summary>
    public const long ChunkElements = 16L << 20;

    /// <param name="means">[N,3] float32 Gaussian means (any device; not modified).</param>
    /// <param name="sampleIndices">The Gaussians whose neighbourhoods are searched (as <see cref="NeighbourGrid.Query"/>).</param>
    /// <param name="chunkElements">Elements per temporary [rows, N] matrix.</param>
    public static NeighbourGraph Query(Tensor means, int[] sampleIndices, int maxNeighbours, double tau, long chunkElements = ChunkElements)
    {
        if (means.dim() != 2 || means.shape[1] != 3 || means.dtype != ScalarType.Float32)
            throw new ArgumentException($"DeviceNeighbours: means must be [N,3] float32; got {RenderLoss.Shape(means)} {means.dtype}.", nameof(means));
        long n = means.shape[0];
        NeighbourGraph.CheckQuery(maxNeighbours, sampleIndices, n);
        NeighbourGraph.CheckTau(tau);
        int samples = sampleIndices.Length;
        if (samples == 0 || n < 2) return new NeighbourGraph([], []);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var device = means.device;
        var m = means.detach();
        var x = m.select(1, 0); var y = m.select(1, 1); var z = m.select(1, 2); // [N]
        int take = (int)Math.Min(n, maxNeighbours + Slack + 1); // + 1: the sample itself is among its nearest
        var sample = DeviceUpload.Of(sampleIndices.Select(i => (long)i).ToArray(), device); // [S]
        int rows = (int)Math.Clamp(chunkElements / n, 1, samples);
        var candD2 = new List<Tensor>(); var candJ = new List<Tensor>();
        for (int r0 = 0; r0 < samples; r0 += rows)
        {
            int r = Math.Min(rows, samples - r0);
            using var chunk = NewDisposeScope(); // this chunk's [r,N] temporaries go before the next chunk's
            var si = sample.narrow(0, r0, r);
            // dx = x_j - x_i, as the grid: d2 = (dx*dx + dy*dy) + dz*dz in float32, elementwise.
            var dx = x.unsqueeze(0).sub(x.index_select(0, si).unsqueeze(1)); // [r,N]
            var d2 = dx.mul(dx);
            var dy = y.unsqueeze(0).sub(y.index_select(0, si).unsqueeze(1));
            d2 = d2.add_(dy.mul(dy), Scalars.One);
            var dz = z.unsqueeze(0).sub(z.index_select(0, si).unsqueeze(1));
            d2 = d2.add_(dz.mul(dz), Scalars.One);
            var (vals, idx) = d2.topk(take, dim: 1, largest: false, sorted: false); // [r,take]
            candD2.Add(vals.MoveToOuterDisposeScope()); candJ.Add(idx.MoveToOuterDisposeScope());
        }
        var allD2 = torch.cat(candD2, 0).cpu().data<float>().ToArray(); // the one read-back
        var allJ = torch.cat(candJ, 0).cpu().data<long>().ToArray();

        // Exact (d2, j) order among the candidates, the tau cut and the sample itself left out, as the grid.
        var sources = new List<int>(samples * maxNeighbours);
        var targets = new List<int>(samples * maxNeighbours);
        var order = new int[take];
        for (int s = 0; s < samples; s++)
        {
            int i = sampleIndices[s], baseIdx = s * take;
            for (int c = 0; c < take; c++) order[c] = c;
            Array.Sort(order, (a, b) =>
            {
                float da = allD2[baseIdx + a], db = allD2[baseIdx + b];
                return da != db ? da.CompareTo(db) : allJ[baseIdx + a].CompareTo(allJ[baseIdx + b]);
            });
            int kept = 0;
            foreach (int c in order)
            {
                if (kept == maxNeighbours) break;
                int j = (int)allJ[baseIdx + c];
                float d2 = allD2[baseIdx + c];
                if (j == i || !(d2 <= tau)) continue; // in double, as the grid
                sources.Add(i); targets.Add(j); kept++;
            }
        }
        return new NeighbourGraph(sources.ToArray(), targets.ToArray());
    }
}
