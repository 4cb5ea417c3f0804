namespace UniCLift.Tests.Cli;

using System.CommandLine;
using System.Text.Json;
using UniCLift.Client;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Synthetic;

/// <summary>`uniclift bench segment --decode-only` names what it re-decoded: a scene this generator made keeps the
/// style and object count asked for; one without its scene.json (made elsewhere) is named by its layout and counts the
/// objects of its test views' ground truth, not the defaults of a generated scene of that seed.</summary>
public sealed class BenchSegmentRowsTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("uniclift-bench-rows-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private static JsonElement Rows(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Build().Parse([.. args, "--json"]).Invoke(new InvocationConfiguration { Output = output, Error = error });
        Assert.True(code == ExitCodes.Ok, error.ToString());
        return JsonDocument.Parse(output.ToString()).RootElement.GetProperty("rows").Clone();
    }

    [Fact]
    public void ADecodeOnlyRowNamesTheSceneItRead()
    {
        string[] scene = ["bench", "segment", "--seeds", "1", "--views", "8", "--width", "48", "--height", "36", "--out", root];
        var trained = Rows([.. scene, "--iterations", "30", "--no-lift"]);
        Assert.Equal("train", trained[1].GetProperty("variant").GetString());

        var ours = Rows([.. scene, "--decode-only"])[0];
        Assert.Equal("classic", ours.GetProperty("style").GetString());
        Assert.Equal(9, ours.GetProperty("objects").GetInt32()); // seed 1: 8 + 1 % 7

        File.Delete(Path.Combine(root, "scene-1", SyntheticSceneWriter.SceneFile));
        var elsewhere = Rows([.. scene, "--decode-only"])[0];
        Assert.Equal("panopticlifting", elsewhere.GetProperty("style").GetString());
        int tp = elsewhere.GetProperty("things_tp").GetInt32(), fn = elsewhere.GetProperty("things_fn").GetInt32();
        Assert.Equal(tp + fn, elsewhere.GetProperty("objects").GetInt32());
        Assert.InRange(tp + fn, 1, 9);
        Assert.Equal(ours.GetProperty("pq").GetDouble(), elsewhere.GetProperty("pq").GetDouble()); // the same decoding
    }

    [Theory]
    [InlineData("--seeds", "", "--seeds '' names no seed")]
    [InlineData("--styles", " , ", "--styles ' , ' names no style")]
    [InlineData("--views", "4", "--views 4: every 5th view is a test view")] // wrote its scene, then found nothing to score
    [InlineData("--width", "4", "width = 4")]
    public void AnEmptyListOrASceneThatCannotBeScoredIsBadInputBeforeAnythingIsWritten(string option, string value, string message)
    {
        // Was exit 0 with an empty table: a benchmark of nothing.
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Build().Parse(["bench", "segment", "--out", root, option, value])
            .Invoke(new InvocationConfiguration { Output = output, Error = error });
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Equal("", output.ToString());
        Assert.Contains(message, error.ToString());
        Assert.Empty(Directory.EnumerateFileSystemEntries(root));
    }
}
