namespace UniCLift.Tests.Training;

using UniCLift.Compute.Losses;
using UniCLift.Compute.Training;

public class TrainingOptionOverridesTests
{
    [Fact]
    public void AppliesNumbersBooleansAndEnumsCaseInsensitively()
    {
        var baseOptions = new TrainingOptions { Iterations = 300 };
        var o = TrainingOptionOverrides.Apply(baseOptions,
            ["clusterpushweight=2.5", "UseTriplet=false", "ClusterNormalisation=perSegment", "MaxTriplets = 17", "Seed=9"]);
        Assert.Equal(2.5, o.ClusterPushWeight);
        Assert.False(o.UseTriplet);
        Assert.Equal(ClusterNormalisation.PerSegment, o.ClusterNormalisation);
        Assert.Equal(17, o.MaxTriplets);
        Assert.Equal(9UL, o.Seed);
        Assert.Equal(300, o.Iterations);
        // The input is a record and stays as it was.
        Assert.Equal(1.0, baseOptions.ClusterPushWeight);
        Assert.True(baseOptions.UseTriplet);
    }

    [Theory]
    [InlineData("NoSuchOption=1", "Unknown training option 'NoSuchOption'")]
    [InlineData("ClusterPushWeight", "not of the form Name=Value")]
    [InlineData("MaxTriplets=many", "MaxTriplets: 'many' is not a valid Int32")]
    [InlineData("ClusterNormalisation=Median", "expected one of Mean, Sum, PerSegment")]
    [InlineData("ClusterNormalisation=7", "expected one of")]
    [InlineData("Tau=-1", "Tau must be positive")]
    [InlineData("Mode=Lift", "Unknown training option 'Mode'")]
    public void BadSettingsNameTheSettingAndWhatWasExpected(string setting, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => TrainingOptionOverrides.Apply(new TrainingOptions(), [setting]));
        Assert.Contains(message, ex.Message);
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
        var e = Assert.Throws<ArgumentException>(() => Settings([.. args, "--set", "ClusterPushMargin=wide"]));
        Assert.Contains("ClusterPushMargin", e.Message);
    }
}
