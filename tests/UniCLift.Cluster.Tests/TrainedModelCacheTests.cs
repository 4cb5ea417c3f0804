namespace UniCLift.Cluster.Tests;

using UniCLift.Compute;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Training;
using UniCLift.Grains.Views;
using static TorchSharp.torch;

/// <summary>The silo's model cache: view grains of one model share one copy of its tensors per device, held while any
/// render uses them and released once the model has left the cache and its last render is done.</summary>
public sealed class TrainedModelCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uniclift-model-cache-").FullName;

    public TrainedModelCacheTests() => TorchRuntime.EnsureInitialised();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (string Path, Camera Camera) Model(string name, ulong seed)
    {
        var scene = SceneInspector.Read(TinyScene.Write(Path.Combine(_dir, name)));
        using var trainer = SceneTrainer.Create(scene, new TrainingOptions { Iterations = 5, Seed = seed });
        while (!trainer.IsComplete) trainer.Step();
        var path = Path.Combine(_dir, name + ".ply");
        TrainedGaussians.FromModel(trainer.Model).Write(path);
        return (path, scene.Views[1].Camera);
    }

    [Fact]
    public void Leases_Of_One_Model_On_One_Device_Share_Its_Tensors_And_Render_What_The_Model_Renders()
    {
        var (path, camera) = Model("a", 1);
        var cache = new TrainedModelCache();
        using var first = cache.Lease(path, CPU);
        using var second = cache.Lease(path, CPU);
        Assert.Same(first.Tensors, second.Tensors);
        Assert.Same(first.Model, cache.Get(path));
        Assert.Equal(1, cache.HeldTensorSets);
        var fresh = TrainedGaussians.Read(path).RenderCodes(new GaussianRasterizer(), camera, 0.01f, PixelBlend.Probabilities);
        Assert.Equal(fresh, first.Model.RenderCodes(new GaussianRasterizer(), first.Tensors, camera, 0.01f, PixelBlend.Probabilities));
    }

    [Fact]
    public void Spatial_Parts_Are_Made_Once_Per_Model_And_Options()
    {
        // A batch's --decode SpatialSplit.* settings reach the views: the cache keeps one split per options, so views of
        // one batch share it and a batch with other options does not get the first one's.
        var (path, _) = Model("a", 1);
        var cache = new TrainedModelCache();
        var defaults = cache.Parts(path, SpatialSplitOptions.Default);
        Assert.Same(defaults, cache.Parts(path, SpatialSplitOptions.Default with { })); // equal options, one split
        var other = cache.Parts(path, SpatialSplitOptions.Default with { MinGaussians = 1000 });
        Assert.NotSame(defaults, other);
        Assert.Same(other, cache.Parts(path, new SpatialSplitOptions { MinGaussians = 1000 }));
    }

    [Fact]
    public void An_Evicted_Model_Keeps_Its_Tensors_Until_Its_Last_Lease_Ends()
    {
        var (a, camera) = Model("a", 1);
        var (b, _) = Model("b", 2);
        var cache = new TrainedModelCache(capacity: 1);
        var lease = cache.Lease(a, CPU);
        using (cache.Lease(b, CPU)) { } // a leaves the cache, still leased
        Assert.Equal(2, cache.HeldTensorSets);
        Assert.False(lease.Tensors.Means.IsInvalid);
        var codes = lease.Model.RenderCodes(new GaussianRasterizer(), lease.Tensors, camera, 0.01f, PixelBlend.Raw);
        Assert.Equal(camera.Width * camera.Height, codes.Length);
        var means = lease.Tensors.Means;
        lease.Dispose();
        lease.Dispose(); // twice is once
        Assert.True(means.IsInvalid);
        Assert.Equal(1, cache.HeldTensorSets); // b's, cached and not leased
        using var again = cache.Lease(a, CPU); // back from the file
        Assert.False(again.Tensors.Means.IsInvalid);
    }

    [Fact]
    public void An_Upload_That_Fails_Is_Not_Kept_And_Holds_Nothing()
    {
        var (path, _) = Model("a", 1);
        var cache = new TrainedModelCache(capacity: 1);
        Assert.ThrowsAny<Exception>(() => cache.Lease(path, new Device(TorchSharp.DeviceType.CUDA, 99))); // no such device anywhere
        Assert.Equal(0, cache.HeldTensorSets);
        using var cpu = cache.Lease(path, CPU);
        Assert.Equal(1, cache.HeldTensorSets);
    }
}
