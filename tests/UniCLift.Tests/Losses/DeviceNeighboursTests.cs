namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Losses;
using static TorchSharp.torch;

/// <summary>The tensor-operation neighbour query (what a GPU trainer runs) against the host grid, on CPU tensors.</summary>
public sealed class DeviceNeighboursTests
{
    public DeviceNeighboursTests() => TorchRuntime.EnsureInitialised();

    [Theory]
    [InlineData(3000, 16, 0.01, 1L << 25)] // one chunk
    [InlineData(3000, 16, 0.01, 7000)]     // two rows a chunk
    [InlineData(2000, 4, 0.05, 1L << 25)]  // dense: the cap of 4 binds for most samples
    public void GivesTheGridsPairsInTheGridsOrder(int n, int k, double tau, long chunk)
    {
        var rng = new Random(n + k);
        var means = new float[3 * n];
        for (int i = 0; i < n; i++)
        {
            // Clusters (many neighbours within tau) and scattered points (few or none).
            bool clustered = i % 3 != 0;
            for (int c = 0; c < 3; c++)
                means[3 * i + c] = clustered ? (float)(0.3 * (i % 7) + 0.05 * rng.NextDouble()) : (float)rng.NextDouble() * 3;
        }
        for (int i = 0; i < 5; i++) Array.Copy(means, 3 * (10 + i), means, 3 * (500 + i), 3); // a few exact duplicates: distance ties
        var sample = NeighbourGraph.SampleIndices(n, 700, new Random(3));
        var grid = NeighbourGrid.Build(means, n, tau).Query(k, sample);
        using var scope = NewDisposeScope();
        var device = DeviceNeighbours.Query(torch.tensor(means).reshape(n, 3), sample, k, tau, chunk);
        Assert.True(grid.PairCount > sample.Length, $"only {grid.PairCount} pairs: the case tests nothing");
        Assert.Equal(grid.Sources, device.Sources);
        Assert.Equal(grid.Targets, device.Targets);
    }

    [Fact]
    public void BadInputIsRefusedWithTheValue()
    {
        using var scope = NewDisposeScope();
        var means = torch.zeros(10, 3);
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => DeviceNeighbours.Query(means, [10], 4, 0.01)).Message);
        Assert.Contains("[10,2]", Assert.Throws<ArgumentException>(() => DeviceNeighbours.Query(torch.zeros(10, 2), [1], 4, 0.01)).Message);
        Assert.Empty(DeviceNeighbours.Query(means, [], 4, 0.01).Sources);
    }
}
