namespace UniCLift.Tests.Segmentation;

using System.CommandLine;
using System.Text.Json;
using UniCLift.Client;
using UniCLift.Compute.Segmentation;
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
            var printed = Run(args);
            // The summary says how the background was found, and what to try outdoors when geometry found it.
            Assert.Equal(!stuffClassesKnown, printed.Contains("background by geometry", StringComparison.Ordinal));
            using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
            var text = metrics.RootElement.ToString();
            double pq = metrics.RootElement.GetProperty("pq").GetProperty("pq_scene").GetDouble();
            int instances = metrics.RootElement.GetProperty("instances").GetInt32();
            Assert.True(pq >= 60, $"PQ^scene {pq:0.0} with {instances} instances: {text}");
            Assert.InRange(instances, 3, 8); // 5 objects; the floor and wall pieces are not instances
            Assert.Equal(stuffClassesKnown ? "masks" : "geometry", metrics.RootElement.GetProperty("background_from").GetString());
            // The scene grain voted the Gaussians' codes from the views; the decoding labelled them by those.
            Assert.Equal("views", metrics.RootElement.GetProperty("gaussian_codes").GetString());
            Assert.NotNull(TrainedGaussians.Read(Path.Combine(output, TrainedGaussians.FileName)).ViewCodes);
            Assert.DoesNotContain("labelled by their own codes", printed, StringComparison.Ordinal);

            // --mode decode decodes the same model again through the grains: with no --decode, the very same label maps
            // (the stuff rule taken from training.json, or the background would come from the masks' stuff segments);
            // the trained model and its summary are not touched.
            var trained = Snapshot(output);
            int labelsBefore = LabelsPerView(output);
            Run(["segment", scene, "--out", output, "--mode", "decode"]);
            using (var again = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json"))))
            {
                Assert.Equal(metrics.RootElement.GetProperty("background_from").GetString(), again.RootElement.GetProperty("background_from").GetString());
                Assert.Equal(0, again.RootElement.GetProperty("decode_settings").GetArrayLength());
            }
            var decoded = Snapshot(output);
            Assert.Equal(trained.Keys.Order(), decoded.Keys.Order());
            foreach (var (file, bytes) in trained) Assert.True(bytes.AsSpan().SequenceEqual(decoded[file]), $"{file} changed");

            // Other settings reach the coordinator's codebook (SurfaceSpread=1: no background by geometry, the largest
            // code is) and the view grains' fragment cleanup (components under 30% of a view go: fewer labels per view).
            Run(["segment", scene, "--out", output, "--mode", "decode", "--decode", "Cleanup.MinFraction=0.3", "--decode", "SurfaceSpread=1",
                "--decode", "Cleanup.MinLargestFraction=0.3"]);
            using (var other = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json"))))
            {
                Assert.Equal(["SurfaceSpread=1", "Cleanup.MinFraction=0.3", "Cleanup.MinLargestFraction=0.3"],
                    other.RootElement.GetProperty("decode_settings").EnumerateArray().Select(e => e.GetString()));
                Assert.Equal(stuffClassesKnown ? "masks" : "largest", other.RootElement.GetProperty("background_from").GetString());
            }
            Assert.True(LabelsPerView(output) < labelsBefore, $"labels per view {LabelsPerView(output)} with the cleanup at 30%, {labelsBefore} before");
            Assert.True(File.ReadAllBytes(Path.Combine(output, "model.ply")).AsSpan().SequenceEqual(trained["model.ply"]));
            Assert.Contains("--decode SurfaceSpread=1 --decode Cleanup.MinFraction=0.3", File.ReadAllText(Path.Combine(output, "report.html")));

            // Decoding a model.ply without view codes (from before them, or another tool) labels the Gaussians by their
            // own codes and says so; asked for, own codes are recorded as asked.
            Run(["segment", scene, "--out", output, "--mode", "decode", "--decode", "GaussianCodes=Own"]);
            Assert.Equal("own", SceneSegmentation.Recorded(output, "gaussian_codes"));
            var model = TrainedGaussians.Read(Path.Combine(output, TrainedGaussians.FileName));
            new TrainedGaussians(model.Cloud, model.Embeddings, model.Dimensions).Write(Path.Combine(output, TrainedGaussians.FileName));
            var old = Run(["segment", scene, "--out", output, "--mode", "decode"]);
            Assert.Equal(SceneSegmentation.OwnCodesForLackOfViewCodes, SceneSegmentation.Recorded(output, "gaussian_codes"));
            Assert.Contains("Gaussians labelled by their own codes: model.ply has no view_code", old, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    /// <summary>Runs the command line; returns what it printed on standard output.</summary>
    private static string Run(string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = Cli.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        Assert.True(code == 0, $"{string.Join(' ', args)}: exit {code}: {error}");
        return output.ToString();
    }

    /// <summary>The trained model, its summary and the label maps, by name relative to the output directory.</summary>
    private static Dictionary<string, byte[]> Snapshot(string output) =>
        new[] { "model.ply", "training.json" }.Select(f => Path.Combine(output, f))
            .Concat(Directory.GetFiles(Path.Combine(output, "instance"), "*.png"))
            .ToDictionary(f => Path.GetRelativePath(output, f), File.ReadAllBytes);

    /// <summary>Distinct labels per view, summed over the views.</summary>
    private static int LabelsPerView(string output) =>
        Directory.GetFiles(Path.Combine(output, "instance"), "*.png").Sum(f => UniCLift.Compute.IO.ImageIO.ReadLabels(f).Labels.Distinct().Count());

    [Fact]
    public void DecodeModeNeedsAFinishedRunAndTakesNoTrainingOptions()
    {
        var root = Directory.CreateTempSubdirectory("uniclift-decode-").FullName;
        try
        {
            var output = Path.Combine(root, "out");
            (int Code, string Error) Try(params string[] args)
            {
                var error = new StringWriter();
                return (Cli.Build().Parse(args).Invoke(new InvocationConfiguration { Output = new StringWriter(), Error = error }), error.ToString());
            }
            var missing = Try("segment", root, "--out", output, "--mode", "decode");
            Assert.Equal(2, missing.Code);
            Assert.Contains($"no trained model '{Path.Combine(output, "model.ply")}'", missing.Error);
            var iterations = Try("segment", root, "--out", output, "--mode", "decode", "--iterations", "10");
            Assert.Equal(2, iterations.Code);
            Assert.Contains("mode 'decode' trains nothing", iterations.Error);
            var unknown = Try("segment", root, "--out", output, "--decode", "Surface=1");
            Assert.Equal(2, unknown.Code);
            Assert.Contains("Unknown decode option 'Surface'", unknown.Error);
            Assert.False(Directory.Exists(output)); // refused before anything was written
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
