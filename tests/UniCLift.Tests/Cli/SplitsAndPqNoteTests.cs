namespace UniCLift.Tests.Cli;

using System.Text.Json;
using System.Text.Json.Nodes;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using UniCLift.Testing;

/// <summary>What a run's PQ figure says beside it: that its test views also trained (splits that list a frame in both,
/// noted before the run too), or why there is none (no ground truth, no test views), where it used to say "no ground
/// truth" for both and nothing about a test split that trained.</summary>
public sealed class SplitsAndPqNoteTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("uniclift-splits-").FullName;
    private static string Uniclift => typeof(UniCLift.Client.Cli).Assembly.Location;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private Task<string> Run(params string[] args) => ChildProcess.RunAsync(Uniclift, args, root, TimeSpan.FromSeconds(180));

    private static Scene Of(string[] views, string[] train, string[] test, bool gt = true) =>
        new("/scene", SceneLayout.PanopticLifting,
            views.Select(v => new SceneView(v, SyntheticGaussians.LookAt(8, 8, 8, (0, 0, 1), (0, 0, 0)), $"/scene/color/{v}.png", GtInstancePath: gt ? $"/gt/{v}.png" : null)).ToList(),
            train, test);

    [Fact]
    public void A_Test_View_That_Also_Trains_Is_Counted_And_Noted_Unless_No_Split_Is_Named()
    {
        string[] all = ["a", "b", "c", "d"];
        var disjoint = Of(all, ["a", "b", "c"], ["d"]);
        Assert.Equal(0, disjoint.TestViewsTrained);
        Assert.Null(disjoint.SplitOverlapNote);
        Assert.Null(disjoint.NoPqReason);

        var overlapping = Of(all, ["a", "b", "c"], ["c", "d"]);
        Assert.Equal(1, overlapping.TestViewsTrained);
        Assert.Equal("1 of the 2 test views are also training views: their PQ is not held out", overlapping.SplitOverlapNote);
        // A test split inside the training split is noted too.
        Assert.NotNull(Of(all, all, ["d"]).SplitOverlapNote);

        // No splits named: every view in both, as documented; counted, not noted.
        var none = Of(all, all, all);
        Assert.Equal(4, none.TestViewsTrained);
        Assert.Null(none.SplitOverlapNote);

        Assert.Equal("no test views", Of(all, all, []).NoPqReason);
        Assert.Equal("no ground truth", Of(all, all, ["d"], gt: false).NoPqReason);
    }

    [Fact]
    public async Task Segment_Says_When_Its_PQ_Is_Not_Held_Out_And_Why_It_Has_None()
    {
        var scene = Path.Combine(root, "scene");
        SyntheticSceneWriter.Write(scene, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions
        {
            Seed = 5, Objects = 3, Views = 6, Width = 40, Height = 30, TestEvery = 3, PointCount = 800,
        }));
        var output = Path.Combine(root, "out");
        // Disjoint splits (views 2 and 5 test): a plain figure.
        var trained = await Run("segment", scene, "--out", output, "--iterations", "30");
        var pqLine = trained.Split('\n').Single(l => l.StartsWith("PQ^scene", StringComparison.Ordinal));
        Assert.DoesNotContain("(", pqLine);
        Assert.Equal(0, JsonNode.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")))!["pq"]!["trained_frames"]!.GetValue<int>());

        // A training view listed as a test view too: noted before the run, and said beside the figure.
        var splits = Path.Combine(scene, "splits.json");
        var both = JsonNode.Parse(File.ReadAllText(splits))!;
        var train = both["train"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        var test = both["test"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        File.WriteAllText(splits, JsonSerializer.Serialize(new { train, test = test.Append(train[0]).ToArray() }));
        var note = $"1 of the {test.Length + 1} test views are also training views: their PQ is not held out";
        Assert.Contains(note, await Run("info", scene));
        var decoded = await Run("segment", scene, "--out", output, "--iterations", "30");
        Assert.Contains(note, decoded);
        Assert.Contains($"(on 1 of {test.Length + 1} test views that also trained: not held out)", decoded);
        Assert.Contains("not held out", File.ReadAllText(Path.Combine(output, "report.html")));

        // No test view: said so, not "no ground truth".
        File.WriteAllText(splits, JsonSerializer.Serialize(new { train, test = Array.Empty<string>() }));
        decoded = await Run("segment", scene, "--out", output, "--mode", "decode");
        Assert.Contains("PQ^scene   n/a (no test views)", decoded);
        // A decode run says how long it decoded; the training's figures are said as the training's (they read as if it
        // had trained again).
        Assert.Matches(@"decoded    in [0-9.]+ s: [0-9,]+ Gaussians \(trained 30 iterations in [0-9.]+ s\)", decoded);
        Assert.DoesNotContain("\niterations ", decoded);
        Assert.Equal("no test views", JsonNode.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")))!["pq_missing"]!.GetValue<string>());
        Assert.Contains("n/a (no test views)", File.ReadAllText(Path.Combine(output, "report.html")));
    }
}
