namespace UniCLift.Tests.Training;

using UniCLift.Compute.Scenes;
using UniCLift.Compute.Training;
using UniCLift.Tests.IO;

public sealed class InitialModelsTests
{
    [Fact]
    public void DepthBackProjectionTakesEachPixelAtMostOnce()
    {
        using var dir = new TempDir();
        var written = TinyScenes.Write(dir, views: 4, width: 24, height: 18);
        File.Delete(written.PointCloudPath!);
        var scene = PanopticLiftingLayout.Read(dir.Path);
        Assert.Null(scene.PointCloudPath);
        using var data = TrainingData.Load(scene);

        // Asking for far more points than the depth maps have pixels gives each valid pixel once, not duplicates.
        var (positions, colors) = InitialModels.InitialPoints(scene, data, new DeterministicRandom(3), maxPoints: 100_000);
        int n = positions.Length / 3, pixels = scene.TrainViews.Count * 24 * 18;
        Assert.Equal(n * 3, colors.Length);
        Assert.InRange(n, 1, pixels);
        var distinct = Enumerable.Range(0, n).Select(i => (positions[3 * i], positions[3 * i + 1], positions[3 * i + 2])).Distinct().Count();
        Assert.Equal(n, distinct);

        // A budget below the pixel count is met with distinct pixels too.
        var (few, _) = InitialModels.InitialPoints(scene, data, new DeterministicRandom(3), maxPoints: 40 * scene.TrainViews.Count);
        Assert.Equal(40 * scene.TrainViews.Count, few.Length / 3);
    }
}
