namespace UniCLift.Tests.Training;

using UniCLift.Compute.Losses;
using UniCLift.Compute.Training;
using UniCLift.Grains;

public class TrainingOptionOverridesTests
{
    [Fact]
    public void AppliesNumbersBooleansAndEnumsCaseInsensitively()
    {
        var baseOptions = new TrainingOptions { Iterations = 300 };
        var o = TrainingOptionOverrides.Apply(baseOptions,
            ["clusterpushweight=2.5", "UseTriplet=false", "ClusterNormalisation=perSegment", "MaxTriplets = 17", "Seed=9", "DensifyGradThreshold=0.0001", "MaxGaussians=250000"]);
        Assert.Equal(0.0001, o.Density.GradThreshold); // the density control's own settings, set by name
        Assert.Equal(250_000, o.Density.MaxGaussians);
        Assert.Equal(new DensitySettings().PercentDense, o.Density.PercentDense);
        Assert.Equal(2.5, o.ClusterPushWeight);
        Assert.False(o.UseTriplet);
        Assert.Equal(ClusterNormalisation.PerSegment, o.ClusterNormalisation);
        Assert.Equal(17, o.MaxTriplets);
        Assert.Equal(9UL, o.Seed);
        Assert.Equal(300, o.Iterations);
        // The input is a record and stays as it was.
        Assert.Equal(1.0, baseOptions.ClusterPushWeight);
        Assert.True(baseOptions.UseTriplet);
        Assert.Equal(new DensitySettings().GradThreshold, baseOptions.Density.GradThreshold);
    }

