namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.Segmentation;
using UniCLift.Tests.IO;

public class TrainingSummaryTests
{
    [Fact]
    public void SettingsRoundTripAndASummaryWrittenBeforeThemReadsWithout()
    {
        using var dir = new TempDir();
        var path = dir.File(TrainingSummary.FileName);
        new TrainingSummary("train", 2000, 12.346, null, ["MaxGaussians=150000", "Seed=4"]).Write(path);
        var back = TrainingSummary.Read(path);
        Assert.Equal(("train", 2000, 12.35), (back.Mode, back.Iterations, back.Seconds));
        Assert.Equal(["MaxGaussians=150000", "Seed=4"], back.Settings!);

        File.WriteAllText(path, """{ "mode": "lift", "iterations": 500, "seconds": 3.5, "loss_curve": null }""");
        Assert.Null(TrainingSummary.Read(path).Settings);
        File.WriteAllText(path, """{ "mode": "lift", "iterations": 500, "settings": [null] }""");
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => TrainingSummary.Read(path)).Message);
    }
}
