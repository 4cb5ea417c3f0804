namespace UniCLift.Tests.Export;

using UniCLift.Client.Commands;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Export;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Tests.IO;

public class ResultExportTests
{
    private const int N = 7, D = 12;
    private static readonly int[] Ids = [0, 3, 3, 5, 0, 3, 5];

    /// <summary>A result folder: labels.ply (SH degree 1, instance + emb_0..11) and two instance maps.</summary>
    private static void WriteResult(string dir)
    {
        var extra = new Dictionary<string, float[]> { ["instance"] = Ids.Select(i => (float)i).ToArray() };
        for (int k = 0; k < D; k++) extra[$"emb_{k}"] = Enumerable.Range(0, N).Select(i => i * 100f + k).ToArray();
        var cloud = new GaussianCloud
        {
            Count = N,
            Means = Enumerable.Range(0, N * 3).Select(i => (float)(i * 0.5)).ToArray(),
            Normals = new float[N * 3],
            ShDc = Enumerable.Range(0, N * 3).Select(i => (float)i).ToArray(),
            ShRest = Enumerable.Range(0, N * 9).Select(i => (float)-i).ToArray(),
            ShDegree = 1,
            Opacity = Enumerable.Range(0, N).Select(i => (float)i / 10).ToArray(),
            LogScales = Enumerable.Range(0, N * 3).Select(i => -(float)i).ToArray(),
            Rotations = Enumerable.Range(0, N * 4).Select(i => (float)i).ToArray(),
            Extra = extra,
        };
        GaussianPly.Write(Path.Combine(dir, "labels.ply"), cloud);
        var a = new LabelMap(4, 2, [3, 3, 3, 5, 0, 0, 0, 0]); // 3: 3 px, 5: 1 px
        var b = new LabelMap(4, 2, [5, 5, 5, 5, 3, 0, 0, 0]); // 5: 4 px, 3: 1 px
        ImageIO.WriteLabels16(Path.Combine(dir, "instance", "a.png"), a);
        ImageIO.WriteLabels16(Path.Combine(dir, "instance", "b.png"), b);
    }

    [Fact]
    public void ExportInstance_WritesOnlyThatInstancesRows_WithEveryProperty()
    {
        using var dir = new TempDir();
        WriteResult(dir.Path);
        var outPath = dir.File("obj3.ply");
        Assert.Equal(3, ResultExport.ExportInstance(dir.Path, 3, outPath));
        var all = GaussianPly.Read(dir.File("labels.ply"));
        var obj = GaussianPly.Read(outPath);
        Assert.Equal(3, obj.Count);
        Assert.Equal(1, obj.ShDegree);
        int[] rows = [1, 2, 5];
        for (int j = 0; j < rows.Length; j++)
        {
            int i = rows[j];
            Assert.Equal(all.Means.Skip(i * 3).Take(3), obj.Means.Skip(j * 3).Take(3));
            Assert.Equal(all.ShRest.Skip(i * 9).Take(9), obj.ShRest.Skip(j * 9).Take(9));
            Assert.Equal(all.Rotations.Skip(i * 4).Take(4), obj.Rotations.Skip(j * 4).Take(4));
            Assert.Equal(all.Opacity[i], obj.Opacity[j]);
            Assert.Equal(3f, obj.Extra["instance"][j]);
            Assert.Equal(all.Extra["emb_11"][i], obj.Extra["emb_11"][j]);
        }
        Assert.Equal(all.Extra.Keys, obj.Extra.Keys);
        var e = Assert.Throws<ArgumentException>(() => ResultExport.ExportInstance(dir.Path, 4, outPath));
        Assert.Contains("labels.ply", e.Message);
        Assert.Contains("0, 3, 5", e.Message);
    }