    [Theory]
    [InlineData("NoSuchOption=1", "Unknown training option 'NoSuchOption'")]
    [InlineData("ClusterPushWeight", "not of the form Name=Value")]
    [InlineData("MaxTriplets=many", "MaxTriplets: 'many' is not a whole number.")]
    [InlineData("MaxTriplets=99999999999", "MaxTriplets: '99999999999' is out of range (-2147483648 to 2147483647).")] // overflow: the range, not .NET's "Value was either too large or too small for an Int32"
    [InlineData("Seed=-1", "Seed: '-1' is out of range (0 to 18446744073709551615).")]
    [InlineData("ClusterNormalisation=Median", "'Median' is not one of Mean, Sum, PerSegment")]
    [InlineData("ClusterNormalisation=7", "'7' is not one of Mean")]
    [InlineData("Tau=-1", "Tau must be positive")]
    [InlineData("Mode=Lift", "Unknown training option 'Mode'")]
    [InlineData("OpacityResetMinRounds=-1", "OpacityResetMinRounds must be >= 0, got -1")]
    [InlineData("DensifyInterval=0", "DensifyInterval must be at least 1, got 0")]
    [InlineData("DensifyGradThreshold=0", "DensifyGradThreshold must be a positive number, got 0")]
    [InlineData("MaxGaussians=0", "MaxGaussians must be at least 1, got 0")]
    [InlineData("DensifyGradThreshold=NaN", "DensifyGradThreshold must be a positive number, got NaN")]
    [InlineData("LiftSmoothFromFraction=1.5", "LiftSmoothFromFraction must lie in [0, 1], got 1.5")]
    [InlineData("SegmentationLossesFromFraction=-0.1", "SegmentationLossesFromFraction must lie in [0, 1], got -0.1")]
    // Were accepted: a negative learning rate trained uphill to exit 0, NaN / Infinity trained to NaN and failed only
    // writing the result's JSON, SmoothNeighbours=0 failed inside the trainer once L_3D switched on.
    [InlineData("EmbeddingLearningRate=-1", "EmbeddingLearningRate must be a finite number >= 0, got -1")]
    [InlineData("EmbeddingLearningRate=NaN", "EmbeddingLearningRate must be a finite number >= 0, got NaN")]
    [InlineData("LinearLayerLearningRate=-0.001", "LinearLayerLearningRate must be a finite number >= 0, got -0.001")]
    [InlineData("ClusterWeight=Infinity", "ClusterWeight must be a finite number >= 0, got")]
    [InlineData("SmoothWeight=-0.1", "SmoothWeight must be a finite number >= 0, got -0.1")]
    [InlineData("TripletMargin=NaN", "TripletMargin must be a finite number >= 0, got NaN")]
    [InlineData("ClusterPushWeight=Infinity", "ClusterPushWeight must be a finite number >= 0, got")]
    [InlineData("EmbeddingInitStd=-1", "EmbeddingInitStd must be a finite number >= 0, got -1")]
    [InlineData("Tau=Infinity", "Tau must be a finite number >= 0, got")]
    [InlineData("DensifyUntilFraction=2", "DensifyUntilFraction must lie in [0, 1], got 2")]
    [InlineData("DensifyFromFraction=NaN", "DensifyFromFraction must lie in [0, 1], got NaN")]
    [InlineData("ShIncreaseFraction=-1", "ShIncreaseFraction must be a finite number >= 0, got -1")]
    [InlineData("SmoothNeighbours=0", "SmoothNeighbours must be at least 1, got 0")]
    [InlineData("SmoothSamples=-5", "SmoothSamples must be at least 1, got -5")]
    [InlineData("ClusterPixelSamples=-1", "ClusterPixelSamples must be >= 0 (0: all pixels), got -1")]
    public void BadSettingsNameTheSettingAndWhatWasExpected(string setting, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => TrainingOptionOverrides.Apply(new TrainingOptions(), [setting]).Validate());
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void DifferencesFromTheModesDefaultsAreWhatSetTakesBack()
    {
        Assert.Empty(TrainingOptionOverrides.Differences(TrainingOptions.From(TrainingMode.Lift, 123)));
        var o = TrainingOptions.From(TrainingMode.Lift, 500, 3, ["MaxGaussians=150000", "DensifyGradThreshold=0.0001", "UseTriplet=false"]);
        var lines = TrainingOptionOverrides.Differences(o);
        Assert.Equal(["DensifyGradThreshold=0.0001", "MaxGaussians=150000", "Seed=3", "UseTriplet=false"], lines.Order(StringComparer.Ordinal));
        // Applied to the mode's defaults, they give the same options back.
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(o), System.Text.Json.JsonSerializer.Serialize(TrainingOptions.From(TrainingMode.Lift, 500, null, lines)));
    }

    [Fact]
    public void FromIsTheDefaultsWithModeIterationsSeedAndOverrides()
    {
        // What bench segment and the scene grains built by hand before TrainingOptions.From existed.
        var lift = TrainingOptions.From(TrainingMode.Lift, 500, 3, ["UseTriplet=false"]);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(new TrainingOptions { Mode = TrainingMode.Lift, Iterations = 500, Seed = 3, UseTriplet = false }),
            System.Text.Json.JsonSerializer.Serialize(lift));
        var defaults = TrainingOptions.From(TrainingMode.Train);
        Assert.Equal(new TrainingOptions().Iterations, defaults.Iterations);
        Assert.Equal(new TrainingOptions().Seed, defaults.Seed);
        // Overrides come last, so --set Iterations=N wins over --iterations, as before.
        Assert.Equal(7, TrainingOptions.From(TrainingMode.Train, 500, null, ["Iterations=7"]).Iterations);
        // From parses; validation is the edge's and the trainer's.
        Assert.Equal(-1, TrainingOptions.From(TrainingMode.Train, null, null, ["Tau=-1"]).Tau);
        Assert.Throws<ArgumentException>(() => TrainingOptions.From((TrainingMode)7));
    }

    [Fact]
    public void EachModeHasItsOwnDefaultIterationCount()
    {
        // Train mode fits a 60-view 320x240 scene in its 10-minute CPU target, lift mode in its 2 minutes.
        Assert.Equal(2000, TrainingOptions.From(TrainingMode.Train).Iterations);
        Assert.Equal(500, TrainingOptions.From(TrainingMode.Lift).Iterations);
        Assert.Equal(2000, new TrainingOptions().Iterations);
        Assert.Equal(1234, TrainingOptions.From(TrainingMode.Lift, 1234).Iterations); // --iterations still overrides
        // The schedule follows the count: densification ends halfway, the segmentation losses start there in train mode.
        var train = TrainingOptions.From(TrainingMode.Train);
        Assert.Equal(1000, train.DensifyUntil);
        // Opacity resets at least five densification rounds apart (500 steps, not 200, in 2000), the paper's 3000 in 30k.
        Assert.Equal(500, train.OpacityResetInterval);
        Assert.Equal(200, (train with { OpacityResetMinRounds = 0 }).OpacityResetInterval);
        Assert.Equal(3000, TrainingOptions.Paper.OpacityResetInterval);
        Assert.Equal(600, TrainingOptions.From(TrainingMode.Train, 6000).OpacityResetInterval);
        Assert.Equal(0, TrainingOptions.From(TrainingMode.Lift).SegmentationLossesFrom);
        // The CLI leaves --iterations unset so that the mode decides.
        var parse = UniCLift.Client.Cli.Build().Parse(["segment", "/tmp/scene", "--out", "/tmp/out", "--mode", "lift"]);
        var option = parse.CommandResult.Command.Options.OfType<System.CommandLine.Option<int?>>().Single(o => o.Name == "--iterations");
        Assert.Null(parse.GetValue(option));
        Assert.Equal(500, new UniCLift.Grains.JobOptions(UniCLift.Grains.JobMode.Lift, null, null, null).PlannedIterations());
    }

    [Fact]
    public void DescribeListsCurrentValues()
    {
        var lines = TrainingOptionOverrides.Describe(new TrainingOptions { ClusterPushWeight = 3 });
        Assert.Contains("ClusterPushWeight=3", lines);
        Assert.Contains("UseSmooth3D=true", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("Mode=", StringComparison.Ordinal));
    }
}

