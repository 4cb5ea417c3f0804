namespace UniCLift.Tests.Viewer;

using System.Text.Json.Nodes;
using UniCLift.Client.Terminal;
using UniCLift.Client.Viewer;
using UniCLift.Compute.Export;
using UniCLift.Compute.IO;
using UniCLift.Compute.Reports;
using UniCLift.Compute.Segmentation;
using UniCLift.Testing;
using UniCLift.Tests.IO;

/// <summary>
/// The viewer in a real headless Chromium (WebGL through SwiftShader), driven over the DevTools protocol: `uniclift view`
/// as a real child process serving a real HTTP page, and report.html opened from disk. The page must load with no
/// console error, draw a non-trivial picture, list exactly the result's instances, and isolate / hide / recolour.
/// </summary>
public class ViewerBrowserTests
{
    private static string Uniclift => typeof(UniCLift.Client.Cli).Assembly.Location;
    private static readonly TimeSpan Ready = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task View_ServesARealSplatViewer_ThatListsIsolatesAndRecoloursInstances()
    {
        using var dir = new TempDir();
        var made = ViewerResult.Write(dir.Path);
        await using var cli = ChildProcess.Start(Uniclift, ["view", made.Result, "--port", "0"], dir.Path);
        var line = await cli.WaitForLineAsync(l => l.StartsWith("viewer     http://127.0.0.1:", StringComparison.Ordinal), "the viewer's URL", TimeSpan.FromSeconds(90));
        var url = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];

        await using var chrome = await HeadlessChromium.StartAsync();
        await chrome.NavigateAsync(url);
        await WaitReady(chrome);
        await AssertListMatchesResult(chrome, made.Result);
        Assert.Equal(made.TrainViews + " training cameras", (await chrome.EvaluateAsync("document.querySelector('[data-role=cameras-toggle]').parentElement.textContent.trim()"))!.GetValue<string>());
        var rgb = Colours(await chrome.ScreenshotAsync(), "rgb view");

        // Isolate one object by clicking its row in the list: only its Gaussians are loaded.
        var target = made.Objects[1];
        int id = ViewerResult.IdOf(target);
        int renders = await Renders(chrome);
        var row = (await chrome.EvaluateAsync($"(() => {{ const r = document.querySelector('li[data-instance=\"{id}\"]').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()"))!.AsArray();
        await chrome.ClickAsync(row[0]!.GetValue<double>(), row[1]!.GetValue<double>());
        await chrome.WaitForAsync($"document.body.dataset.viewer === 'ready' && +document.body.dataset.viewerRenders > {renders}", "the isolated instance", Ready);
        Assert.Equal(made.Counts[id], int.Parse(await Attr(chrome, "viewerShown")));
        Assert.True((await chrome.EvaluateAsync($"document.querySelector('li[data-instance=\"{id}\"]').classList.contains('isolated')"))!.GetValue<bool>());
        var isolated = Colours(await chrome.ScreenshotAsync(), "isolated view");
        Assert.True(isolated.Background > rgb.Background, $"isolating one object should leave more background ({isolated.Background} vs {rgb.Background} pixels)");

        // Hide it instead (checkbox): every other Gaussian comes back.
        renders = await Renders(chrome);
        await chrome.EvaluateAsync("document.querySelector('[data-role=show-all]').click()");
        await chrome.EvaluateAsync($"document.querySelector('li[data-instance=\"{id}\"] input').click()");
        await chrome.WaitForAsync($"document.body.dataset.viewer === 'ready' && !window.uniclift.state().busy && +document.body.dataset.viewerRenders > {renders}", "the hidden instance", Ready);
        Assert.Equal(made.Cloud.Count - made.Counts[id], int.Parse(await Attr(chrome, "viewerShown")));

