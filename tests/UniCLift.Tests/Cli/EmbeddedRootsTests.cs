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
}
