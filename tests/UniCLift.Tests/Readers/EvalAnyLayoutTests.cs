namespace UniCLift.Tests.Readers;

using System.Text.Json.Nodes;
using UniCLift.Client.Commands;
using UniCLift.Client.Terminal;
using UniCLift.Compute.IO;
using UniCLift.Tests.IO;
using static LayoutFixtures;

public class EvalAnyLayoutTests
{
    [Fact]
    public void Eval_MessyRooms_IsTwoClassOnTheLast20Percent()
    {
        using var dir = new TempDir();
        var scene = Path.Combine(dir.Path, "scene");
        WriteMessyRooms(scene, Generated);
        var pred = Path.Combine(dir.Path, "pred");
        // Perfect prediction for the test frame (the last), ids renumbered: PQ^scene is id-invariant.
        var last = Generated.Views[^1];
        ImageIO.WriteLabels16(Path.Combine(pred, last.Name + ".png"), new(last.GtInstance!.Width, last.GtInstance.Height, last.GtInstance.Labels.Select(l => l == 0 ? 0 : l + 40).ToArray()));
        var o = new StringWriter();
        var code = EvalCommand.Run(new EvalCommand.EvalSettings(scene, pred, null, "test", "auto", true, 512, true), new CommandConsole(o, new StringWriter()));
        Assert.Equal(0, code);
        var json = JsonNode.Parse(o.ToString())!;
        Assert.Equal("two-class", json["protocol"]!.GetValue<string>());
        Assert.Equal(1, json["frames"]!.GetValue<int>());
        Assert.Equal(0, json["missing_frames"]!.GetValue<int>());
        Assert.Equal(100.0, json["pq_scene"]!.GetValue<double>(), 6);
    }
}
