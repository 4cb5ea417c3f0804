namespace UniCLift.Cluster.Tests;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Scenes;
using UniCLift.Grains.Security;

/// <summary>The path checks themselves, on real folders, files and symbolic links (no silo).</summary>
public sealed class DataRootsTests : IDisposable
{
    private readonly string top = Directory.CreateTempSubdirectory("uniclift-roots-").FullName;
    private readonly string scenes, results, outside, checkpoints;
    private readonly DataRoots roots;

    public DataRootsTests()
    {
        scenes = Directory.CreateDirectory(Path.Combine(top, "scenes")).FullName;
        results = Directory.CreateDirectory(Path.Combine(top, "results")).FullName;
        outside = Directory.CreateDirectory(Path.Combine(top, "outside")).FullName;
        checkpoints = Directory.CreateDirectory(Path.Combine(top, "results", "ckpt")).FullName;
        File.WriteAllText(Path.Combine(outside, "secret"), "not for clients");
        Directory.CreateDirectory(Path.Combine(scenes, "room"));
        roots = new DataRoots([scenes], [results], checkpoints);
    }

    public void Dispose() => Directory.Delete(top, recursive: true);

    [Theory]
    [InlineData(null, null, "/data/scenes", "/data/results")] // a silo that configures nothing is confined to the k8s volume's folders
    [InlineData("/a:/b/", null, "/a|/b", "/data/results")] // one value, ':' between directories (env UniCLift__SceneRoots)
    [InlineData(null, "list", "/data/scenes", "/r0|/r1")] // a list (UniCLift:OutputRoots:0, :1)
    public void Silo_Configuration_Sets_The_Roots(string? scenesValue, string? outputsValue, string expectedScenes, string expectedOutputs)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        var settings = new Dictionary<string, string?>();
        if (scenesValue is not null) settings["UniCLift:SceneRoots"] = scenesValue;
        if (outputsValue is not null) (settings["UniCLift:OutputRoots:0"], settings["UniCLift:OutputRoots:1"]) = ("/r0", "/r1");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddUniCLiftSilo(o => { o.SiloPort = TestPorts.Free(); o.GatewayPort = TestPorts.Free(); });
        using var host = builder.Build();
        var configured = host.Services.GetRequiredService<DataRoots>();
        Assert.Equal(expectedScenes.Split('|'), configured.SceneRoots);
        Assert.Equal(expectedOutputs.Split('|'), configured.OutputRoots);
    }

    [Fact]
    public void A_Path_Under_A_Root_Passes_Whether_Or_Not_It_Exists_Yet()
    {
        roots.CheckScene(Path.Combine(scenes, "room"), "scene directory");
        roots.CheckScene(scenes, "scene directory");
        roots.CheckOutput(Path.Combine(results, "new", "deeper", "labels.ply"), "output directory");
        roots.CheckReadable(Path.Combine(results, "r", "model.ply"), "initial PLY");
        roots.CheckReadable(Path.Combine(scenes, "room", "points.ply"), "initial PLY");
        // A root with a trailing separator, and "/" as the explicitly unconfined root.
        new DataRoots([scenes + "/"], [results + "/"]).CheckScene(Path.Combine(scenes, "room"), "scene directory");
        new DataRoots(["/"], ["/"]).CheckOutput(Path.Combine(outside, "anything"), "output directory");
    }

    [Fact]
    public void Dot_Dot_Escaping_A_Root_Is_Refused_With_The_Path_And_The_Roots()
    {
        var escape = Path.Combine(scenes, "room", "..", "..", "outside");
        var e = Assert.Throws<ArgumentException>(() => roots.CheckScene(escape, "scene directory"));
        Assert.Equal($"scene directory {escape} is outside the silo's scene roots ({scenes}).", e.Message);
        // A sibling whose name starts like the root is not under it.
        var sibling = scenes + "-evil";
        Assert.Contains("is outside the silo's scene roots", Assert.Throws<ArgumentException>(() => roots.CheckScene(sibling, "scene directory")).Message);
    }

    [Fact]
    public void An_Absolute_Path_Elsewhere_Gets_The_Same_Answer_Whether_It_Exists_Or_Not()
    {
        var existing = Path.Combine(outside, "secret");
        var missing = Path.Combine(outside, "no-such-file");
        var a = Assert.Throws<ArgumentException>(() => roots.CheckScene(existing, "image")).Message;
        var b = Assert.Throws<ArgumentException>(() => roots.CheckScene(missing, "image")).Message;
        Assert.Equal($"image {existing} is outside the silo's scene roots ({scenes}).", a);
        Assert.Equal(a.Replace(existing, missing), b);
        Assert.Equal(
            Assert.Throws<ArgumentException>(() => roots.CheckOutput("/etc/shadow", "label map")).Message.Replace("/etc/shadow", "/etc/no-such"),
            Assert.Throws<ArgumentException>(() => roots.CheckOutput("/etc/no-such", "label map")).Message);
        Assert.Contains("scene directory is empty", Assert.Throws<ArgumentException>(() => roots.CheckScene("", "scene directory")).Message);
    }

    [Fact]
    public void A_Symbolic_Link_Inside_A_Root_That_Points_Outside_Is_Refused()
    {
        var link = Path.Combine(scenes, "link");
        Directory.CreateSymbolicLink(link, outside);
        var fileLink = Path.Combine(results, "file-link");
        File.CreateSymbolicLink(fileLink, Path.Combine(outside, "secret"));
        var dangling = Path.Combine(results, "dangling");
        File.CreateSymbolicLink(dangling, Path.Combine(outside, "would-be-created"));
        var relative = Path.Combine(results, "relative");
        Directory.CreateSymbolicLink(relative, "../outside");

        var e = Assert.Throws<ArgumentException>(() => roots.CheckScene(Path.Combine(link, "secret"), "image"));
        Assert.Equal($"image {Path.Combine(link, "secret")} is outside the silo's scene roots ({scenes}): it leads out of them through a symbolic link.", e.Message);
        Assert.Throws<ArgumentException>(() => roots.CheckScene(link, "scene directory"));
        Assert.Throws<ArgumentException>(() => roots.CheckOutput(fileLink, "label map"));
        Assert.Throws<ArgumentException>(() => roots.CheckOutput(dangling, "label map"));
        Assert.Throws<ArgumentException>(() => roots.CheckOutput(Path.Combine(relative, "new", "x.png"), "label map"));
        // '..' after a link goes to the link target's parent, as the operating system resolves it.
        Directory.CreateSymbolicLink(Path.Combine(scenes, "deep"), Path.Combine(outside));
        Directory.CreateDirectory(Path.Combine(outside, "sub"));
        Assert.Throws<ArgumentException>(() => roots.CheckScene(Path.Combine(scenes, "deep", "sub", "..", "secret"), "image"));
        // A loop of links is refused, not followed forever.
        File.CreateSymbolicLink(Path.Combine(scenes, "loop-a"), Path.Combine(scenes, "loop-b"));
        File.CreateSymbolicLink(Path.Combine(scenes, "loop-b"), Path.Combine(scenes, "loop-a"));
        Assert.Throws<ArgumentException>(() => roots.CheckScene(Path.Combine(scenes, "loop-a"), "image"));
    }

    [Fact]
    public void Links_That_Stay_Inside_And_A_Root_That_Is_A_Link_Pass()
    {
        Directory.CreateSymbolicLink(Path.Combine(scenes, "alias"), Path.Combine(scenes, "room"));
        roots.CheckScene(Path.Combine(scenes, "alias", "color", "0000.jpg"), "image");
        var linkedRoot = Path.Combine(top, "linked-scenes");
        Directory.CreateSymbolicLink(linkedRoot, scenes);
        var viaLink = new DataRoots([linkedRoot], [results]);
        viaLink.CheckScene(Path.Combine(linkedRoot, "room"), "scene directory");
        viaLink.CheckScene(Path.Combine(scenes, "room"), "scene directory"); // the root's real path
        Assert.Throws<ArgumentException>(() => viaLink.CheckScene(Path.Combine(outside, "secret"), "image"));
    }

    [Fact]
    public void A_Scene_Is_Read_Only_Through_Paths_Under_The_Roots_Whatever_Its_Files_Name()
    {
        // A nerfstudio scene whose transforms.json names a file outside: refused before the reader looks at it.
        var nerf = Directory.CreateDirectory(Path.Combine(scenes, "nerf")).FullName;
        File.WriteAllText(Path.Combine(nerf, "transforms.json"),
            """{"fl_x": 10, "frames": [{"file_path": "../../outside/secret", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}""");
        var e = Assert.Throws<ArgumentException>(() => { using (roots.ReadingScene(nerf)) UniCLift.Compute.Scenes.SceneInspector.Read(nerf); });
        Assert.Equal($"image (frames[0].file_path of {Path.Combine(nerf, "transforms.json")}) {Path.Combine(outside, "secret")} is outside the silo's scene roots ({scenes}).", e.Message);
        // Without the guard (the console reading its own user's files) the reader goes where the scene says.
        Assert.IsNotType<ArgumentException>(Record.Exception(() => UniCLift.Compute.Scenes.SceneInspector.Read(nerf)));

        // A link inside the scene folder that leads out, whatever the layout.
        var linked = Directory.CreateDirectory(Path.Combine(scenes, "linked", "color")).FullName;
        File.CreateSymbolicLink(Path.Combine(linked, "0000.jpg"), Path.Combine(outside, "secret"));
        Assert.Equal($"file of scene {Path.Combine(scenes, "linked")} {Path.Combine(linked, "0000.jpg")} is outside the silo's scene roots ({scenes}): it leads out of them through a symbolic link.",
            Assert.Throws<ArgumentException>(() => roots.ReadingScene(Path.Combine(scenes, "linked"))).Message);
        // A folder of the scene that is a link out, deeper down; links that stay inside are fine.
        var deep = Directory.CreateDirectory(Path.Combine(scenes, "deep-scene", "sparse", "0")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(deep, "images"), Path.Combine(scenes, "room"));
        roots.ReadingScene(Path.Combine(scenes, "deep-scene")).Dispose();
        Directory.CreateSymbolicLink(Path.Combine(deep, "masks"), outside);
        Assert.Contains("leads out of them through a symbolic link",
            Assert.Throws<ArgumentException>(() => roots.ReadingScene(Path.Combine(scenes, "deep-scene"))).Message);
    }

    [Fact]
    public void Outputs_Never_Go_Into_The_Checkpoint_Directory()
    {
        var e = Assert.Throws<ArgumentException>(() => roots.CheckOutput(Path.Combine(checkpoints, "x"), "output directory"));
        Assert.Equal($"output directory {Path.Combine(checkpoints, "x")} is inside the silo's checkpoint directory ({checkpoints}); results go under the output roots ({results}), outside it.", e.Message);
        roots.CheckReadable(Path.Combine(results, "ckpt-not"), "initial PLY");
    }

    [Fact]
    public void A_Scene_Key_Is_An_Id_Not_A_Path_For_Its_Checkpoints()
    {
        foreach (var key in new[] { "../x", "..", ".", "/etc", "a/../../b", "b1.000.room", "..\\x", "" })
        {
            var name = SceneCheckpoints.DirectoryName(key);
            Assert.Matches("^[A-Za-z0-9._-]*-[0-9a-f]{32}$", name);
            var c = new SceneCheckpoints(checkpoints, key);
            Assert.Equal(checkpoints, Path.GetDirectoryName(c.Directory));
        }
        Assert.StartsWith("b1.000.room-", SceneCheckpoints.DirectoryName("b1.000.room"));
        Assert.NotEqual(SceneCheckpoints.DirectoryName("a/b"), SceneCheckpoints.DirectoryName("a_b"));

        // Writing and pruning act inside the derived folder only: a ckpt file next to where "../x" would resolve survives.
        var bait = Path.Combine(top, "results", "x");
        Directory.CreateDirectory(bait);
        File.WriteAllText(Path.Combine(bait, "ckpt-00000001.bin"), "someone else's");
        var checkpointsOfKey = new SceneCheckpoints(checkpoints, "../x", keep: 1);
        for (int step = 1; step <= 3; step++) checkpointsOfKey.Write(step, s => s.WriteByte(1));
        Assert.Single(checkpointsOfKey.List());
        Assert.True(File.Exists(Path.Combine(bait, "ckpt-00000001.bin")));
        Assert.Empty(Directory.GetFiles(top, "ckpt-*", SearchOption.TopDirectoryOnly));
        Assert.Equal([checkpointsOfKey.Directory], Directory.GetDirectories(checkpoints));
    }

    [Fact]
    public void Checkpoints_Of_A_Scene_Training_Across_The_Upgrade_Are_Taken_Over_From_The_Old_Folder_Only_For_Plain_Ids()
    {
        var log = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var old = Directory.CreateDirectory(Path.Combine(checkpoints, "b1.000.room")).FullName;
        File.WriteAllText(Path.Combine(old, "ckpt-00000200.bin"), "step 200");
        SceneRunner.AdoptLegacyCheckpoints(checkpoints, "b1.000.room", log);
        var c = new SceneCheckpoints(checkpoints, "b1.000.room");
        Assert.Equal([(200, Path.Combine(c.Directory, "ckpt-00000200.bin"))], c.List());
        Assert.False(Directory.Exists(old));

        // Not a plain name, or a link: left where it is.
        Directory.CreateDirectory(Path.Combine(outside, "x"));
        SceneRunner.AdoptLegacyCheckpoints(Path.Combine(checkpoints, "sub"), "../outside/x", log);
        Assert.True(Directory.Exists(Path.Combine(outside, "x")));
        Directory.CreateSymbolicLink(Path.Combine(checkpoints, "linked"), outside);
        SceneRunner.AdoptLegacyCheckpoints(checkpoints, "linked", log);
        Assert.False(Directory.Exists(new SceneCheckpoints(checkpoints, "linked").Directory));
        Assert.True(File.Exists(Path.Combine(outside, "secret")));
    }

    [Fact]
    public void A_Link_Planted_As_A_Scenes_Checkpoint_Folder_Is_Not_Followed()
    {
        var c = new SceneCheckpoints(checkpoints, "victim");
        Directory.CreateSymbolicLink(c.Directory, outside);
        File.WriteAllText(Path.Combine(outside, "ckpt-00000001.bin"), "not a checkpoint of ours");
        Assert.Contains("is a symbolic link", Assert.Throws<IOException>(() => c.Write(5, s => s.WriteByte(1))).Message);
        Assert.Throws<IOException>(() => c.List());
        Assert.True(File.Exists(Path.Combine(outside, "ckpt-00000001.bin")));
        Assert.False(File.Exists(Path.Combine(outside, "ckpt-00000005.bin")));
    }
}
