namespace UniCLift.Tests.Reports;

using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using UniCLift.Compute.IO;
using UniCLift.Compute.Reports;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using UniCLift.Tests.IO;

public class BatchReportTests
{
    /// <summary>A Panoptic Lifting scene (6 views, 48x36) and a result folder whose predictions are the ground truth with other ids.</summary>
    internal static (string Scene, string Result) MakeResult(string root, int seed)
    {
        var gen = SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Seed = seed, Views = 6, Width = 48, Height = 36, Objects = 5, PointCount = 300 }, 1);
        var scene = Path.Combine(root, $"scene{seed}");
        PanopticLiftingLayout.Write(scene, gen.Views, gen.TrainViews, gen.TestViews);
        var result = Path.Combine(root, $"result{seed}");
        foreach (var v in gen.Views)
            ImageIO.WriteLabels16(Path.Combine(result, "instance", v.Name + ".png"), new LabelMap(v.GtInstance!.Width, v.GtInstance.Height, v.GtInstance.Labels.Select(l => l == 0 ? 0 : l + 2).ToArray()));
        var curve = new JsonArray();
        for (int s = 1; s <= 20; s++)
            curve.Add(new JsonObject { ["step"] = s * 10, ["total"] = 1.0 / s, ["render"] = 0.5 / s, ["cluster"] = -0.1 * Math.Log(s), ["triplet"] = s > 10 ? 0.2 / s : 0, ["smooth3d"] = 0.0, ["gaussians"] = 1000 });
        var metrics = new JsonObject
        {
            ["scene"] = scene, ["mode"] = "train", ["iterations"] = 200, ["seconds"] = 12.5, ["gaussians"] = 1000, ["instances"] = 5,
            ["background_from"] = "geometry",
            ["pq"] = new JsonObject { ["pq_scene"] = 87.25, ["pq_things"] = 80.5, ["sq"] = 90.0, ["rq"] = 95.0, ["frames"] = gen.TestViews.Count },
            ["settings"] = new JsonArray("MaxGaussians=150000", "UseTriplet=false"),
            ["decode_settings"] = new JsonArray("SurfaceMaxFront=1.1", "Cleanup=false"),
            ["loss_curve"] = curve,
        };
        File.WriteAllText(Path.Combine(result, "metrics.json"), metrics.ToJsonString());
        return (scene, result);
    }

    [Fact]
    public void Build_HasAGridPerSceneMetricsAndSvgCurves()
    {
        using var dir = new TempDir();
        var (_, r1) = MakeResult(dir.Path, 1);
        var html = BatchReport.Build([r1], new ReportOptions { ViewsPerScene = 3 });
        // 3 views x (image, prediction, mask, ground truth), all embedded.
        Assert.Equal(12, Regex.Matches(html, "<img ").Count);
        Assert.Equal(12, Regex.Matches(html, "src=\"data:image/png;base64,").Count);
        Assert.Contains("87.25", html);
        Assert.Contains("<td><b>background from</b></td>", html);
        Assert.Contains("<td>geometry</td>", html);
        Assert.Contains("training options: --set MaxGaussians=150000 --set UseTriplet=false", html);
        Assert.Contains("decode options: --decode SurfaceMaxFront=1.1 --decode Cleanup=false", html);
        // total, render, cluster, triplet plotted; smooth3d is all zero and left out.
        Assert.Equal(4, Regex.Matches(html, "<svg class=\"loss\"").Count);
        Assert.DoesNotContain("data-series=\"smooth3d\"", html);

        File.WriteAllText(Path.Combine(r1, "metrics.json"), "{\"scene\": ");
        var e = Assert.Throws<InvalidDataException>(() => BatchReport.Build([r1]));
        Assert.Contains(Path.Combine(r1, "metrics.json"), e.Message);
    }

    [Fact]
    public void Build_ShowsTheInputMasksFromTheFolderTheRunUsed()
    {
        // A nerfstudio scene whose masks are in amg_out/ (segment --masks amg_out): without metrics.json's "masks" the
        // report finds no input masks; with it, it shows them.
        using var dir = new TempDir();
        var gen = UniCLift.Tests.Readers.LayoutFixtures.Generated;
        var scene = Path.Combine(dir.Path, "scene");
        UniCLift.Tests.Readers.LayoutFixtures.WriteNerfstudio(scene, gen);
        Directory.Move(Path.Combine(scene, "masks"), Path.Combine(scene, "amg_out"));
        var result = Path.Combine(dir.Path, "result");
        foreach (var v in gen.Views) ImageIO.WriteLabels16(Path.Combine(result, "instance", v.Name + ".png"), v.Mask!);
        string Report(string? masks)
        {
            var metrics = new JsonObject { ["scene"] = scene, ["mode"] = "train", ["instances"] = 3, ["masks"] = masks };
            File.WriteAllText(Path.Combine(result, "metrics.json"), metrics.ToJsonString());
            return BatchReport.Build([result], new ReportOptions { ViewsPerScene = 3 });
        }
        var without = Report(null);
        Assert.DoesNotContain("<th>input mask</th>", without);
        var with = Report(Path.Combine(scene, "amg_out"));
        Assert.Contains("<th>input mask</th>", with);
        Assert.Equal(Regex.Matches(without, "<img ").Count + 3, Regex.Matches(with, "<img ").Count);
    }

    [Fact]
    public void HeadlessChromium_LoadsEveryImage_AndRendersANonTrivialScreenshot()
    {
        using var dir = new TempDir();
        var (_, r1) = MakeResult(dir.Path, 1);
        var (_, r2) = MakeResult(dir.Path, 2);
        var report = dir.File("report.html");
        BatchReport.Write([r1, r2], report);
        int images = Regex.Matches(File.ReadAllText(report), "<img ").Count;
        Assert.Equal(2 * 4 * 4, images);

        var dom = Chromium(dir.Path, "--dump-dom", "--virtual-time-budget=5000", "file://" + report);
        var m = Regex.Match(dom, "data-images-loaded=\"(\\d+)/(\\d+)\"");
        Assert.True(m.Success, "the page's load script did not run: no data-images-loaded on <body>");
        Assert.Equal($"{images}/{images}", $"{m.Groups[1].Value}/{m.Groups[2].Value}");

        var shot = dir.File("report.png");
        Chromium(dir.Path, "--screenshot=" + shot, "--window-size=1200,900", "file://" + report);
        Assert.True(File.Exists(shot), "chromium wrote no screenshot");
        var png = Png.Decode(shot);
        Assert.Equal((1200, 900), (png.Width, png.Height));
        // Non-trivial: many distinct colours (the colourised label maps), not a blank page.
        var rgb = ImageIO.ToRgb(png);
        var colours = new HashSet<int>();
        for (int i = 0; i < rgb.Pixels.Length; i += 3) colours.Add(rgb.Pixels[i] << 16 | rgb.Pixels[i + 1] << 8 | rgb.Pixels[i + 2]);
        Assert.True(colours.Count > 200, $"screenshot has only {colours.Count} colours");
        var keep = Environment.GetEnvironmentVariable("UNICLIFT_REPORT_SCREENSHOT");
        if (!string.IsNullOrEmpty(keep)) { File.Copy(shot, keep, true); File.Copy(report, Path.ChangeExtension(keep, ".html"), true); }
    }

    [Fact]
    public void Cli_ReportAndExportAreRegistered()
    {
        using var dir = new TempDir();
        var (_, r1) = MakeResult(dir.Path, 3);
        var outPath = dir.File("r.html");
        var err = new StringWriter();
        int code = UniCLift.Client.Cli.Build().Parse(["report", r1, "--out", outPath, "--views", "2"])
            .Invoke(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = err });
        Assert.True(code == 0, err.ToString());
        Assert.Equal(8, Regex.Matches(File.ReadAllText(outPath), "<img ").Count);
        // export on a folder without labels.ply: one error line naming the file, exit code 2.
        code = UniCLift.Client.Cli.Build().Parse(["export", r1, "--list"])
            .Invoke(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = err });
        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(r1, "labels.ply"), err.ToString());
    }

    [Fact]
    public void Cli_ReportRefusesAFolderOrAResultsOwnFileAsOut()
    {
        using var dir = new TempDir();
        var (_, r1) = MakeResult(dir.Path, 3);
        var metrics = Path.Combine(r1, "metrics.json");
        var before = File.ReadAllBytes(metrics);
        // Was exit 0 with metrics.json replaced by the HTML page; a folder was an IOException, exit 1.
        foreach (var (outPath, message) in new[] { (metrics, "is the result's own metrics.json"), (dir.Path, "is a directory") })
        {
            var err = new StringWriter();
            int code = UniCLift.Client.Cli.Build().Parse(["report", r1, "--out", outPath])
                .Invoke(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = err });
            Assert.Equal(2, code);
            Assert.Contains(message, err.ToString());
        }
        Assert.Equal(before, File.ReadAllBytes(metrics));
    }

    /// <summary>Runs headless Chromium with a fresh profile; fails (never skips) when it is not installed.</summary>
    private static string Chromium(string work, params string[] args)
    {
        var profile = Path.Combine(work, "chrome-profile-" + Guid.NewGuid().ToString("N"));
        var psi = new ProcessStartInfo(Viewer.HeadlessChromium.Executable()) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Its singleton-socket directory (left behind when the process is killed) inside the work folder, not /tmp.
        psi.Environment["TMPDIR"] = work;
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile }.Concat(args))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        // Generous: on a loaded 2-core machine a cold headless start has taken over a minute.
        if (!p.WaitForExit(180_000))
        {
            p.Kill(true);
            p.WaitForExit();
            throw new Xunit.Sdk.XunitException($"chromium did not finish within 180 s ({string.Join(' ', args)}): {stderr.Result}");
        }
        Assert.True(p.ExitCode == 0, $"chromium exited with {p.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }
}
