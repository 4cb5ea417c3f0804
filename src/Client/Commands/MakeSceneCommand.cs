namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Diagnostics;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Synthetic;

/// <summary>`uniclift make-scene`: writes a synthetic room scene with exact ground truth and corrupted masks.</summary>
public static class MakeSceneCommand
{
    public static Command Create()
    {
        var outOption = new Option<string>("--out") { Description = "Directory to write the scene into (created if missing).", Required = true };
        var seedOption = new Option<int>("--seed") { Description = "Random seed; the same seed gives the same scene.", Required = true };
        var objectsOption = new Option<int>("--objects") { Description = $"Number of objects, 1..{SyntheticSceneOptions.MaxObjects}.", DefaultValueFactory = _ => 10 };
        var viewsOption = new Option<int>("--views") { Description = "Number of camera views, at least 2.", DefaultValueFactory = _ => 60 };
        var widthOption = new Option<int>("--width") { Description = "Image width in pixels.", DefaultValueFactory = _ => 320 };
        // Without --height, 3/4 of the width (a 4:3 image, as at the defaults): --width alone gave an image 240 high.
        var heightOption = new Option<int?>("--height") { Description = "Image height in pixels (default: 3/4 of the width; 240 at the default width)." };
        var corruptionOption = new Option<string>("--corruption") { Description = "How predicted masks are corrupted (default: the style's; m2f for classic)." };
        corruptionOption.AcceptOnlyFromAmong("none", "light", "m2f", "sam");
        var styleOption = new Option<string>("--style")
        {
            Description = "Scene style: " + string.Join("; ", SceneStyles.All.Select(s => $"{s.Name} ({s.Description})")) + ".",
            DefaultValueFactory = _ => "classic",
        };
        styleOption.AcceptOnlyFromAmong([.. SceneStyles.Names]);
        var testEveryOption = new Option<int>("--test-every") { Description = "Every n-th view is a test view (0: none).", DefaultValueFactory = _ => 5 };

        objectsOption.InRange(1, SyntheticSceneOptions.MaxObjects);
        viewsOption.InRange(2, 100000);
        widthOption.InRange(8, 8192);
        heightOption.InRange(8, 8192);

        var command = new Command("make-scene", "Generate a synthetic room scene (Panoptic Lifting layout + transforms.json) with ground truth and per-view masks whose ids are inconsistent across views.");
        foreach (var option in new Option[] { outOption, seedOption, objectsOption, viewsOption, widthOption, heightOption, corruptionOption, styleOption, testEveryOption })
            command.Options.Add(option);

        // A bad value (Validate's ArgumentException) is one error line naming it and exit code 2, as in every command.
        CommandAction.Set(command, (parseResult, console) =>
        {
            var dir = BatchConsole.OutputFolder(parseResult.GetValue(outOption));
            var options = SceneStyles.Apply(parseResult.GetValue(styleOption)!, new SyntheticSceneOptions
            {
                Seed = parseResult.GetValue(seedOption),
                Objects = parseResult.GetValue(objectsOption),
                Views = parseResult.GetValue(viewsOption),
                Width = parseResult.GetValue(widthOption),
                Height = parseResult.GetValue(heightOption) ?? FourThirds(parseResult.GetValue(widthOption)),
                TestEvery = parseResult.GetValue(testEveryOption),
            });
            if (parseResult.GetValue(corruptionOption) is { } corruption) options = options with { Corruption = ParseCorruption(corruption) };
            options.Validate();
            Compute.IO.OutputFolder.EnsureWritable(dir, "--out"); // a file in the way, a read-only disk: said before generating

            var clock = Stopwatch.StartNew();
            var scene = SyntheticSceneGenerator.Generate(options);
            double generateSeconds = clock.Elapsed.TotalSeconds;
            SyntheticSceneWriter.Write(dir, scene);
            double totalSeconds = clock.Elapsed.TotalSeconds;

            int merges = scene.Corruption.Sum(c => c.Merged.Count), splits = scene.Corruption.Sum(c => c.Split.Count),
                misses = scene.Corruption.Sum(c => c.Missed.Count), spurious = scene.Corruption.Sum(c => c.Spurious);
            console.OutWriter.WriteLine($"Wrote synthetic scene to {Path.GetFullPath(dir)}");
            console.OutWriter.WriteLine($"  objects: {scene.Objects.Count} ({string.Join(", ", scene.Objects.GroupBy(o => o.Shape).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}"))}), touching pairs: {scene.TouchingPairs.Count}");
            console.OutWriter.WriteLine($"  views: {scene.Views.Count} at {options.Width}x{options.Height} ({scene.TrainViews.Count} train, {scene.TestViews.Count} test), points: {scene.Points.Length / 3}");
            console.OutWriter.WriteLine($"  masks: {options.Corruption.ToString().ToLowerInvariant()} (merges {merges}, splits {splits}, misses {misses}, spurious {spurious}, background pieces {scene.Corruption.Sum(c => c.BackgroundPieces)})");
            console.OutWriter.WriteLine($"  time: {generateSeconds:0.00} s to generate, {totalSeconds:0.00} s in total");
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static CorruptionLevel ParseCorruption(string value) => value.ToLowerInvariant() switch
    {
        "none" => CorruptionLevel.None,
        "light" => CorruptionLevel.Light,
        "m2f" => CorruptionLevel.M2F,
        "sam" => CorruptionLevel.Sam,
        _ => throw new ArgumentException($"--corruption '{value}': expected none, light, m2f or sam."),
    };

    /// <summary>The height of a 4:3 image <paramref name="width"/> wide (at least 8, the smallest side taken).</summary>
    internal static int FourThirds(int width) => Math.Max(8, width * 3 / 4);
}
