namespace UniCLift.Tests.Cli;

using UniCLift.Client;
using UniCLift.Grains;

/// <summary>The text beside a scene's progress bar on a terminal fits what the other columns leave (it was the whole
/// 150-character status line, and on an 80-, 100- or 120-column terminal every refresh drew "…" alone).</summary>
public sealed class ProgressTextTests
{
    private static BatchSceneStatus Training(string batch) => new("/data/scene", $"{batch}.000.kitchen", new SceneStatus
    {
        SceneId = $"{batch}.000.kitchen", State = SceneState.Training, Step = 1234, Iterations = 2000, Gaussians = 86_094,
        Losses = new SceneLosses(-0.4500, 0.0128, -5.494, 0.785, 0.082), Resumes = 1, MillisecondsPerStep = 50, Silo = "Silo_eab43",
    }, 0);

    [Fact]
    public void The_Bar_Text_Fits_Its_Room_And_Keeps_What_Matters_First()
    {
        const string batch = "b20261207-214555-300b";
        var s = Training(batch);
        Assert.True(BatchConsole.Describe(s).Length > 100); // what the bar showed before
        foreach (int room in new[] { 16, 20, 39, 59, 79, 159 })
            Assert.True(BatchConsole.BarText(s, batch, room).Length <= room, $"room {room}: '{BatchConsole.BarText(s, batch, room)}'");
        // 80 columns leave 39: the scene without its batch id, its state and step, then what fits.
        Assert.Equal("000.kitchen training 1234/2000", BatchConsole.BarText(s, batch, 39));
        Assert.Equal("000.kitchen training 1234/2000, loss -0.4500, 86,094 G", BatchConsole.BarText(s, batch, 59));
        Assert.Equal("000.kitchen training 1234/2000, loss -0.4500, 86,094 G, resumes 1", BatchConsole.BarText(s, batch, 159));
        // Too little room: cut, said so.
        Assert.Equal("000.kitchen tra…", BatchConsole.BarText(s, batch, 16));
        // A failure's sentence keeps no stop before the silo (it read "., on Silo_1").
        var failed = s with { Status = s.Status with { State = SceneState.Failed, Error = "output directory /o holds files of something else." } };
        Assert.EndsWith("error: output directory /o holds files of something else, on Silo_eab43", BatchConsole.Describe(failed));
        // A scene id of another batch keeps its whole id.
        Assert.StartsWith("other.000.kitchen training", BatchConsole.BarText(Training("other"), batch, 80));
    }
}
