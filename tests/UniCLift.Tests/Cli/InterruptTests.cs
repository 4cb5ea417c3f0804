namespace UniCLift.Tests.Cli;

using System.Diagnostics;
using System.Text.Json;
using UniCLift.Client.Terminal;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using UniCLift.Testing;

/// <summary>
/// Ctrl-C and SIGTERM on the real `uniclift` program (uniclift.dll in a child process): a command that trains stops
/// within seconds, exits 130 / 143, and leaves no partial file behind.
/// </summary>
public sealed class InterruptTests : IDisposable
{
    /// <summary>From the signal to the process gone: the issue's bound (a training step here takes well under 0.1 s).</summary>
    private static readonly TimeSpan StopWithin = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan StartWithin = TimeSpan.FromSeconds(90);

    private readonly string root = Directory.CreateTempSubdirectory("uniclift-interrupt-").FullName;
    private static string Uniclift => typeof(UniCLift.Client.Cli).Assembly.Location;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private string TinyScene()
    {
        var dir = Path.Combine(root, "scene");
        SyntheticSceneWriter.Write(dir, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions
        {
            Seed = 5, Objects = 3, Views = 6, Width = 48, Height = 36, TestEvery = 3, PointCount = 1500,
        }));
        return dir;
    }

    [Theory]
    [InlineData(ChildProcess.SIGINT, ExitCodes.Interrupted)]
    [InlineData(ChildProcess.SIGTERM, ExitCodes.Terminated)]
    public async Task SegmentStopsWhileTrainingWithTheSignalsExitCodeAndNoPartialOutput(int signal, int expectedExitCode)
    {
        var scene = TinyScene();
        var output = Path.Combine(root, "out", "result");
        // Far more iterations than the test waits for: the run can only end because of the signal.
        await using var cli = ChildProcess.Start(Uniclift, ["segment", scene, "--out", output, "--iterations", "100000"], root);
        // Non-interactive progress: one line per state change, "<scene id>: training, step N/100000, ...".
        await cli.WaitForLineAsync(l => l.Contains(": training, step"), "training progress", StartWithin);

        var clock = Stopwatch.StartNew();
        cli.Signal(signal);
        var code = await cli.WaitForExitAsync(StopWithin);
        Assert.True(code is not null, $"still running {StopWithin.TotalSeconds:F0} s after signal {signal}; output:\n{cli.Output}");
        Assert.True(code == expectedExitCode, $"exit code {code}, expected {expectedExitCode} after signal {signal}; output:\n{cli.Output}");
        Assert.Contains("interrupted", cli.Output);
        Assert.Matches(@"batch \S+ cancelled\.", cli.Output); // the run this command started stopped too
        Assert.True(clock.Elapsed < StopWithin, $"stopped after {clock.Elapsed.TotalSeconds:F1} s");
        AssertCompleteOrAbsent(output, PanopticLiftingLayout.Read(scene));
    }

    [Fact]
    public async Task BenchSegmentStopsWhileTrainingOnSigterm()
    {
        var work = Path.Combine(root, "bench");
        // 200 iterations print progress every 20 steps; the signal comes at the first line, long before the end.
        await using var cli = ChildProcess.Start(Uniclift,
            ["bench", "segment", "--seeds", "1", "--views", "6", "--width", "48", "--height", "36", "--iterations", "200", "--no-lift", "--out", work], root);
        await cli.WaitForLineAsync(l => l.Contains("[seed 1 train] step"), "training progress", StartWithin);
        cli.Signal(ChildProcess.SIGTERM);
        var code = await cli.WaitForExitAsync(StopWithin);
        Assert.True(code is not null, $"still running {StopWithin.TotalSeconds:F0} s after SIGTERM; output:\n{cli.Output}");
        Assert.True(code == ExitCodes.Terminated, $"exit code {code}, expected {ExitCodes.Terminated}; output:\n{cli.Output}");
        Assert.DoesNotContain("[seed 1 train] step 200/200", cli.Output);
        AssertCompleteOrAbsent(Path.Combine(work, "scene-1-train"), null);
    }

    /// <summary>
    /// A stopped run's output directory is absent, or holds only complete files: no temporary file of an unfinished
    /// write, every image, PLY and JSON reads back; metrics.json, written last, only with every view's label map.
    /// </summary>
    internal static void AssertCompleteOrAbsent(string dir, Scene? scene)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetFileName(file);
            Assert.False(name.EndsWith(".tmp", StringComparison.Ordinal), $"temporary file of an unfinished write left behind: {file}");
            try
            {
                switch (Path.GetExtension(file))
                {
                    case ".png": Png.Decode(file); break;
                    case ".ply": Ply.Read(file); break;
                    case ".json": JsonDocument.Parse(File.ReadAllText(file)).Dispose(); break;
                }
            }
            catch (Exception e) when (e is InvalidDataException or JsonException or EndOfStreamException or IOException)
            {
                Assert.Fail($"partial output file {file}: {e.Message}");
            }
        }
        if (scene is not null && File.Exists(Path.Combine(dir, "metrics.json")))
            foreach (var v in scene.Views)
                Assert.True(File.Exists(UniCLift.Compute.Segmentation.SceneSegmentation.LabelPath(dir, v)), $"metrics.json without the label map of view {v.Name}");
    }
}
