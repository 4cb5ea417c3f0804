namespace UniCLift.Tests.Training;

using UniCLift.Compute.Scenes;
using UniCLift.Compute.Training;
using UniCLift.Tests.IO;
using static TorchSharp.torch;

public sealed class TrainingDataTests
{
    [Fact]
    public void Views_Keep_Their_Images_As_Bytes_And_A_Steps_Target_Is_Each_Byte_Over_255_In_Float32()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        using var data = TrainingData.Load(scene);
        Assert.NotEmpty(data.Views);
        foreach (var v in data.Views)
        {
            var file = SceneData.LoadImage(scene, scene.View(v.Name));
            Assert.Equal(ScalarType.Byte, v.Image!.dtype);
            Assert.Equal(new long[] { file.Height, file.Width, 3 }, v.Image.shape);
            using var target = v.Target();
            Assert.Equal(ScalarType.Float32, target.dtype);
            Assert.Equal(v.Image.shape, target.shape);
            var values = target.data<float>().ToArray();
            // Bit for bit what the float images held before (each byte divided by 255f on the host).
            for (int k = 0; k < values.Length; k++)
                Assert.True(BitConverter.SingleToInt32Bits(file.Pixels[k] / 255f) == BitConverter.SingleToInt32Bits(values[k]),
                    $"{v.Name}[{k}]: {values[k]:R}, expected {file.Pixels[k] / 255f:R}");
        }
    }

    [Fact]
    public void Views_Loaded_Without_Images_Have_None_And_Say_So_When_Asked_For_A_Target()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        using var data = TrainingData.Load(scene, images: false);
        Assert.All(data.Views, v => Assert.Null(v.Image));
        Assert.All(data.Views, v => Assert.NotEmpty(v.Mask.Labels));
        var e = Assert.Throws<InvalidOperationException>(() => data.Views[0].Target());
        Assert.Contains(data.Views[0].Name, e.Message);
    }
}