        // Colour by instance: the palette's colour of an object shows up on screen.
        renders = await Renders(chrome);
        await chrome.EvaluateAsync("(s => { s.value = 'instance'; s.dispatchEvent(new Event('change')); })(document.querySelector('[data-role=mode]'))");
        await chrome.WaitForAsync($"document.body.dataset.viewer === 'ready' && !window.uniclift.state().busy && +document.body.dataset.viewerRenders > {renders}", "instance colours", Ready);
        var other = made.Objects[0];
        var palette = LabelColors.Color(ViewerResult.IdOf(other));
        var shot = await chrome.ScreenshotAsync();
        int near = CountNear(shot, palette);
        Assert.True(near > 200, $"instance mode: only {near} pixels near instance {ViewerResult.IdOf(other)}'s palette colour {palette}");
        Assert.True(CountNear(rgb.Png, palette) < near / 4, "the palette colour was already on screen in RGB mode: the recolouring proved nothing");

        // Click in the 3D view on an object: its instance is isolated.
        await chrome.EvaluateAsync("window.uniclift.showAll()");
        await chrome.WaitForAsync("document.body.dataset.viewer === 'ready' && !window.uniclift.state().busy && window.uniclift.pickReady()", "the pick structure", Ready);
        var at = (await chrome.EvaluateAsync($"window.uniclift.project({other.Centre[0]}, {other.Centre[1]}, {other.Centre[2]})"))!;
        Assert.True(at["visible"]!.GetValue<bool>(), $"object {ViewerResult.IdOf(other)} is not in the first view");
        await chrome.ClickAsync(at["x"]!.GetValue<double>(), at["y"]!.GetValue<double>());
        await chrome.WaitForAsync($"window.uniclift.state().isolated === {ViewerResult.IdOf(other)}", $"a click on object {ViewerResult.IdOf(other)} to isolate it", TimeSpan.FromSeconds(30));

        Assert.True(chrome.Problems.Count == 0, "the page reported: " + string.Join("; ", chrome.Problems));

        // Ctrl-C stops the server with the interrupted exit code.
        cli.Signal(ChildProcess.SIGINT);
        Assert.Equal(ExitCodes.Interrupted, await cli.WaitForExitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task Report_EmbedsTheViewer_AndItRendersFromDisk()
    {
        using var dir = new TempDir();
        var made = ViewerResult.Write(dir.Path);
        var report = dir.File("report.html");
        BatchReport.Write([made.Result], report, ViewerAssets.WithViewer());
        var html = await File.ReadAllTextAsync(report);
        Assert.DoesNotContain("src=\"http", html);
        Assert.DoesNotContain("viewer.bundle.js\"", html); // inlined, not referenced
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));

