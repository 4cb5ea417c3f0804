namespace UniCLift.Tests.Training;

using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using UniCLift.Tests.IO;

/// <summary>Small generated scenes written in the Panoptic Lifting layout, for fast training tests.</summary>
internal static class TinyScenes
{
    public static Scene Write(TempDir dir, int seed = 3, int objects = 3, int views = 8, int width = 48, int height = 36,
        CorruptionLevel corruption = CorruptionLevel.None, int points = 2500)
    {
        var scene = SyntheticSceneGenerator.Generate(new SyntheticSceneOptions
        {
            Seed = seed, Objects = objects, Views = views, Width = width, Height = height, Corruption = corruption,
            PointCount = points, TestEvery = 4,
        });
        SyntheticSceneWriter.Write(dir.Path, scene);
        return PanopticLiftingLayout.Read(dir.Path);
    }
}
