namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Scenes;

/// <summary>`uniclift info SCENE_DIR`: detect the layout, read the scene and print a summary.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("scene") { Description = "Scene directory: Panoptic Lifting, Messy Rooms, 3DGS output, nerfstudio or COLMAP layout." };
        var sample = new Option<int>("--sample") { Description = "Views to load for the mask statistics.", DefaultValueFactory = _ => 8 };
        var masks = BatchConsole.MasksOption();
        var downscale = new Option<int?>("--downscale")
        {
            Description = $"show the size and memory training has at the images' size divided by N (1..{Grains.JobTraining.MaxDownscale}), as segment --downscale N trains",
        };
        var cmd = new Command("info", "Show what a scene directory holds: layout, views, size, splits, depth, masks, ground truth.");
        cmd.Arguments.Add(dir);
        cmd.Options.Add(sample);
        cmd.Options.Add(masks);
        cmd.Options.Add(downscale);
        // Through CommandAction: an unreadable scene or a bad value is one line on standard error naming it, exit code 2.
        CommandAction.Set(cmd, (pr, console) => Run(pr.GetValue(dir)!, pr.GetValue(sample), console.Out, pr.GetValue(masks),
            BatchConsole.Downscale(pr.GetValue(downscale), Grains.JobMode.Train)));
        return cmd;
    }

    /// <summary>Prints the summary and returns 0. A scene that cannot be read throws (InvalidDataException,
    /// FileNotFoundException, DirectoryNotFoundException, naming the file), as does a bad --sample (ArgumentException):
    /// <see cref="CommandAction"/> turns those into one error line and exit code 2.</summary>
    /// <param name="downscale">--downscale: the training size shown (1: the images' size, with a suggested factor when
    /// they are wider than <see cref="DownscaleAdvice.SuggestAboveWidth"/>).</param>
    internal static int Run(string dir, int sampleViews, IAnsiConsole console, string? masks = null, int downscale = 1)
    {
        if (sampleViews < 1) throw new ArgumentException($"--sample {sampleViews} must be at least 1.");
        var scene = SceneInspector.Read(dir, masks);
        var trained = scene.Downscaled(downscale);
        var s = SceneInspector.Summarize(scene, sampleViews);

        string F(double v, string fmt = "0.0") => v.ToString(fmt, CultureInfo.InvariantCulture);
        string Yes(bool b) => b ? "[green]yes[/]" : "[grey]no[/]";
        var t = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("").AddColumn("");
        t.AddRow("Scene", Markup.Escape(s.Root));
        t.AddRow("Layout", Markup.Escape($"{s.Layout}: {LayoutName(s.Layout)}"));
        t.AddRow("Views", s.ViewCount.ToString(CultureInfo.InvariantCulture));
        if (s.Model is not null) t.AddRow("Model", Markup.Escape(s.Model));
        t.AddRow("Distortion", s.Distortion is null ? "[grey]none[/]" : Markup.Escape(s.Distortion));
        t.AddRow("Image size", $"{s.Width}x{s.Height}" + (s.UniformSize ? "" : " [yellow](first view; sizes differ)[/]"));
        if (SceneInspector.OrientationNote(scene) is { } turned) t.AddRow("Orientation", "[yellow]" + Markup.Escape(turned) + "[/]");
        if (downscale > 1)
            t.AddRow("Training size", $"{trained.Views[0].Camera.Width}x{trained.Views[0].Camera.Height} (--downscale {downscale}; " +
                $"a CPU run peaks at about {DownscaleAdvice.Size(DownscaleAdvice.PeakBytes(trained))} of memory, {DownscaleAdvice.Size(DownscaleAdvice.PeakBytes(scene))} at full size)");
        else if (DownscaleAdvice.Suggestion(scene) is { } advice)
            t.AddRow("Training size", "[yellow]" + Markup.Escape(advice) + "[/]");
        t.AddRow("Splits", $"train {s.TrainCount}, test {s.TestCount}" + (scene.SplitOverlapNote is { } overlap ? " [yellow](" + Markup.Escape(overlap) + ")[/]"
            : scene.TestViewsTrained == scene.Views.Count && scene.Views.Count > 0 ? " [grey](no splits named: every view trains and is tested, so PQ is not held out)[/]" : ""));
        if (Compute.Scenes.SceneScale.FarCameraNote(scene) is { } far) t.AddRow("Cameras", "[yellow]" + Markup.Escape(far) + "[/]");
        t.AddRow("Depth", Yes(s.HasDepth));
        t.AddRow("Instance masks", Yes(s.HasMasks) + (s.SamMasks is { } sam ? $" [grey]({Markup.Escape(sam)})[/]" : "")
            + (masks is null ? "" : $" [grey]from {Markup.Escape(SceneInspector.MaskFolder(dir, masks))} (--masks)[/]")
            + (s.HasMasks && SceneData.MaskResampleNote(scene) is { } resampled ? $" [grey]({Markup.Escape(resampled)})[/]" : ""));
        t.AddRow("Semantic masks", Yes(s.HasMaskSemantics));
        // The class list training reads (classes.json, else scene.json): checked here too, so info says what is wrong with it.
        var stuff = Compute.Segmentation.StuffBackground.Read(dir);
        if (stuff.Count > 0) t.AddRow("Stuff classes", string.Join(", ", stuff.Order()) + (s.HasMaskSemantics ? "" : " [yellow](no semantic masks to apply them to)[/]"));
        t.AddRow("Ground truth", Yes(s.HasGroundTruth));
        t.AddRow("Point cloud", s.PointCloudPath is null ? "[grey]none[/]" : Markup.Escape(s.PointCloudPath));
        if (s.HasMasks)
        {
            t.AddRow("Mask segments / view", $"{F(s.MeanSegmentsPerView)} (sample of {s.SampledViews})");
            t.AddRow("Max mask id", s.MaxMaskId.ToString(CultureInfo.InvariantCulture));
            t.AddRow("Unlabelled pixels", F(100 * s.UnlabelledFraction) + " %");
            if (s.IgnoredFraction > 0)
                t.AddRow("Ignored pixels", F(100 * s.IgnoredFraction) + " % [grey](negative ids: no loss sees them)[/]"
                    + (s.IgnoredFraction >= 0.99 ? " [yellow]: the masks give training nothing to learn instances from[/]" : ""));
            if (NoBackground(s, stuff))
                t.AddRow("Background", "[yellow]not in the masks: they label (nearly) every pixel and nothing says which segments are stuff " +
                    "(Segment Anything's masks do this); decoding will take the instances that spread over the scene and lie behind what " +
                    "they meet (floor, walls) as background; outdoors add --decode SurfaceBorderShare=0.7 (rows of buildings, the sky). " +
                    "Semantic maps and classes.json say it exactly (docs/DATASETS.md)[/]");
        }
        if (s.MeanGtInstancesPerView is { } gt) t.AddRow("GT instances / view", F(gt));
        console.Write(t);
        return ExitCodes.Ok;
    }

    /// <summary>The sampled masks leave under 1% of the pixels they do not ignore (negative ids) unlabelled (id 0, the
    /// background the losses and the decoder know) and the scene gives no stuff classes (<paramref name="stuff"/>, its
    /// classes.json's) with semantic maps to make background of.</summary>
    internal static bool NoBackground(SceneSummary s, IReadOnlySet<int> stuff) =>
        s.HasMasks && s.IgnoredFraction < 0.99 && s.UnlabelledFraction < 0.01 * (1 - s.IgnoredFraction) && !(s.HasMaskSemantics && stuff.Count > 0);

    internal static string LayoutName(SceneLayout layout) => layout switch
    {
        SceneLayout.PanopticLifting => "Panoptic Lifting (color/, pose/, intrinsic/)",
        SceneLayout.MessyRooms => "Messy Rooms (Kubric metadata.json)",
        SceneLayout.Graphdeco => "3DGS output (cameras.json, point_cloud/)",
        SceneLayout.Nerfstudio => "nerfstudio (transforms.json)",
        SceneLayout.Colmap => "COLMAP model (text or binary)",
        _ => layout.ToString(),
    };
}