        await using var chrome = await HeadlessChromium.StartAsync(1200, 1000);
        await chrome.NavigateAsync(new Uri(report).AbsoluteUri);
        await WaitReady(chrome);
        await AssertListMatchesResult(chrome, made.Result);
        Assert.Equal(made.Cloud.Count, int.Parse(await Attr(chrome, "viewerShown")));
        var shot = Colours(await chrome.ScreenshotAsync(), "report");
        Assert.True(chrome.Problems.Count == 0, "the page reported: " + string.Join("; ", chrome.Problems));
        Assert.True(shot.Distinct > 200, $"report screenshot has only {shot.Distinct} colours");
    }

    [Fact]
    public async Task Report_OverTwoResults_HasTwoWorkingViewers()
    {
        using var dir = new TempDir();
        var a = ViewerResult.Write(Path.Combine(dir.Path, "a"), seed: 7);
        var b = ViewerResult.Write(Path.Combine(dir.Path, "b"), seed: 8, objects: 4);
        var report = dir.File("report.html");
        BatchReport.Write([a.Result, b.Result], report, ViewerAssets.WithViewer(results: 2));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(await File.ReadAllTextAsync(report), "var UniCLiftViewer")); // the bundle once

        await using var chrome = await HeadlessChromium.StartAsync(1200, 1000);
        await chrome.NavigateAsync(new Uri(report).AbsoluteUri);
        await chrome.WaitForAsync("[...document.querySelectorAll('.viewer3d')].length === 2 && [...document.querySelectorAll('.viewer3d')].every(v => ['ready', 'error'].includes(v.dataset.viewer))",
            "both viewers to load", Ready);
        var states = (await chrome.EvaluateAsync("[...document.querySelectorAll('.viewer3d')].map(v => [v.dataset.viewer, +v.dataset.viewerShown, v.querySelectorAll('li[data-instance]').length])"))!.AsArray();
        Assert.Equal(("ready", a.Cloud.Count, a.Counts.Count), (states[0]![0]!.GetValue<string>(), states[0]![1]!.GetValue<int>(), states[0]![2]!.GetValue<int>()));
        Assert.Equal(("ready", b.Cloud.Count, b.Counts.Count), (states[1]![0]!.GetValue<string>(), states[1]![1]!.GetValue<int>(), states[1]![2]!.GetValue<int>()));
        Assert.True(chrome.Problems.Count == 0, "the page reported: " + string.Join("; ", chrome.Problems));
    }

    private static async Task WaitReady(HeadlessChromium chrome)
    {
        await chrome.WaitForAsync("!!document.body && ['ready', 'error'].includes(document.body.dataset.viewer)", "the viewer to load", Ready);
        var state = await Attr(chrome, "viewer");
        Assert.True(state == "ready", $"viewer failed: {await chrome.EvaluateAsync("document.body.dataset.viewerError")}; problems: {string.Join("; ", chrome.Problems)}");
    }

    private static async Task<string> Attr(HeadlessChromium chrome, string name) =>
        (await chrome.EvaluateAsync($"document.body.dataset.{name} || ''"))!.GetValue<string>();

    private static async Task<int> Renders(HeadlessChromium chrome) => int.Parse(await Attr(chrome, "viewerRenders"));

    /// <summary>The list the page shows (read from the DOM) is `export --list`'s, and its instances other than the
    /// background are as many as metrics.json says.</summary>
    private static async Task AssertListMatchesResult(HeadlessChromium chrome, string result)
    {
        var shown = (await chrome.EvaluateAsync("[...document.querySelectorAll('[data-role=instances] li')].map(li => [+li.dataset.instance, +li.dataset.gaussians, li.querySelector('.count').textContent])"))!.AsArray()
            .Select(r => (Id: r![0]!.GetValue<int>(), Gaussians: r[1]!.GetValue<int>(), Text: r[2]!.GetValue<string>())).ToList();
        var expected = ResultExport.ListInstances(result);
        Assert.Equal(expected.Select(s => (s.Id, s.Gaussians)), shown.Select(s => (s.Id, s.Gaussians)));
        Assert.Equal(expected.Select(s => s.Gaussians.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)), shown.Select(s => s.Text));
        var metrics = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(result, "metrics.json")))!;
        Assert.Equal(metrics["instances"]!.GetValue<int>(), shown.Count(s => s.Id != 0));
    }

    private sealed record Shot(PngImage Png, int Distinct, int Background);

    /// <summary>Decodes a screenshot and checks it is a picture: many colours, and the 3D view not all background.</summary>
    private static Shot Colours(byte[] png, string what)
    {
        var image = Png.Decode(png, what);
        var rgb = ImageIO.ToRgb(image);
        var colours = new HashSet<int>();
        int background = 0;
        for (int i = 0; i < rgb.Pixels.Length; i += 3)
        {
            int r = rgb.Pixels[i], g = rgb.Pixels[i + 1], b = rgb.Pixels[i + 2];
            colours.Add(r << 16 | g << 8 | b);
            if (r < 24 && g < 24 && b < 24) background++; // the splat view's clear colour is black; the page is white
        }
        Assert.True(colours.Count > 200, $"{what}: the screenshot has only {colours.Count} colours (blank canvas?)");
        return new Shot(image, colours.Count, background);
    }

    private static int CountNear(byte[] png, (byte R, byte G, byte B) c) => CountNear(Png.Decode(png, "screenshot"), c);

    private static int CountNear(PngImage png, (byte R, byte G, byte B) c)
    {
        var rgb = ImageIO.ToRgb(png);
        int n = 0;
        for (int i = 0; i < rgb.Pixels.Length; i += 3)
            if (Math.Abs(rgb.Pixels[i] - c.R) + Math.Abs(rgb.Pixels[i + 1] - c.G) + Math.Abs(rgb.Pixels[i + 2] - c.B) < 40) n++;
        return n;
    }
}
