namespace UniCLift.Tests.Cli;

using System.Text.Json.Nodes;
using UniCLift.Compute.IO;
using UniCLift.Compute.Synthetic;
using UniCLift.Testing;

/// <summary>`uniclift segment --downscale 2` (child process, embedded silo: the trainer and the view grains both load the
/// scene at half size) writes its label maps at half the images' size, records the factor in metrics.json, and `eval`
/// of the result, told nothing, scores it at that size to the PQ^scene the run reports; a plain folder of its label maps
/// scores the same with --downscale 2; `--mode decode` of the result decodes at half size again.</summary>
public sealed class DownscaleSegmentTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("uniclift-downscale-").FullName;
    private static string Uniclift => typeof(UniCLift.Client.Cli).Assembly.Location;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private Task<string> Run(params string[] args) => ChildProcess.RunAsync(Uniclift, args, root, TimeSpan.FromSeconds(180));

    private static double PqOf(string evalJson) =>
        JsonNode.Parse(evalJson[evalJson.IndexOf('{')..(evalJson.LastIndexOf('}') + 1)])!["pq_scene"]!.GetValue<double>();

    [Fact]
    public async Task Segment_At_Half_Size_Writes_Half_Size_Label_Maps_Records_The_Factor_And_Eval_Reproduces_Its_PQ()
    {
        var scene = Path.Combine(root, "scene");
        // 65x49: the odd column and row are the remainder --downscale 2 crops.
        SyntheticSceneWriter.Write(scene, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions
        {
            Seed = 3, Objects = 4, Views = 6, Width = 65, Height = 49, TestEvery = 3, PointCount = 1500,
        }));
        var output = Path.Combine(root, "out");
        await Run("segment", scene, "--out", output, "--iterations", "40", "--downscale", "2");

        var labels = Directory.GetFiles(Path.Combine(output, "instance"), "*.png");
        Assert.Equal(6, labels.Length);
        Assert.All(labels, f => Assert.Equal((32, 24), Png.ReadSize(f)));
        Assert.All(Directory.GetFiles(Path.Combine(output, "overlays"), "*.png"), f => Assert.Equal((32, 24), Png.ReadSize(f)));
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")))!;
        Assert.Equal(2, metrics["downscale"]!.GetValue<int>());
        Assert.Equal(2, Compute.Segmentation.SceneSegmentation.RecordedDownscale(output));
        double pq = metrics["pq"]!["pq_scene"]!.GetValue<double>();

        // The result, told nothing: scored at the size it records, to the run's PQ.
        var evalResult = await Run("eval", "--scene", scene, "--pred", output, "--json");
        Assert.Equal(pq, PqOf(evalResult), 9);
        // A plain folder of the label maps, told the factor.
        Assert.Equal(pq, PqOf(await Run("eval", "--scene", scene, "--pred", Path.Combine(output, "instance"), "--downscale", "2", "--json")), 9);

        // Scored against another scene (same size and views): said, as its metrics.json names the scene it was made from.
        var other = Path.Combine(root, "other");
        SyntheticSceneWriter.Write(other, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions
        {
            Seed = 4, Objects = 4, Views = 6, Width = 65, Height = 49, TestEvery = 3, PointCount = 1500,
        }));
        Assert.Contains($"'{output}' is a result of scene '{scene}' (its metrics.json says so), not of '{other}'",
            await Run("eval", "--scene", other, "--pred", output, "--json"));
        Assert.DoesNotContain("is a result of scene", evalResult);

        // Decoding the result again, told nothing, renders at the size it trained at (its metrics.json's factor).
        foreach (var f in labels) File.Delete(f);
        var decoded = await Run("segment", scene, "--out", output, "--mode", "decode");
        Assert.Contains("--downscale 2", decoded);
        Assert.All(Directory.GetFiles(Path.Combine(output, "instance"), "*.png"), f => Assert.Equal((32, 24), Png.ReadSize(f)));
        Assert.Equal(2, Compute.Segmentation.SceneSegmentation.RecordedDownscale(output));
    }
}
