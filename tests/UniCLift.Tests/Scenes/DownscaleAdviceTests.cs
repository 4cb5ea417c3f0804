namespace UniCLift.Tests.Scenes;

using UniCLift.Compute.Scenes;

/// <summary><see cref="DownscaleAdvice"/>: the peak-memory estimate against the runs it was fitted to, and the note for
/// large images (scenes built in memory: the advice reads cameras, never files).</summary>
public sealed class DownscaleAdviceTests
{
    private static readonly double[] Pose = Camera.LookAtPose((0, 0, -4), (0, 0, 0), (0, -1, 0));

    private static Scene Views(int count, int width, int height, int trainEvery = 1)
    {
        var views = Enumerable.Range(0, count)
            .Select(i => new SceneView($"v{i}", new Camera(width, height, width * 0.8, width * 0.8, width / 2.0, height / 2.0, Pose), $"/none/v{i}.png"))
            .ToList();
        var train = views.Where((_, i) => i % trainEvery == 0).Select(v => v.Name).ToList();
        return new Scene("/none", SceneLayout.PanopticLifting, views, train, []);
    }

    [Theory] // views, width, height, measured peak GB (segment, 2026-12-07)
    [InlineData(6, 640, 480, 0.91)]
    [InlineData(6, 1280, 960, 1.53)]
    [InlineData(6, 2560, 1920, 3.51)]
    [InlineData(24, 320, 240, 0.55)]
    [InlineData(24, 640, 480, 1.30)]
    [InlineData(24, 1280, 960, 2.13)]
    [InlineData(48, 640, 480, 1.39)]
    public void The_Estimate_Is_Within_Three_Tenths_Of_A_Gigabyte_Of_The_Measured_Peaks(int views, int width, int height, double gb)
    {
        double estimate = DownscaleAdvice.PeakBytes(Views(views, width, height)) / 1e9;
        Assert.True(Math.Abs(estimate - gb) <= 0.3, $"{views} views of {width}x{height}: estimate {estimate:F2} GB, measured {gb} GB");
    }

    [Fact]
    public void Only_Training_Views_Count_And_The_Largest_View_Sets_The_Step()
    {
        var all = Views(10, 800, 600);
        var half = Views(10, 800, 600, trainEvery: 2);
        Assert.Equal(5L * 800 * 600 * DownscaleAdvice.BytesPerTrainingPixel, DownscaleAdvice.PeakBytes(all) - DownscaleAdvice.PeakBytes(half));
        var mixed = all with { Views = [.. all.Views.Take(9), Views(1, 1600, 1200).Views[0] with { Name = "v9" }] };
        long largest = 1600L * 1200, total = 9L * 800 * 600 + largest;
        Assert.Equal(DownscaleAdvice.PeakBytes(largest, total), DownscaleAdvice.PeakBytes(mixed));
    }

    [Fact]
    public void Phone_Photos_Get_A_Factor_And_Both_Peaks_And_Small_Images_No_Note()
    {
        Assert.Null(DownscaleAdvice.Suggestion(Views(100, 1600, 1200)));
        var phone = Views(100, 4032, 3024);
        Assert.Equal(3, DownscaleAdvice.SuggestedFactor(phone));
        var note = DownscaleAdvice.Suggestion(phone);
        Assert.Equal("the images are 4032x3024: a CPU run peaks at about 47.8 GB of memory; --downscale 3 trains at 1344x1008 (about 6.0 GB).", note);
    }
}
