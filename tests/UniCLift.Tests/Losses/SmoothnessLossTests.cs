namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Losses;
using static TorchSharp.torch;

public sealed class SmoothnessLossTests
{
    public SmoothnessLossTests() => TorchRuntime.EnsureInitialised();

    // 0 (0,0,0); 1 (0.05,0,0): d2 0.0025; 2 (0.2,0,0): far from all; 3 (0.06,0.07,0): d2 0.0085 to 0, 0.005 to 1;
    // 4 (-0.09,0,0): d2 0.0081 to 0 (another grid cell, negative side), 0.0196 to 1.
    private static readonly float[] Means = { 0, 0, 0, 0.05f, 0, 0, 0.2f, 0, 0, 0.06f, 0.07f, 0, -0.09f, 0, 0 };

    [Fact]
    public void GraphFindsPairsWithinTauNearestFirstAndCaps()
    {
        var g = NeighbourGraph.Build(Means, 5, 0.01, 16, new[] { 0, 2, 3 });
        Assert.Equal(new[] { 0, 0, 0, 3, 3 }, g.Sources);
        Assert.Equal(new[] { 1, 4, 3, 1, 0 }, g.Targets);
        var capped = NeighbourGraph.Build(Means, 5, 0.01, 2, new[] { 0 });
        Assert.Equal(new[] { 1, 4 }, capped.Targets);
    }

    [Fact]
    public void GraphMatchesBruteForceOnRandomPoints()
    {
        var rng = new Random(2);
        int n = 600;
        var means = Enumerable.Range(0, 3 * n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        const double tau = 0.004;
        var sample = NeighbourGraph.SampleIndices(n, 200, new Random(8));
        var g = NeighbourGraph.Build(means, n, tau, 1000, sample);
        var expected = new List<(int, int)>();
        foreach (int i in sample)
            for (int j = 0; j < n; j++)
            {
                if (j == i) continue;
                float dx = means[3 * i] - means[3 * j], dy = means[3 * i + 1] - means[3 * j + 1], dz = means[3 * i + 2] - means[3 * j + 2];
                if (dx * dx + dy * dy + dz * dz <= tau) expected.Add((i, j));
            }
        Assert.True(expected.Count > 50);
        Assert.Equal(expected.OrderBy(p => p).ToArray(), g.Sources.Zip(g.Targets).OrderBy(p => p).ToArray());
    }

    [Fact]
    public void CappedGraphKeepsTheNearestInOrderWithTiesByIndexAndAGridServesManySamples()
    {
        // A lattice with spacing 0.03 (many equal distances) shuffled, so ties are broken by index alone.
        var rng = new Random(5);
        var points = new List<float[]>();
        for (int x = 0; x < 12; x++)
            for (int y = 0; y < 12; y++)
                for (int z = 0; z < 6; z++)
                    points.Add(new[] { x * 0.03f, y * 0.03f, z * 0.03f });
        var shuffled = points.OrderBy(_ => rng.Next()).ToArray();
        int n = shuffled.Length;
        var means = shuffled.SelectMany(p => p).ToArray();
        const double tau = 0.01;
        const int cap = 7;
        var grid = NeighbourGrid.Build(means, n, tau);
        for (int round = 0; round < 3; round++)
        {
            var sample = NeighbourGraph.SampleIndices(n, 150, new Random(round));
            var g = grid.Query(cap, sample);
            var expected = new List<(int, int)>();
            foreach (int i in sample)
            {
                var near = new List<(float D2, int J)>();
                for (int j = 0; j < n; j++)
                {
                    if (j == i) continue;
                    float dx = means[3 * i] - means[3 * j], dy = means[3 * i + 1] - means[3 * j + 1], dz = means[3 * i + 2] - means[3 * j + 2];
                    float d2 = dx * dx + dy * dy + dz * dz;
                    if (d2 <= tau) near.Add((d2, j));
                }
                Assert.True(near.Count > cap); // the cap bites everywhere
                expected.AddRange(near.OrderBy(p => p.D2).ThenBy(p => p.J).Take(cap).Select(p => (i, p.J)));
            }
            Assert.Equal(expected.ToArray(), g.Sources.Zip(g.Targets).ToArray()); // same pairs, same order
            var rebuilt = NeighbourGraph.Build(means, n, tau, cap, sample);
            Assert.Equal(g.Targets, rebuilt.Targets);
        }
    }

    [Fact]
    public void GraphIndicesAreMadeOncePerDevice()
    {
        // A step asks for the indices on the embeddings' device; on a GPU a new tensor is a blocking upload, so the graph
        // keeps the one it made (a device compared by reference, as Tensor.device makes a new one each call, remade it
        // every step).
        using var g = NeighbourGraph.Build(Means, 5, 0.01, 16, new[] { 0, 2, 3 });
        using var e = torch.zeros(5, 12);
        var (s1, t1, max) = g.Indices(e.device);
        var (s2, t2, _) = g.Indices(e.device);
        var (s3, _, _) = g.Indices(torch.CPU);
        Assert.Same(s1, s2);
        Assert.Same(t1, t2);
        Assert.Same(s1, s3);
        Assert.Equal(4, max);
        Assert.Equal(new long[] { 0, 0, 0, 3, 3 }, s1.data<long>().ToArray());
    }

    [Fact]
    public void SampleIndicesAreDistinctAndSeeded()
    {
        var a = NeighbourGraph.SampleIndices(1000, 100, new Random(1));
        Assert.Equal(100, a.Distinct().Count());
        Assert.All(a, i => Assert.InRange(i, 0, 999));
        Assert.Equal(a, NeighbourGraph.SampleIndices(1000, 100, new Random(1)));
        Assert.Equal(Enumerable.Range(0, 5), NeighbourGraph.SampleIndices(5, 10, new Random(1)));
    }

    [Fact]
    public void LossIsTheMeanOverPairs()
    {
        using var scope = NewDisposeScope();
        var graph = NeighbourGraph.Build(Means, 5, 0.01, 2, new[] { 0, 2 }); // pairs (0,1), (0,4)
        var v = torch.tensor(new float[] { 1, 0, 0, 0, 5, 5, 7, 7, 1, 2 }, new long[] { 5, 2 }).requires_grad_(true);
        // raw: ||(1,0)-(0,0)||^2 = 1, ||(1,0)-(1,2)||^2 = 4 -> 2.5
        Assert.Equal(2.5, SmoothnessLoss.Compute(v, graph, new SmoothnessLossOptions { UseSigmoid = false }).item<float>(), 5);
        double s1 = 1 / (1 + Math.Exp(-1)), s2 = 1 / (1 + Math.Exp(-2));
        double expected = ((s1 - 0.5) * (s1 - 0.5) + (0.5 - s2) * (0.5 - s2)) / 2;
        var loss = SmoothnessLoss.Compute(v, graph);
        Assert.Equal(expected, loss.item<float>(), 5);
        loss.backward();
        var g = v.grad!.data<float>().ToArray();
        Assert.Equal(0f, g[4]); // Gaussian 2 has no pair
        Assert.True(g[0] > 0); // v0 is pulled down toward v1
    }

    [Fact]
    public void StaleGraphIsRejected()
    {
        using var scope = NewDisposeScope();
        var graph = NeighbourGraph.Build(Means, 5, 0.01, 2, new[] { 0 });
        var ex = Assert.Throws<ArgumentException>(() => SmoothnessLoss.Compute(torch.zeros(3, 2), graph));
        Assert.Contains("rebuild", ex.Message);
    }
}