public class SetOptionCommandLineTests
{
    [Theory]
    [InlineData("segment", new[] { "segment", "scene", "--out", "o" })]
    [InlineData("submit", new[] { "submit", "scene", "--out", "o" })]
    public void RepeatedSetOptionsReachTheJobOptionsValidated(string command, string[] args)
    {
        static string[]? Settings(string[] argv)
        {
            var parse = UniCLift.Client.Cli.Build().Parse(argv);
            Assert.Empty(parse.Errors);
            var set = parse.CommandResult.Command.Options.OfType<System.CommandLine.Option<string[]>>().Single(o => o.Name == "--set");
            return UniCLift.Client.BatchConsole.Settings(parse, set);
        }
        Assert.Equal(command, UniCLift.Client.Cli.Build().Parse(args).CommandResult.Command.Name);
        Assert.Equal(new[] { "UseTriplet=false", "ClusterPushMargin=0" }, Settings([.. args, "--set", "UseTriplet=false", "--set", "ClusterPushMargin=0"]));
        Assert.Null(Settings(args));
        // The client validates the JobOptions that carry them before submitting.
        var settings = Settings([.. args, "--set", "ClusterPushMargin=wide"]);
        var e = Assert.Throws<ArgumentException>(() => new UniCLift.Grains.JobOptions(Settings: settings).Validate());
        Assert.Contains("ClusterPushMargin", e.Message);
    }
}

public class JobTrainingTests
{
    [Fact]
    public void AJobBecomesTheTrainingOptionsOfItsModeIterationsSeedAndSettings()
    {
        var job = new JobOptions(JobMode.Lift, 500, 3, "/m.ply", 0, ["UseTriplet=false"]);
        Assert.Equal(TrainingOptions.From(TrainingMode.Lift, 500, 3, ["UseTriplet=false"]), job.ToTrainingOptions(), new OptionsComparer());
        Assert.Equal(new TrainingOptions().Iterations, new JobOptions().ToTrainingOptions().Iterations);
        Assert.Equal(new TrainingOptions().Iterations, new JobOptions().PlannedIterations());
    }

    [Theory]
    [InlineData(JobMode.Train, 0, null, 0, "Iterations must be at least 1, got 0")]
    [InlineData(JobMode.Lift, 10, null, 0, "mode 'lift' needs a trained 3DGS PLY (--ply)")]
    [InlineData(JobMode.Train, 10, null, -1, "max retries must be between 0 and 10, got -1")]
    [InlineData(JobMode.Train, 10, null, 11, "max retries must be between 0 and 10, got 11")]
    [InlineData(JobMode.Train, 10, "Tau=0", 0, "Tau must be positive")]
    [InlineData((JobMode)5, 10, null, 0, "mode must be 'train', 'lift' or 'decode', got 5")]
    // Both said it; the --set one won without a word.
    [InlineData(JobMode.Train, 20, "iterations=30", 0, "--iterations and --set iterations=30 both set the iterations: give one of them.")]
    public void TheClientsCheckNamesTheBadValue(JobMode mode, int iterations, string? setting, int retries, string message)
    {
        var job = new JobOptions(mode, iterations, null, null, retries, setting is null ? null : [setting]);
        var e = Assert.Throws<ArgumentException>(() => job.Validate());
        Assert.Contains(message, e.Message);
    }

    private sealed class OptionsComparer : IEqualityComparer<TrainingOptions>
    {
        public bool Equals(TrainingOptions? x, TrainingOptions? y) =>
            System.Text.Json.JsonSerializer.Serialize(x) == System.Text.Json.JsonSerializer.Serialize(y);
        public int GetHashCode(TrainingOptions o) => 0;
    }
}