    [Fact]
    public void ExportAll_WritesEveryInstanceAndTheBackground_AsPlysOfTheirOwn_AndAnIndex()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("instance"));
        WriteResult(dir.Path);
        var all = GaussianPly.Read(dir.File("labels.ply"));
        var output = new StringWriter();
        var console = new CommandConsole(output, new StringWriter());
        var outDir = dir.File("objects"); // a new folder inside the result is fine
        Assert.Equal(ExitCodes.Ok, ExportCommand.Run(dir.Path, null, outDir, false, null, console, all: true));
        Assert.Contains("Wrote 2 instances and the background (7 Gaussians)", output.ToString());

        foreach (var (id, file) in new[] { (0, "background.ply"), (3, "instance_0003.ply"), (5, "instance_0005.ply") })
        {
            var part = GaussianPly.Read(Path.Combine(outDir, file));
            var rows = Enumerable.Range(0, N).Where(i => Ids[i] == id).ToArray();
            Assert.Equal(rows.Length, part.Count);
            Assert.Equal(rows.SelectMany(i => all.Means.Skip(i * 3).Take(3)), part.Means);
            Assert.Equal(rows.SelectMany(i => all.ShRest.Skip(i * 9).Take(9)), part.ShRest);
            Assert.All(part.Extra["instance"], v => Assert.Equal(id, v));
        }
        using var index = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "instances.json")));
        Assert.Equal(new[] { (0, "background.ply", 2), (3, "instance_0003.ply", 3), (5, "instance_0005.ply", 2) },
            index.RootElement.EnumerateArray().Select(e => (e.GetProperty("id").GetInt32(), e.GetProperty("file").GetString()!, e.GetProperty("gaussians").GetInt32())));
        Assert.Equal(4, Directory.GetFiles(outDir).Length);

        // The folder just written is an earlier export: exported again, replaced (it was refused as not empty).
        var before = File.ReadAllBytes(Path.Combine(outDir, "instance_0003.ply"));
        File.WriteAllText(Path.Combine(outDir, "instance_0099.ply"), "an instance the result no longer has");
        Assert.Equal(ExitCodes.Ok, ExportCommand.Run(dir.Path, null, outDir, false, null, console, all: true));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(outDir, "instance_0003.ply")));
        Assert.False(File.Exists(Path.Combine(outDir, "instance_0099.ply")));
        Assert.Equal(4, Directory.GetFiles(outDir).Length);
        // A folder of anything else (the result folder itself, an export beside someone's notes) is refused, nothing written over.
        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");
        foreach (var target in new[] { outDir, dir.Path })
        {
            var e = Assert.Throws<ArgumentException>(() => ExportCommand.Run(dir.Path, null, target, false, null, console, all: true));
            Assert.Contains("is not empty", e.Message);
        }
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(outDir, "instance_0003.ply")));
        Assert.Throws<ArgumentException>(() => ExportCommand.Run(dir.Path, null, null, false, null, console, all: true)); // no --out
        Assert.Throws<ArgumentException>(() => ExportCommand.Run(dir.Path, 3, outDir, false, null, console, all: true)); // two modes
    }

    [Fact]
    public void ListInstances_CountsBoxesAndLargestViews()
    {
        using var dir = new TempDir();
        WriteResult(dir.Path);
        var list = ResultExport.ListInstances(dir.Path);
        Assert.Equal([0, 3, 5], list.Select(s => s.Id));
        var i3 = list[1];
        Assert.Equal(3, i3.Gaussians);
        // Gaussians 1, 2, 5 of instance 3: means (3i, 3i+1, 3i+2) * 0.5.
        Assert.Equal([1.5f, 2f, 2.5f], i3.Min);
        Assert.Equal([7.5f, 8f, 8.5f], i3.Max);
        Assert.Equal([("a", 3), ("b", 1)], i3.LargestViews);
        Assert.Equal([("b", 4), ("a", 1)], list[2].LargestViews);
    }

    [Fact]
    public void ExportEmbeddings_WritesNx12Float32AndInt32Instances()
    {
        using var dir = new TempDir();
        WriteResult(dir.Path);
        var r = ResultExport.ExportEmbeddings(dir.Path, dir.File("emb.npy"));
        Assert.Equal(dir.File("emb_instances.npy"), r.Instances);
        var emb = Npy.Read(r.Embeddings);
        Assert.Equal([N, D], emb.Shape);
        Assert.Equal("<f4", emb.Dtype);
        var v = emb.ToSingle();
        Assert.Equal(4 * 100f + 7, v[4 * D + 7]);
        var inst = Npy.Read(r.Instances);
        Assert.Equal([N], inst.Shape);
        Assert.Equal("<i4", inst.Dtype);
        Assert.Equal(Ids, inst.ToInt32());
    }

    [Fact]
    public void MalformedPly_NamesTheFile()
    {
        using var dir = new TempDir();
        WriteResult(dir.Path);
        var path = dir.File("labels.ply");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 10)]); // truncated body
        var e = Assert.Throws<InvalidDataException>(() => ResultExport.ListInstances(dir.Path));
        Assert.Contains(path, e.Message);

        // A 3DGS PLY without the instance property is not a result.
        GaussianPly.Write(path, new GaussianCloud { Count = 1, Means = new float[3], Normals = new float[3], ShDc = new float[3], Opacity = new float[1], LogScales = new float[3], Rotations = [1, 0, 0, 0] });
        e = Assert.Throws<InvalidDataException>(() => ResultExport.ExportEmbeddings(dir.Path, dir.File("x.npy")));
        Assert.Contains(path, e.Message);
        Assert.Contains("instance", e.Message);
    }

    [Fact]
    public void Command_ListsAndRejectsAmbiguousModes()
    {
        using var dir = new TempDir();
        WriteResult(dir.Path);
        var o = new StringWriter();
        var console = new CommandConsole(o, new StringWriter());
        Assert.Equal(0, ExportCommand.Run(dir.Path, null, null, true, null, console));
        Assert.Contains("2 instances, 7 Gaussians", o.ToString());
        Assert.Contains("a (3)", o.ToString());
        Assert.Throws<ArgumentException>(() => ExportCommand.Run(dir.Path, 3, null, true, null, console));
        Assert.Throws<ArgumentException>(() => ExportCommand.Run(dir.Path, 3, null, false, null, console));
        Assert.Equal(0, ExportCommand.Run(dir.Path, 5, dir.File("o.ply"), false, null, console));
        Assert.Equal(2, GaussianPly.Read(dir.File("o.ply")).Count);
        // A directory where the file goes: one line saying so (was an IOException, exit 1).
        var folder = Directory.CreateDirectory(dir.File("folder")).FullName;
        Assert.Contains("--out " + folder + " is a directory", Assert.Throws<ArgumentException>(() => ExportCommand.Run(dir.Path, 5, folder, false, null, console)).Message);
        Assert.Contains("--embeddings " + folder + " is a directory", Assert.Throws<ArgumentException>(() => ExportCommand.Run(dir.Path, null, null, false, folder, console)).Message);
    }

    [Fact]
    public void Command_RefusesToWriteAnObjectOverTheResultsOwnFiles()
    {
        using var dir = new TempDir();
        WriteResult(dir.Path);
        var console = new CommandConsole(new StringWriter(), new StringWriter());
        var labels = File.ReadAllBytes(dir.File("labels.ply"));
        File.WriteAllBytes(dir.File("model.ply"), labels);
        // Was exit 0 with the trained model replaced by one object's Gaussians.
        foreach (var name in new[] { "model.ply", "labels.ply", "training.json" })
        {
            var e = Assert.Throws<ArgumentException>(() => ExportCommand.Run(dir.Path, 5, dir.File(name), false, null, console));
            Assert.Contains($"is the result's own {name}", e.Message);
        }
        Assert.Equal(labels, File.ReadAllBytes(dir.File("model.ply")));
        Assert.Equal(labels, File.ReadAllBytes(dir.File("labels.ply")));
        Assert.False(File.Exists(dir.File("training.json")));
        // Another file in the result folder is fine.
        Assert.Equal(0, ExportCommand.Run(dir.Path, 5, dir.File("object5.ply"), false, null, console));
    }
}
