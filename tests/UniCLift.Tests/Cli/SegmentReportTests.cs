namespace UniCLift.Tests.Cli;

using UniCLift.Compute.Synthetic;
using UniCLift.Testing;

/// <summary>The real `uniclift segment` (child process, embedded silo) ends with a report to look at: report.html next
/// to the results, its path printed, self-contained (images inlined), naming the scene's metrics.</summary>
public sealed class SegmentReportTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("uniclift-report-").FullName;
    private static string Uniclift => typeof(UniCLift.Client.Cli).Assembly.Location;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Segment_Writes_ReportHtml_Next_To_The_Results_And_Prints_Its_Path()
    {
        var scene = Path.Combine(root, "scene");
        SyntheticSceneWriter.Write(scene, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions
        {
            Seed = 4, Objects = 3, Views = 6, Width = 48, Height = 36, TestEvery = 3, PointCount = 1500,
        }));
        var output = Path.Combine(root, "out");
        await using var cli = ChildProcess.Start(Uniclift, ["segment", scene, "--out", output, "--iterations", "40"], root);
        var code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(180));
        Assert.True(code == 0, $"exit {code}; output:\n{cli.Output}");
        var report = Path.Combine(output, "report.html");
        Assert.Contains($"report     {report}", cli.Output);
        var html = File.ReadAllText(report);
        Assert.StartsWith("<!DOCTYPE html>", html.TrimStart(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("data:image/png;base64,", html); // views inlined: the page opens from disk alone
        Assert.DoesNotContain("src=\"http", html);
        Assert.Empty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
        // The report embeds the 3D viewer (bundle and payload inlined) and the command says how to serve it.
        Assert.Contains("UniCLiftViewer.start(", html);
        Assert.Contains("id=\"viewer3d-0-payload\"", html);
        Assert.Contains($"uniclift view {output}", cli.Output);

        // Overlays at the view's full resolution (the scene's images are 48x36 here; the demo's 96x72).
        var views = UniCLift.Compute.Scenes.SceneInspector.Read(scene).Views;
        var overlays = Directory.GetFiles(Path.Combine(output, "overlays"), "*.png");
        Assert.NotEmpty(overlays);
        foreach (var overlay in overlays)
        {
            var view = views.Single(v => v.Name == Path.GetFileNameWithoutExtension(overlay));
            var image = UniCLift.Compute.IO.ImageIO.ReadRgb(view.ImagePath);
            Assert.Equal((image.Width, image.Height), UniCLift.Compute.IO.Png.ReadSize(overlay));
            Assert.Equal((view.Camera.Width, view.Camera.Height), UniCLift.Compute.IO.Png.ReadSize(overlay));
        }
    }
}
