namespace UniCLift.Tests.Reports;

using System.Text.RegularExpressions;
using UniCLift.Compute.IO;
using UniCLift.Compute.Reports;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using UniCLift.Tests.IO;

/// <summary>The report embeds full-resolution views as thumbnails (the files on disk keep their resolution).</summary>
public class ReportThumbnailTests
{
    [Fact]
    public void Report_EmbedsThumbnailsOfWideViews_AndNativeSizeWhenAsked()
    {
        using var dir = new TempDir();
        var gen = SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Seed = 3, Views = 3, Width = 400, Height = 300, Objects = 2, PointCount = 300 }, 1);
        var scene = Path.Combine(dir.Path, "scene");
        PanopticLiftingLayout.Write(scene, gen.Views, gen.TrainViews, gen.TestViews);
        var result = Path.Combine(dir.Path, "result");
        foreach (var v in gen.Views) ImageIO.WriteLabels16(Path.Combine(result, "instance", v.Name + ".png"), v.GtInstance!);
        File.WriteAllText(Path.Combine(result, "metrics.json"), $"{{\"scene\": \"{scene}\"}}");

        static List<(int W, int H)> Sizes(string html) => Regex.Matches(html, "src=\"data:image/png;base64,([^\"]+)\"")
            .Select(m => Png.Decode(Convert.FromBase64String(m.Groups[1].Value), "embedded image")).Select(p => (p.Width, p.Height)).ToList();

        var thumbs = Sizes(BatchReport.Build([result], new ReportOptions { ViewsPerScene = 2 }));
        Assert.Equal(2 * 4, thumbs.Count); // image, prediction, mask, ground truth
        Assert.All(thumbs, s => Assert.Equal((320, 240), s));
        Assert.All(Sizes(BatchReport.Build([result], new ReportOptions { ViewsPerScene = 2, ThumbnailWidth = 0 })), s => Assert.Equal((400, 300), s));
    }

    [Fact]
    public void Thumbnail_AveragesImagesAndKeepsLabelIds()
    {
        var image = new RgbImage(4, 2, [0, 0, 0, 10, 20, 30, 100, 100, 100, 200, 200, 200, 0, 0, 0, 30, 40, 50, 100, 100, 100, 100, 100, 100]);
        var t = BatchReport.Thumbnail(image, 2);
        Assert.Equal((2, 1), (t.Width, t.Height));
        Assert.Equal(new byte[] { 10, 15, 20, 125, 125, 125 }, t.Pixels);
        var labels = BatchReport.Thumbnail(new LabelMap(4, 2, [1, 1, 7, 7, 1, 1, 7, 7]), 2);
        Assert.Equal((2, 1), (labels.Width, labels.Height));
        Assert.Equal(new[] { 1, 7 }, labels.Labels);
        Assert.Same(image, BatchReport.Thumbnail(image, 4)); // not wider than asked: as it is
    }
}
