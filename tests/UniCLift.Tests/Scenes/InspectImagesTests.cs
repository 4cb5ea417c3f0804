namespace UniCLift.Tests.Scenes;

using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using UniCLift.Tests.IO;

/// <summary>`info` decodes the images of the views it samples: a truncated colour image passed it (headers only) and
/// failed `segment`'s load minutes later.</summary>
public sealed class InspectImagesTests
{
    [Fact]
    public void A_Truncated_Image_Of_A_Sampled_View_Is_Named()
    {
        using var dir = new TempDir();
        SyntheticSceneWriter.Write(dir.Path, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Seed = 1, Objects = 2, Views = 4, Width = 32, Height = 24, PointCount = 500 }));
        Assert.Equal(4, SceneInspector.Inspect(dir.Path, sampleViews: 4).ViewCount);
        var image = Path.Combine(dir.Path, "color", "0002.png");
        var bytes = File.ReadAllBytes(image);
        File.WriteAllBytes(image, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => SceneInspector.Inspect(dir.Path, sampleViews: 4));
        Assert.Contains(image, e.Message);
        Assert.Contains("truncated PNG", e.Message);
    }
}
