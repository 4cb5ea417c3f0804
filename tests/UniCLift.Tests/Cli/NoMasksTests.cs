namespace UniCLift.Tests.Cli;

using UniCLift.Compute.Synthetic;
using UniCLift.Testing;

/// <summary>A scene without instance masks fails with the view, the folders looked in and --masks named (it said "has
/// views without a predicted instance mask" and nothing to act on).</summary>
public sealed class NoMasksTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("uniclift-nomasks-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_Scene_Without_Masks_Says_Where_They_Go()
    {
        var scene = Path.Combine(root, "scene");
        SyntheticSceneWriter.Write(scene, SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Seed = 1, Objects = 2, Views = 4, Width = 32, Height = 24, PointCount = 500 }));
        foreach (var d in Directory.GetDirectories(scene).Where(d => Path.GetFileName(d) is "m2f_instance" or "masks" or "instance" or "detic_instance"))
            Directory.Delete(d, recursive: true);
        await using var cli = ChildProcess.Start(typeof(UniCLift.Client.Cli).Assembly.Location, ["segment", scene, "--out", Path.Combine(root, "out"), "--iterations", "5"], root);
        Assert.Equal(2, await cli.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Contains("has no predicted instance masks (view '0000' has none)", cli.Output);
        Assert.Contains("masks/, m2f_instance/", cli.Output);
        Assert.Contains("--masks DIR", cli.Output);
    }
}
