namespace UniCLift.Tests.Losses;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Losses;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using static TorchSharp.torch;

public sealed class LossMemoryTests
{
    public LossMemoryTests() => TorchRuntime.EnsureInitialised();

    [Fact]
    public void LiveTensorCountDoesNotGrowOverFiftyLossEvaluations()
    {
        var mask = BoundaryMinerTests.Blocks(24, 18);
        var index = BoundaryMiner.Build(mask);
        var means = Enumerable.Range(0, 300).Select(i => (float)((i * 37 % 101) / 300.0)).ToArray();
        var graph = NeighbourGraph.Build(means, 100, 0.01, 8, Enumerable.Range(0, 100).ToArray());
        var rng = new Random(1);
        var projection = new TripletProjection(12);
        var features = torch.randn(18, 24, 12).requires_grad_(true).DetachFromDisposeScope();
        var embeddings = torch.randn(100, 12).requires_grad_(true).DetachFromDisposeScope();
        var target = torch.rand(18, 24, 3).DetachFromDisposeScope();
        var image = torch.rand(18, 24, 3).requires_grad_(true).DetachFromDisposeScope();

        void Step()
        {
            using var scope = NewDisposeScope();
            var (a, p, n) = BoundaryMiner.SampleTriplets(index, 200, (ulong)rng.NextInt64());
            var loss = RenderLoss.Compute(image, target)
                + 0.1 * ClusterLoss.Compute(features, mask, new ClusterLossOptions { MaxPixels = 200 }, rng)
                + 0.1 * TripletLoss.Compute(features, a, p, n, projection)
                + 0.1 * SmoothnessLoss.Compute(embeddings, graph);
            loss.backward();
            EmbeddingDecoder.DecodePixels(features);
            EmbeddingDecoder.DecodeGaussians(embeddings);
        }

        Step(); // creates the .grad tensors once
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 50; i++) Step();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        foreach (var t in new[] { features, embeddings, target, image }) t.Dispose();
    }
}
