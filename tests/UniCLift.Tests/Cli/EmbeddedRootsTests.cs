namespace UniCLift.Tests.Cli;

using UniCLift.Client;
using UniCLift.Compute.Scenes;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Security;
using UniCLift.Tests.Readers;

/// <summary>The console's embedded silo gets the roots its command line needs, and no more.</summary>
public sealed class EmbeddedRootsTests : IDisposable
{
    private readonly string top = Directory.CreateTempSubdirectory("uniclift-embedded-roots-").FullName;

    public void Dispose() => Directory.Delete(top, recursive: true);

    [Fact]
    public void The_Embedded_Silo_May_Read_What_The_Scene_Names_Outside_Its_Folder_And_Keeps_Configured_Roots()
    {
        // A nerfstudio scene whose frames live in another scene's folder (file_path ../a/images/...).
        var a = Path.Combine(top, "a");
        LayoutFixtures.WriteNerfstudio(a, LayoutFixtures.Generated);
        var b = Directory.CreateDirectory(Path.Combine(top, "b")).FullName;
        File.WriteAllText(Path.Combine(b, "transforms.json"),
            File.ReadAllText(Path.Combine(a, "transforms.json")).Replace("\"images/", "\"../a/images/").Replace("\"sparse_pc.ply", "\"../a/sparse_pc.ply"));
        var output = Path.Combine(top, "out");
        var ply = Path.Combine(top, "model.ply");

        var options = new UniCLiftSiloOptions { SceneRoots = ["/configured/scenes"], OutputRoots = ["/configured/results"] };
        ClusterConnection.EmbeddedRoots([b], [output], ply)(options);

        Assert.Equal(["/configured/scenes", b, Path.Combine(a, "images"), a, ply], options.SceneRoots!);
        Assert.Equal(["/configured/results", output], options.OutputRoots!);
        var roots = new DataRoots(options.SceneRoots!, options.OutputRoots!);
        Scene scene;
        using (roots.ReadingScene(b)) scene = SceneInspector.Read(b);
        roots.CheckSceneFiles(scene);
        // Nothing else: a sibling folder the scene does not name, and the rest of the machine, are out.
        Assert.Throws<ArgumentException>(() => roots.CheckScene(Path.Combine(top, "c", "0000.png"), "image"));
        Assert.Throws<ArgumentException>(() => roots.CheckOutput(Path.Combine(top, "elsewhere"), "output directory"));

        // An unreadable scene adds only its own folder: the silo reads it and says what is wrong.
        var empty = new UniCLiftSiloOptions();
        ClusterConnection.EmbeddedRoots([Path.Combine(top, "missing")], [output], null)(empty);
        Assert.Equal([Path.Combine(top, "missing")], empty.SceneRoots!);
    }

    [Fact]
    public void A_3dgs_Outputs_Source_Path_Is_A_Root_Whether_Or_Not_It_Still_Exists()
    {
        // graphdeco's trainer writes its output apart from the data it trained on: cfg_args names that source_path, and
        // the reader checks it as named (the masks are there), so segment refused every real 3DGS output.
        var output = Path.Combine(top, "output", "3a1f2c");
        LayoutFixtures.WriteGraphdeco(output, LayoutFixtures.Generated, masksInSource: true);
        var garden = Path.Combine(top, "data", "garden");
        Directory.CreateDirectory(Path.GetDirectoryName(garden)!);
        Directory.Move(Path.Combine(output, "source"), garden);
        var cfg = Path.Combine(output, "cfg_args");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace(Path.Combine(output, "source"), garden));

        var options = new UniCLiftSiloOptions();
        ClusterConnection.EmbeddedRoots([output], [Path.Combine(top, "out")], null)(options);
        Assert.Contains(garden, options.SceneRoots!);
        var roots = new DataRoots(options.SceneRoots!, options.OutputRoots!);
        Scene scene;
        using (roots.ReadingScene(output)) scene = SceneInspector.Read(output);
        roots.CheckSceneFiles(scene);
        Assert.All(scene.Views, v => Assert.StartsWith(garden, v.MaskPath));

        // Moved from where it was trained: source_path is gone, and is no reason to refuse the output.
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace(garden, "/home/alice/data/garden"));
        Directory.Move(Path.Combine(garden, "masks"), Path.Combine(output, "masks"));
        var moved = new UniCLiftSiloOptions();
        ClusterConnection.EmbeddedRoots([output], [Path.Combine(top, "out")], null)(moved);
        Assert.Contains("/home/alice/data/garden", moved.SceneRoots!);
        var movedRoots = new DataRoots(moved.SceneRoots!, moved.OutputRoots!);
        using (movedRoots.ReadingScene(output)) scene = SceneInspector.Read(output);
        Assert.All(scene.Views, v => Assert.StartsWith(output, v.MaskPath));
    }
}
