namespace UniCLift.Tests.Segmentation;

using System.Text.Json;
using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Training;
using UniCLift.Grains;

public class DecodeOptionOverridesTests
{
    private static string Json(DecodeOptions o) => JsonSerializer.Serialize(o);

    [Fact]
    public void SetsTheCodebookTheStagesAndTheirKnobsByName()
    {
        var start = new DecodeOptions();
        var o = DecodeOptionOverrides.Apply(start, ["surfacespread=0.2", "Codebook.SurfaceMaxFront = 1", "Blend=Probabilities", "Overlays=2",
            "SpatialSplit.LinkFraction=0.05", "cleanup.minfraction=0.002", "StuffAsBackground=false", "MergeCountsAllAbsorbed=true"]);
        Assert.Equal(0.2, o.Codebook.SurfaceSpread);
        Assert.Equal(1.0, o.Codebook.SurfaceMaxFront);
        Assert.True(o.Codebook.MergeCountsAllAbsorbed);
        Assert.Equal(PixelBlend.Probabilities, o.Blend);
        Assert.Equal(2, o.Overlays);
        Assert.Equal(0.05, o.SpatialSplit!.LinkFraction);
        Assert.Equal(SpatialSplitOptions.Default.MinGaussians, o.SpatialSplit.MinGaussians);
        Assert.Equal(0.002, o.Cleanup!.MinFraction);
        Assert.False(o.StuffAsBackground);
        // Records: the input and the shared defaults are untouched.
        Assert.Equal(Json(new DecodeOptions()), Json(start));
        Assert.Equal(0.15, CodebookOptions.Default.SurfaceSpread);
        Assert.Equal(0.03, SpatialSplitOptions.Default.LinkFraction);
        Assert.Equal(0.001, FragmentOptions.Default.MinFraction);
    }

    [Fact]
    public void StagesTurnOffAndOnAndTheirKnobsNeedThemOn()
    {
        var off = DecodeOptionOverrides.Apply(new DecodeOptions(), ["SpatialSplit=false", "Cleanup=false", "strays=false"]);
        Assert.Null(off.SpatialSplit);
        Assert.Null(off.Cleanup);
        Assert.Null(off.Strays);
        Assert.Contains("Strays.MinShare: that stage is off (Strays=false)",
            Assert.Throws<ArgumentException>(() => DecodeOptionOverrides.Apply(off, ["Strays.MinShare=0.1"])).Message);
        var ex = Assert.Throws<ArgumentException>(() => DecodeOptionOverrides.Apply(off, ["SpatialSplit.MinShare=0.1"]));
        Assert.Contains("SpatialSplit.MinShare: that stage is off (SpatialSplit=false)", ex.Message);
        var on = DecodeOptionOverrides.Apply(off, ["SpatialSplit=true", "SpatialSplit.MinShare=0.1", "Cleanup=true", "Strays=true"]);
        Assert.Equal(0.1, on.SpatialSplit!.MinShare);
        Assert.Equal(Json(new DecodeOptions { SpatialSplit = SpatialSplitOptions.Default with { MinShare = 0.1 } }), Json(on));
    }

    [Theory]
    [InlineData("NoSuch=1", "Unknown decode option 'NoSuch'. Known: ")]
    [InlineData("LinkFraction=0.1", "Unknown decode option 'LinkFraction'")] // a stage's knob carries its stage's name
    [InlineData("SurfaceSpread", "not of the form Name=Value")]
    [InlineData("SurfaceSpread=wide", "Decode option SurfaceSpread: 'wide' is not a number.")]
    [InlineData("SurfaceSpread=-0.1", "SurfaceSpread must be a number >= 0, got -0.1")]
    [InlineData("MergeTargetShare=NaN", "MergeTargetShare must be a number >= 0, got NaN")]
    [InlineData("MinCodePixels=-5", "MinCodePixels must be >= 0, got -5")]
    [InlineData("Blend=Median", "'Median' is not one of Raw, Probabilities")]
    [InlineData("Overlays=-1", "Overlays must be >= 0, got -1")]
    [InlineData("SpatialSplit=maybe", "Decode option SpatialSplit: 'maybe' is not true or false.")]
    [InlineData("SpatialSplit.LinkFraction=0", "SpatialSplit.LinkFraction must lie in (0, 1), got 0")]
    [InlineData("SpatialSplit.MinGaussians=0", "SpatialSplit.MinGaussians must be at least 1, got 0")]
    [InlineData("Cleanup.MinFraction=1", "Cleanup.MinFraction must lie in [0, 1), got 1")]
    [InlineData("Cleanup.MaxPasses=0", "Cleanup.MaxPasses must be at least 1, got 0")]
    [InlineData("Strays.MinShare=1", "Strays.MinShare must lie in [0, 1), got 1")]
    [InlineData("Strays.LinkFraction=-0.1", "Strays.LinkFraction must lie in (0, 1), got -0.1")]
    public void BadSettingsNameTheSettingAndWhatWasExpected(string setting, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => DecodeOptionOverrides.Apply(new DecodeOptions(), [setting]));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void EveryDoubleOfTheCodebookIsChecked()
    {
        // A knob added later is validated too: every share of the codebook refuses a negative value by name.
        var doubles = typeof(CodebookOptions).GetProperties().Where(p => p.PropertyType == typeof(double) && p.CanWrite).ToList();
        Assert.True(doubles.Count >= 12, $"{doubles.Count} double knobs");
        foreach (var p in doubles)
        {
            var ex = Assert.Throws<ArgumentException>(() => DecodeOptionOverrides.Apply(new DecodeOptions(), [$"{p.Name}=-1"]));
            Assert.Contains($"{p.Name} must be a number >= 0", ex.Message);
        }
    }

