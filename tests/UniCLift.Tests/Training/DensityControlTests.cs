namespace UniCLift.Tests.Training;

using UniCLift.Compute.Training;
using static TorchSharp.torch;

/// <summary>Density control's Gaussian budget (<see cref="DensitySettings.MaxGaussians"/>).</summary>
public class DensityControlTests
{
    private const int N = 10;

    /// <summary>Ten small, opaque Gaussians at x = 0..9 (clones, not splits, in a scene of extent 100; none pruned).</summary>
    private static GaussianModel Model()
    {
        var means = new float[N * 3];
        for (int i = 0; i < N; i++) means[3 * i] = i;
        var rotations = new float[N * 4];
        for (int i = 0; i < N; i++) rotations[4 * i] = 1;
        return GaussianModel.Create(means, Enumerable.Repeat(-4f, N * 3).ToArray(), rotations, Enumerable.Repeat(2f, N).ToArray(),
            new float[N * 3], new float[N * 15 * 3], new float[N * 4], 3, 4, new GaussianLearningRates(), 1, false);
    }

    /// <summary>Gaussians 2, 3, 5, 7, 8 and 9 pass the threshold, 9 with the largest gradient, then 3, 7, 2, 8, 5.</summary>
    private static readonly float[] Gradients = [0, 0.0001f, 0.0005f, 0.0009f, 0, 0.0003f, 0, 0.0008f, 0.0004f, 0.001f];

    private static (int Count, float[] NewX) Densify(int maxGaussians)
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        using var density = new DensityControl(new DensitySettings(MaxGaussians: maxGaussians), N);
        var grad = zeros(N, 2);
        grad[.., 0] = tensor(Gradients);
        density.Accumulate(grad, ones(N));
        density.DensifyAndPrune(model, sceneExtent: 100, pruneBigScreen: false, new DeterministicRandom(1));
        var x = model.Read(GaussianModel.Means).Where((_, i) => i % 3 == 0).ToArray();
        return (model.Count, x[N..].Order().ToArray());
    }

    [Fact]
    public void UnderTheBudgetEveryGaussianPastTheThresholdIsCloned()
    {
        var (count, added) = Densify(1_000_000);
        Assert.Equal(16, count);
        Assert.Equal([2f, 3, 5, 7, 8, 9], added);
    }

    [Fact]
    public void AtTheBudgetTheLargestGradientsGoFirstAndTheCountStopsThere()
    {
        var (count, added) = Densify(13);
        Assert.Equal(13, count);
        Assert.Equal([3f, 7, 9], added);
        var exact = Densify(16);                                   // room for every candidate: all of them
        Assert.Equal(16, exact.Count);
        Assert.Equal([2f, 3, 5, 7, 8, 9], exact.NewX);
        Assert.Equal(N, Densify(N).Count);
        Assert.Equal(N, Densify(4).Count); // a cloud that starts over its budget only prunes
    }
}
