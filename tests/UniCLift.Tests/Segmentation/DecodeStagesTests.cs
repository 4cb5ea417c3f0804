namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute;
using UniCLift.Compute.Losses;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Training;
using UniCLift.Tests.IO;
using UniCLift.Tests.Training;
using static TorchSharp.torch;

/// <summary>The decoding stages the cluster runs apart (model.ply, per-view codes, batch Gaussian decoding) agree with the in-process path.</summary>
public sealed class DecodeStagesTests
{
    public DecodeStagesTests() => TorchRuntime.EnsureInitialised();

    [Fact]
    public void ModelPlyRoundTripsAndRendersTheSameCodesAsTheTrainer()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        using var trainer = SceneTrainer.Create(scene, new TrainingOptions { Iterations = 30, Seed = 5 });
        while (!trainer.IsComplete) trainer.Step();

        var model = TrainedGaussians.FromModel(trainer.Model);
        var path = Path.Combine(dir.Path, TrainedGaussians.FileName);
        model.Write(path);
        var read = TrainedGaussians.Read(path);

        Assert.Equal(model.Count, read.Count);
        Assert.Equal(12, read.Dimensions);
        Assert.True(model.Embeddings.AsSpan().SequenceEqual(read.Embeddings));
        Assert.Empty(read.Cloud.Extra);
        var rasterizer = new GaussianRasterizer();
        // SceneSegmentation.Finish renders from the trainer (on its device); the cluster's view grains from the file.
        foreach (var blend in new[] { PixelBlend.Raw, PixelBlend.Probabilities })
            foreach (var v in scene.Views)
            {
                var fromTrainer = SceneSegmentation.RenderCodes(rasterizer, trainer.Model, trainer.Model.ShDegree, v.Camera, trainer.NearPlane, blend);
                Assert.Equal(fromTrainer, read.RenderCodes(rasterizer, v.Camera, trainer.NearPlane, blend));
            }
        using var scope = NewDisposeScope();
        Assert.Equal(EmbeddingDecoder.DecodeGaussians(trainer.Model[GaussianModel.Embeddings].detach()), read.DecodeGaussians());
    }

    [Fact]
    public void APlyWithoutEmbeddingsIsRejectedByName()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "plain.ply");
        var cloud = new UniCLift.Compute.IO.GaussianCloud
        {
            Count = 1, Means = new float[3], Normals = new float[3], ShDc = new float[3], ShRest = [], ShDegree = 0,
            Opacity = new float[1], LogScales = new float[3], Rotations = [1, 0, 0, 0],
        };
        UniCLift.Compute.IO.GaussianPly.Write(path, cloud);
        var e = Assert.Throws<InvalidDataException>(() => TrainedGaussians.Read(path));
        Assert.Contains("plain.ply", e.Message);
        Assert.Contains("emb_0", e.Message);
    }

    [Fact]
    public void BatchDecodingInOnePassEqualsDecodingEachScene()
    {
        using var scope = NewDisposeScope();
        var a = randn(100, 12);
        var b = randn(7, 12);
        var c = randn(4, 5, 3); // another D and a leading shape: its own pass
        var batch = EmbeddingDecoder.DecodeBatch([a, b, c]);
        Assert.Equal(EmbeddingDecoder.DecodeGaussians(a), batch[0]);
        Assert.Equal(EmbeddingDecoder.DecodeGaussians(b), batch[1]);
        Assert.Equal(EmbeddingDecoder.DecodeGaussians(c.reshape(-1, 3)), batch[2]);
        Assert.Equal(20, batch[2].Length);
    }

    [Fact]
    public void TrainingDataMinesEachViewsBoundariesFromTheMaskItLoaded()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 3);
        using var data = TrainingData.Load(scene);
        Assert.Equal(3, data.Views.Count);
        foreach (var v in data.Views)
        {
            var expected = BoundaryMiner.Build(SceneData.LoadMask(scene, scene.View(v.Name)));
            Assert.Equal(v.Mask.Labels, SceneData.LoadMask(scene, scene.View(v.Name)).Labels);
            Assert.Equal(expected.Labels, v.Boundary.Labels);
            Assert.Equal(expected.BoundaryPixels, v.Boundary.BoundaryPixels);
            Assert.Equal(expected.NeighbourOffsets, v.Boundary.NeighbourOffsets);
            Assert.Equal(expected.NeighbourPixels, v.Boundary.NeighbourPixels);
            Assert.Equal(expected.SegmentLabels, v.Boundary.SegmentLabels);
            Assert.Equal(expected.SegmentPixels, v.Boundary.SegmentPixels);
            Assert.NotEmpty(v.Boundary.BoundaryPixels);
        }
    }
}
