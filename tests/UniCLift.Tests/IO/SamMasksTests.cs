namespace UniCLift.Tests.IO;

using System.Text;
using System.Text.Json;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Tests.Readers;

using static SamFixtures;

public class SamMasksTests
{
    private static bool[] Rect(int w, int h, int x0, int y0, int x1, int y1) =>
        Enumerable.Range(0, w * h).Select(i => i % w >= x0 && i % w < x1 && i / w >= y0 && i / w < y1).ToArray();

    [Theory]
    [InlineData("325", new long[] { 3, 2, 5 })]
    [InlineData("325O", new long[] { 3, 2, 5, 1 })] // the 4th count stored as 1 - 2 = -1: one character, sign bit set
    [InlineData("T3", new long[] { 100 })] // 100 = 4 + 3 * 32: a continued character then its end
    [InlineData(":4d0M", new long[] { 10, 4, 20, 1 })] // 20 has bit 4 set, so it needs a second character; 1 - 4 = -3
    public void DecodeCounts_InvertsPycocotoolsStrings_WorkedByHandFromTheCSource(string s, long[] counts)
    {
        Assert.Equal(counts, SamMasks.DecodeCounts(s, "test"));
        Assert.Equal(s, CocoString(counts)); // the test's encoder agrees with the hand-worked strings
    }

    [Fact]
    public void DecodeCounts_RoundTripsLongAndAlternatingRuns()
    {
        var rng = new Random(5);
        for (int t = 0; t < 200; t++)
        {
            var counts = Enumerable.Range(0, rng.Next(1, 40)).Select(_ => (long)rng.Next(0, rng.Next(2) == 0 ? 40 : 5_000_000)).ToArray();
            Assert.Equal(counts, SamMasks.DecodeCounts(CocoString(counts), "test"));
        }
    }

    [Theory]
    [InlineData("3 2", "' ' at character 1")]
    [InlineData("T", "ends inside a count")]
    [InlineData("30O", "negative run")] // 3, 0, then 0 + (-1) = -1
    public void DecodeCounts_NamesWhatIsWrong(string s, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => SamMasks.DecodeCounts(s, "f.json: annotation 2"));
        Assert.Contains("f.json: annotation 2", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Inside_WalksColumnsFirst()
    {
        // 2 rows x 3 columns; column-major pixels 1 and 2 are (row 1, col 0) and (row 0, col 1).
        Assert.Equal(new[] { 1, 3 }, SamMasks.Inside([1, 2, 3], 2, 3, "test"));
        var e = Assert.Throws<InvalidDataException>(() => SamMasks.Inside([1, 2], 2, 3, "test"));
        Assert.Contains("cover 3 pixels, not 2x3 = 6", e.Message);
    }

    [Fact]
    public void AFolderAndItsJson_PaintTheSmallestMaskOnTop()
    {
        using var dir = new TempDir();
        const int w = 7, h = 5;
        var masks = new[]
        {
            Rect(w, h, 1, 1, 5, 4), // an object (12 px)
            Rect(w, h, 0, 0, 7, 5), // the whole image (35 px): under everything
            Rect(w, h, 2, 2, 4, 3), // a part of the object (2 px): on top
            Rect(w, h, 5, 0, 7, 2), // apart (4 px), overlapping the whole image only
        };
        WriteFolder(dir.File("frame"), masks, w, h);
        WriteJson(dir.File("frame.json"), masks, w, h);
        var expected = new int[w * h];
        for (int i = 0; i < w * h; i++)
            expected[i] = masks[2][i] ? 3 : masks[3][i] ? 4 : masks[0][i] ? 1 : 2;
        foreach (var path in new[] { dir.File("frame"), dir.File("frame.json") })
        {
            var map = ImageIO.ReadLabels(path);
            Assert.Equal((w, h), (map.Width, map.Height));
            Assert.Equal(expected, map.Labels);
        }
    }

    [Fact]
    public void PixelsNoMaskCoversAreUnlabelled_AndEqualMasksKeepTheLowerIndexOnTop()
    {
        using var dir = new TempDir();
        const int w = 4, h = 3;
        var masks = new[] { Rect(w, h, 0, 0, 2, 1), Rect(w, h, 0, 0, 2, 1), Rect(w, h, 3, 2, 4, 3) };
        WriteJson(dir.File("a.json"), masks, w, h);
        var map = SamMasks.ReadJson(dir.File("a.json"));
        Assert.Equal(new[] { 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3 }, map.Labels);
    }

    [Fact]
    public void AViewWhereSamFoundNothing_TakesTheCameraSize()
    {
        using var dir = new TempDir();
        WriteFolder(dir.File("empty"), [], 6, 4);
        File.WriteAllText(dir.File("empty.json"), "[]");
        foreach (var path in new[] { dir.File("empty"), dir.File("empty.json") })
        {
            var map = ImageIO.ReadLabels(path, 6, 4);
            Assert.Equal((6, 4), (map.Width, map.Height));
            Assert.All(map.Labels, l => Assert.Equal(0, l));
            var e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadLabels(path));
            Assert.Contains("no mask", e.Message);
        }
    }

