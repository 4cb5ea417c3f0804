namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using UniCLift.Compute.Scenes;

/// <summary>`uniclift info SCENE_DIR`: detect the layout, read the scene and print a summary.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("scene") { Description = "Scene directory: Panoptic Lifting, Messy Rooms, 3DGS output, nerfstudio or COLMAP layout." };
        var sample = new Option<int>("--sample") { Description = "Views to load for the mask statistics.", DefaultValueFactory = _ => 8 };
        var cmd = new Command("info", "Show what a scene directory holds: layout, views, size, splits, depth, masks, ground truth.");
        cmd.Arguments.Add(dir);
        cmd.Options.Add(sample);
        cmd.SetAction(pr => Run(pr.GetValue(dir)!, pr.GetValue(sample), AnsiConsole.Console));
        return cmd;
    }

    /// <summary>Exit codes: 0 ok, 2 the scene cannot be read (message names the file).</summary>
    internal static int Run(string dir, int sampleViews, IAnsiConsole console)
    {
        SceneSummary s;
        try
        {
            s = SceneInspector.Inspect(dir, sampleViews);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
        {
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return 2;
        }

        string F(double v, string fmt = "0.0") => v.ToString(fmt, CultureInfo.InvariantCulture);
        string Yes(bool b) => b ? "[green]yes[/]" : "[grey]no[/]";
        var t = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("").AddColumn("");
        t.AddRow("Scene", Markup.Escape(s.Root));
        t.AddRow("Layout", Markup.Escape($"{s.Layout}: {LayoutName(s.Layout)}"));
        t.AddRow("Views", s.ViewCount.ToString(CultureInfo.InvariantCulture));
        t.AddRow("Image size", $"{s.Width}x{s.Height}" + (s.UniformSize ? "" : " [yellow](first view; sizes differ)[/]"));
        t.AddRow("Splits", $"train {s.TrainCount}, test {s.TestCount}");
        t.AddRow("Depth", Yes(s.HasDepth));
        t.AddRow("Instance masks", Yes(s.HasMasks));
        t.AddRow("Semantic masks", Yes(s.HasMaskSemantics));
        t.AddRow("Ground truth", Yes(s.HasGroundTruth));
        t.AddRow("Point cloud", s.PointCloudPath is null ? "[grey]none[/]" : Markup.Escape(s.PointCloudPath));
        if (s.HasMasks)
        {
            t.AddRow("Mask segments / view", $"{F(s.MeanSegmentsPerView)} (sample of {s.SampledViews})");
            t.AddRow("Max mask id", s.MaxMaskId.ToString(CultureInfo.InvariantCulture));
            t.AddRow("Unlabelled pixels", F(100 * s.UnlabelledFraction) + " %");
        }
        if (s.MeanGtInstancesPerView is { } gt) t.AddRow("GT instances / view", F(gt));
        console.Write(t);
        return 0;
    }

    internal static string LayoutName(SceneLayout layout) => layout switch
    {
        SceneLayout.PanopticLifting => "Panoptic Lifting (color/, pose/, intrinsic/)",
        SceneLayout.MessyRooms => "Messy Rooms (Kubric metadata.json)",
        SceneLayout.Graphdeco => "3DGS output (cameras.json, point_cloud/)",
        SceneLayout.Nerfstudio => "nerfstudio (transforms.json)",
        SceneLayout.Colmap => "COLMAP text model",
        _ => layout.ToString(),
    };
}
