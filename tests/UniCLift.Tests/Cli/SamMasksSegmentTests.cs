namespace UniCLift.Tests.Cli;

using UniCLift.Testing;
using UniCLift.Tests.IO;
using UniCLift.Tests.Readers;

/// <summary>`uniclift segment` (child process, embedded silo: the view grains load the masks) on a scene whose masks/
/// folder is Segment Anything's amg.py output trains exactly as on the same masks stored as label maps, as it does with
/// that output in a folder of its own named by --masks, and `eval` scores those SAM masks as a prediction.</summary>
public sealed class SamMasksSegmentTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("uniclift-sam-").FullName;
    private static string Uniclift => typeof(UniCLift.Client.Cli).Assembly.Location;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    private async Task<string> Segment(string scene, string name, params string[] more)
    {
        var output = Path.Combine(root, name);
        await using var cli = ChildProcess.Start(Uniclift, ["segment", scene, "--out", output, "--iterations", "30", .. more], root);
        var code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(180));
        Assert.True(code == 0, $"exit {code}; output:\n{cli.Output}");
        return output;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, d)));
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(f, Path.Combine(to, Path.GetRelativePath(from, f)));
    }

    [Fact]
    public async Task Segment_On_Amg_Output_Gives_The_Same_Results_As_On_Label_Maps()
    {
        var scene = LayoutFixtures.Generated;
        var plain = Path.Combine(root, "plain");
        var sam = Path.Combine(root, "sam");
        LayoutFixtures.WriteNerfstudio(plain, scene);
        LayoutFixtures.WriteNerfstudio(sam, scene);
        for (int k = 0; k < scene.Views.Count; k++)
        {
            var v = scene.Views[k];
            foreach (var dir in new[] { plain, sam })
                UniCLift.Compute.IO.ImageIO.WriteLabels16(Path.Combine(dir, "gt_instance", v.Name + ".png"), v.GtInstance!);
            File.Delete(Path.Combine(sam, "masks", v.Name + ".npy"));
            SamFixtures.WriteAsSamExact(v.Mask!, Path.Combine(sam, "masks"), v.Name, json: k % 2 == 0);
        }
        Assert.Empty(Directory.GetFiles(Path.Combine(sam, "masks"), "*.npy"));

        // The same amg.py output in a folder of its own, named on the command line: read from there by the view grains
        // and the trainer alike, and recorded in metrics.json for the report.
        var elsewhere = Path.Combine(root, "elsewhere");
        LayoutFixtures.WriteNerfstudio(elsewhere, scene);
        Directory.Delete(Path.Combine(elsewhere, "masks"), recursive: true);
        foreach (var v in scene.Views) UniCLift.Compute.IO.ImageIO.WriteLabels16(Path.Combine(elsewhere, "gt_instance", v.Name + ".png"), v.GtInstance!);
        CopyDirectory(Path.Combine(sam, "masks"), Path.Combine(elsewhere, "amg_out"));

        var a = await Segment(plain, "out-plain");
        var b = await Segment(sam, "out-sam");
        var c = await Segment(elsewhere, "out-elsewhere", "--masks", "amg_out");
        using (var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(c, "metrics.json"))))
            Assert.Equal(Path.Combine(elsewhere, "amg_out"), metrics.RootElement.GetProperty("masks").GetString());
        foreach (var f in Directory.GetFiles(Path.Combine(b, "instance"), "*.png"))
            Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(Path.Combine(c, "instance", Path.GetFileName(f))));

        // Decoding that result again without --masks reads the masks it was lifted from (its metrics.json says which):
        // the same label maps; the layout's own folder holds none.
        var before = Directory.GetFiles(Path.Combine(c, "instance"), "*.png").ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        await using (var again = ChildProcess.Start(Uniclift, ["segment", elsewhere, "--out", c, "--mode", "decode"], root))
        {
            var code = await again.WaitForExitAsync(TimeSpan.FromSeconds(180));
            Assert.True(code == 0, $"exit {code}; output:\n{again.Output}");
            Assert.Contains($"reading the masks the run lifted, as its metrics.json records them: {Path.Combine(elsewhere, "amg_out")}", again.Output);
        }
        foreach (var (name, bytes) in before)
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(c, "instance", name))), $"{name} changed");
        using (var metrics = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(c, "metrics.json"))))
            Assert.Equal(Path.Combine(elsewhere, "amg_out"), metrics.RootElement.GetProperty("masks").GetString());

        // The same through a batch (`submit --mode decode`): the coordinator reads the recorded masks itself.
        var batchRoot = Path.Combine(root, "batch");
        CopyDirectory(c, Path.Combine(batchRoot, "elsewhere"));
        foreach (var f in Directory.GetFiles(Path.Combine(batchRoot, "elsewhere", "instance"))) File.Delete(f);
        await using (var batch = ChildProcess.Start(Uniclift, ["submit", elsewhere, "--out", batchRoot, "--mode", "decode"], root))
        {
            var code = await batch.WaitForExitAsync(TimeSpan.FromSeconds(180));
            Assert.True(code == 0, $"exit {code}; output:\n{batch.Output}");
        }
        foreach (var (name, bytes) in before)
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(batchRoot, "elsewhere", "instance", name))), $"{name} differs in the batch's output");

        var predictions = Directory.GetFiles(Path.Combine(a, "instance"), "*.png").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(scene.Views.Count, predictions.Length);
        Assert.Equal(predictions, Directory.GetFiles(Path.Combine(b, "instance"), "*.png").Select(Path.GetFileName).Order().ToArray());
        foreach (var f in predictions)
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, "instance", f!)), File.ReadAllBytes(Path.Combine(b, "instance", f!)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model.ply")), File.ReadAllBytes(Path.Combine(b, "model.ply")));

        // The raw masks scored as a prediction read the same through either form (eval reads label maps as PNGs).
        var pngs = Path.Combine(root, "masks-png");
        foreach (var v in scene.Views) UniCLift.Compute.IO.ImageIO.WriteLabels16(Path.Combine(pngs, v.Name + ".png"), v.Mask!);
        await using var e1 = ChildProcess.Start(Uniclift, ["eval", "--scene", plain, "--pred", pngs, "--split", "train"], root);
        await using var e2 = ChildProcess.Start(Uniclift, ["eval", "--scene", sam, "--pred", Path.Combine(sam, "masks"), "--split", "train"], root);
        Assert.Equal(0, await e1.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, await e2.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        string Last(string output) => output.Trim().Split('\n')[^1];
        Assert.StartsWith("PQ_scene=", Last(e1.Output));
        Assert.Equal(Last(e1.Output), Last(e2.Output));
        Assert.DoesNotContain("no prediction", e1.Output + e2.Output);
    }
}