    [Fact]
    public void BadSamOutput_IsAnErrorNamingTheFile()
    {
        using var dir = new TempDir();
        const int w = 4, h = 3;
        // A metadata.csv cut short (here: its header alone) leaves masks unlisted; the view came out all background.
        WriteFolder(dir.File("short"), [Rect(w, h, 0, 0, 1, 1), Rect(w, h, 1, 1, 2, 2)], w, h);
        var csv = dir.File(Path.Combine("short", "metadata.csv"));
        File.WriteAllLines(csv, [File.ReadLines(csv).First()]);
        var cut = Assert.Throws<InvalidDataException>(() => ImageIO.ReadLabels(dir.File("short")));
        Assert.StartsWith(csv + ": lists 0 masks, but the folder also holds 0.png, 1.png", cut.Message);

        WriteFolder(dir.File("v"), [Rect(w, h, 0, 0, 1, 1), Rect(w, h, 1, 1, 2, 2)], w, h);
        File.Delete(dir.File(Path.Combine("v", "1.png")));
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadLabels(dir.File("v")));
        Assert.Contains(Path.Combine("v", "1.png"), e.Message);
        Assert.Contains("metadata.csv lists mask 1", e.Message);

        WriteMaskPng(dir.File(Path.Combine("v", "1.png")), Rect(5, 3, 0, 0, 1, 1), 5, 3);
        e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadLabels(dir.File("v"), w, h));
        Assert.Contains("1.png: mask is 5x3, but the view's camera is 4x3", e.Message);

        File.WriteAllText(dir.File("bad.json"), """[{"segmentation": {"size": [3, 4], "counts": "3 2"}}]""");
        e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadLabels(dir.File("bad.json")));
        Assert.Contains("bad.json: annotation 0", e.Message);
        foreach (var seg in new[] { """{"counts": [12]}""", """{"size": ["3", "4"], "counts": [12]}""", """{"size": [3, 0], "counts": [0]}""" })
        {
            File.WriteAllText(dir.File("nosize.json"), "[{\"segmentation\": " + seg + "}]");
            e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadLabels(dir.File("nosize.json")));
            Assert.Contains("\"size\" must be [height, width]", e.Message);
        }
        // A corrupt size read without a camera (eval): refused before a mask of 2e9 pixels is allocated.
        File.WriteAllText(dir.File("huge.json"), "[{\"segmentation\": {\"size\": [40000, 50000], \"counts\": [2000000000]}}]");
        e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadLabels(dir.File("huge.json")));
        Assert.Contains("huge.json: annotation 0: segmentation \"size\" [40000, 50000] is over 268 million pixels", e.Message);
    }

    [Fact]
    public void ASceneWhoseMasksFolderIsAmgOutput_ReadsEachViewsMasksPainted()
    {
        // The generated scene's masks, given as SAM would: one binary mask per segment, plus a mask over the whole
        // view and one over two segments together (SAM's coarser levels). Painted smallest on top, each view gets back
        // its segments exactly (ids renamed). Half the views as folders, half as .json, one view as a plain .npy.
        using var dir = new TempDir();
        var scene = LayoutFixtures.Generated;
        LayoutFixtures.WriteNerfstudio(dir.Path, scene);
        var masksDir = Path.Combine(dir.Path, "masks");
        for (int k = 0; k < scene.Views.Count; k++)
        {
            var v = scene.Views[k];
            if (k == 0) continue; // keeps its .npy
            File.Delete(Path.Combine(masksDir, v.Name + ".npy"));
            WriteAsSam(v.Mask!, masksDir, v.Name, json: k % 2 == 0);
        }
        var read = SceneInspector.Read(dir.Path);
        Assert.True(read.HasMasks);
        Assert.Equal("4 of 5 views are Segment Anything's automatic masks (2 as folders of PNGs and 2 as RLE JSON), painted smallest on top",
            SceneInspector.Summarize(read).SamMasks);
        foreach (var v in scene.Views)
        {
            var got = SceneData.LoadMask(read, read.View(v.Name)).Labels;
            var want = v.Mask!.Labels;
            // The same partition: pixel pairs agree on "same segment" (background is the whole-view mask, id 1).
            var map = new Dictionary<int, int>();
            for (int i = 0; i < want.Length; i++)
            {
                Assert.True(map.TryAdd(want[i], got[i]) || map[want[i]] == got[i], $"view {v.Name}: segment {want[i]} read as two ids");
            }
            Assert.Equal(map.Count, map.Values.Distinct().Count());
        }

        // info: with view 0's label map (background 0) nothing to warn of; once every view's masks cover every pixel
        // (the whole-view mask), it says the masks give no background and how decoding will find it.
        string Info()
        {
            var output = new StringWriter();
            Assert.Equal(0, UniCLift.Client.Cli.Build().Parse(["info", dir.Path]).Invoke(new System.CommandLine.InvocationConfiguration { Output = output }));
            return output.ToString();
        }
        var before = Info();
        Assert.Contains("Segment Anything's automatic masks (2 as folders of PNGs and 2 as RLE JSON)", before);
        Assert.DoesNotContain("Background", before);
        File.Delete(Path.Combine(masksDir, scene.Views[0].Name + ".npy"));
        WriteAsSam(scene.Views[0].Mask!, masksDir, scene.Views[0].Name, json: false);
        var after = Info();
        Assert.Contains("5 of 5 views", after);
        Assert.Contains("not in the masks", after);
    }
}