    [Fact]
    public void DifferencesAreWhatDecodeTakesBack()
    {
        var baseline = new DecodeOptions { StuffAsBackground = false };
        Assert.Empty(DecodeOptionOverrides.Differences(baseline, baseline));
        var settings = new[] { "SurfaceSpread=0.25", "Blend=Probabilities", "SpatialSplit.LinkFraction=0.05", "Cleanup=false", "MinCodePixels=40", "Strays.MinGaussians=50" };
        var o = DecodeOptionOverrides.Apply(baseline, settings);
        var lines = DecodeOptionOverrides.Differences(o, baseline);
        Assert.Equal(settings.Order(StringComparer.Ordinal), lines.Order(StringComparer.Ordinal));
        Assert.Equal(Json(o), Json(DecodeOptionOverrides.Apply(baseline, lines)));
        // A stage turned on from off is recorded as on, with its knobs against the stage's defaults.
        var off = new DecodeOptions { SpatialSplit = null };
        var back = DecodeOptionOverrides.Apply(off, ["SpatialSplit=true", "SpatialSplit.MinShare=0.2"]);
        Assert.Equal(["SpatialSplit=true", "SpatialSplit.MinShare=0.2"], DecodeOptionOverrides.Differences(back, off));
        Assert.Equal(Json(back), Json(DecodeOptionOverrides.Apply(off, DecodeOptionOverrides.Differences(back, off))));
    }

    [Fact]
    public void DescribeNamesEveryKnobWithItsValue()
    {
        var lines = DecodeOptionOverrides.Describe(new DecodeOptions());
        Assert.Contains("SurfaceSpread=0.15", lines);
        Assert.Contains("SpatialSplit.LinkFraction=0.03", lines);
        Assert.Contains("Cleanup.MinFraction=0.001", lines);
        Assert.Contains("Blend=Raw", lines);
        Assert.Contains("SpatialSplit=true", lines);
        Assert.Contains("Strays=true", lines);
        Assert.Contains("Strays.MinShare=0.05", lines);
        // Every name it lists is one Apply takes (with the value it shows).
        Assert.Equal(Json(new DecodeOptions()), Json(DecodeOptionOverrides.Apply(new DecodeOptions(), lines)));
        Assert.DoesNotContain(DecodeOptionOverrides.Describe(new DecodeOptions { Cleanup = null }), l => l.StartsWith("Cleanup.", StringComparison.Ordinal));
    }

    [Fact]
    public void DecodeJobsTrainNothingAndTakeDecodeSettings()
    {
        var job = new JobOptions(JobMode.Decode, Decode: ["SurfaceSpread=0.3"]).Validate();
        Assert.Equal(0, job.PlannedIterations());
        Assert.Equal(0.3, job.ToDecodeOptions().Codebook.SurfaceSpread);
        foreach (var bad in new[] { job with { Iterations = 10 }, job with { InitialPly = "/x.ply" }, job with { Settings = ["Tau=2"] } })
            Assert.Contains("mode 'decode' trains nothing", Assert.Throws<ArgumentException>(() => bad.Validate()).Message);
        Assert.Contains("Unknown decode option 'Nope'", Assert.Throws<ArgumentException>(() => new JobOptions(Decode: ["Nope=1"]).Validate()).Message);
        Assert.Contains("mode must be 'train', 'lift' or 'decode'", Assert.Throws<ArgumentException>(() => new JobOptions((JobMode)7).Validate()).Message);
    }

    [Fact]
    public void DecodingFollowsTheStuffRuleTrainingRecorded()
    {
        Assert.True(new TrainingSummary("train", 10, 1, null).StuffAsBackground); // nothing recorded: the default
        Assert.True(new TrainingSummary("train", 10, 1, null, ["Tau=2"]).StuffAsBackground);
        var summary = new TrainingSummary("lift", 10, 1, null, ["UseTriplet=false", "stuffasbackground=false"]);
        Assert.False(summary.StuffAsBackground);
        Assert.False(JobTraining.DecodeBaseline(summary).StuffAsBackground);
        // A --decode setting overrides it; Differences then records nothing for a value equal to the baseline.
        var baseline = JobTraining.DecodeBaseline(summary);
        var o = new JobOptions(JobMode.Decode, Decode: ["StuffAsBackground=true"]).ToDecodeOptions(baseline);
        Assert.True(o.StuffAsBackground);
        Assert.Equal(["StuffAsBackground=true"], DecodeOptionOverrides.Differences(o, baseline));
        Assert.Equal(TrainingOptionOverrides.Differences(new TrainingOptions { StuffAsBackground = false }), ["StuffAsBackground=false"]);
    }
}
