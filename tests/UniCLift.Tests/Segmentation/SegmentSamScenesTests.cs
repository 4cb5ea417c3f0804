namespace UniCLift.Tests.Segmentation;

using System.CommandLine;
using System.Text.Json;
using UniCLift.Client;
using UniCLift.Compute.Synthetic;

/// <summary>
/// `segment` (training and decoding through the embedded cluster's grains) on SAM-style masks, whose floor and walls
/// come in pieces with ids of their own: the stuff rule must reach the view grains' decoding as well as training,
/// or the background decodes to an object and the floor pieces become instances (PQ^scene about 13-30).
/// </summary>
public sealed class SegmentSamScenesTests
{
    [Fact]
    public void SegmentDecodesTheBackgroundOfSamStyleMasksThroughTheGrains()
    {
        var root = Directory.CreateTempSubdirectory("uniclift-sam-").FullName;
        try
        {
            var scene = Path.Combine(root, "scene");
            SyntheticSceneWriter.Write(scene, SyntheticSceneGenerator.Generate(SceneStyles.Apply("sam",
                new SyntheticSceneOptions { Seed = 2, Objects = 5, Views = 16, Width = 96, Height = 72, PointCount = 5000 })));
            var output = Path.Combine(root, "out");
            var error = new StringWriter();
            int code = Cli.Build().Parse(["segment", scene, "--out", output, "--iterations", "600"])
                .Invoke(new InvocationConfiguration { Output = new StringWriter(), Error = error });
            Assert.True(code == 0, error.ToString());
            using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
            var text = metrics.RootElement.ToString();
            double pq = metrics.RootElement.GetProperty("pq").GetProperty("pq_scene").GetDouble();
            int instances = metrics.RootElement.GetProperty("instances").GetInt32();
            Assert.True(pq >= 60, $"PQ^scene {pq:0.0} with {instances} instances: {text}");
            Assert.InRange(instances, 3, 8); // 5 objects; the floor and wall pieces are not instances
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
