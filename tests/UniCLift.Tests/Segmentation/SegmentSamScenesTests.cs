namespace UniCLift.Tests.Segmentation;

using System.CommandLine;
using System.Text.Json;
using UniCLift.Client;
using UniCLift.Compute.Synthetic;

/// <summary>
/// `segment` (training and decoding through the embedded cluster's grains) on SAM-style masks, whose floor and walls
/// come in pieces with ids of their own: the stuff rule must reach the view grains' decoding as well as training,
/// or the background decodes to an object and the floor pieces become instances (PQ^scene about 13-30); without the
/// classes, the decoder must find the background by where the codes lie in the world.
/// </summary>
public sealed class SegmentSamScenesTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SegmentDecodesTheBackgroundOfSamStyleMasksThroughTheGrains(bool stuffClassesKnown)
    {
        // Without the stuff classes (StuffAsBackground=false: as for Segment Anything, which has none) the masks leave
        // no background, and the codebook takes the instances spread over the room (floor, walls) as background.
        var root = Directory.CreateTempSubdirectory("uniclift-sam-").FullName;
        try
        {
            var scene = Path.Combine(root, "scene");
            SyntheticSceneWriter.Write(scene, SyntheticSceneGenerator.Generate(SceneStyles.Apply("sam",
                new SyntheticSceneOptions { Seed = 2, Objects = 5, Views = 16, Width = 96, Height = 72, PointCount = 5000 })));
            var output = Path.Combine(root, "out");
            var error = new StringWriter();
            string[] args = ["segment", scene, "--out", output, "--iterations", "600"];
            if (!stuffClassesKnown) args = [.. args, "--set", "StuffAsBackground=false"];
            int code = Cli.Build().Parse(args)
                .Invoke(new InvocationConfiguration { Output = new StringWriter(), Error = error });
            Assert.True(code == 0, error.ToString());
            using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
            var text = metrics.RootElement.ToString();
            double pq = metrics.RootElement.GetProperty("pq").GetProperty("pq_scene").GetDouble();
            int instances = metrics.RootElement.GetProperty("instances").GetInt32();
            Assert.True(pq >= 60, $"PQ^scene {pq:0.0} with {instances} instances: {text}");
            Assert.InRange(instances, 3, 8); // 5 objects; the floor and wall pieces are not instances
            Assert.Equal(stuffClassesKnown ? "masks" : "geometry", metrics.RootElement.GetProperty("background_from").GetString());
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
