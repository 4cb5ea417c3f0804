namespace UniCLift.Cluster.Tests;

using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Grains;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using UniCLift.Grains.Views;

/// <summary>The plain-array messages view grains exchange carry the compute types without loss.</summary>
public sealed class ViewMessagesTests
{
    [Fact]
    public void CodeStatisticsAndCodebookRoundTripWithTheirMergeTables()
    {
        // 4x4 views: mask 1 = an object decoding to 6 with a one-bit-off stripe of 7; 2 = a small object (9);
        // 13 = a blend inside the background. Per view statistics travel; the codebook merges 7 -> 6 and 13 -> 0.
        int[] mask = [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 2, 1, 1, 0, 2];
        int[] view1 = [6, 6, 0, 13, 6, 6, 0, 0, 7, 7, 0, 9, 6, 6, 0, 9];
        int[] view2 = [6, 7, 0, 0, 6, 7, 13, 0, 6, 7, 0, 9, 6, 6, 0, 9];
        var local = CodeStatistics.OfView(view1, mask, 4);
        local.Add(CodeStatistics.OfView(view2, mask, 4));
        var travelled = CodeStatistics.OfView(view1, mask, 4).ToMessage().ToStatistics();
        travelled.Add(CodeStatistics.OfView(view2, mask, 4).ToMessage().ToStatistics());
        Assert.Equal(local.Area, travelled.Area);
        Assert.Equal(local.BackgroundVotes, travelled.BackgroundVotes);
        Assert.Equal(local.Absorbed, travelled.Absorbed);
        Assert.NotEmpty(travelled.Pairs);
        Assert.Equal(local.Pairs, travelled.Pairs);
        Assert.NotEmpty(travelled.Interior);
        Assert.Equal(local.Interior, travelled.Interior);
        Assert.Equal(32, travelled.Pixels);

        var options = new CodebookOptions { MinCodeFraction = 0 };
        var book = LabelCodebook.Build(local, null, options);
        var same = LabelCodebook.Build(travelled, null, options).ToMessage().ToCodebook();
        Assert.NotEmpty(same.MergedCodes);
        Assert.Equal(book.Codes, same.Codes);
        Assert.Equal(book.BackgroundCode, same.BackgroundCode);
        Assert.Equal(book.MapView(view1, 4, 4, null), same.MapView(view1, 4, 4, null));
        Assert.Equal(book.MapView(view2, 4, 4, null), same.MapView(view2, 4, 4, null));
        Assert.Equal(1, same.TryGetId(7));
    }

    [Fact]
    public void WhereTheCodesLieInTheWorldTravelsWithTheirStatistics()
    {
        // 4x4 views whose pixels show the points (x, y, view); one pixel shows no surface. A sender without points
        // (an older view grain) leaves Surface null, and no code is placed.
        int[] codes = [3, 3, 5, 5, 3, 3, 5, 5, 3, 3, 5, 5, 3, 3, 5, 5];
        var local = new CodeStatistics();
        var travelled = new CodeStatistics();
        for (int view = 0; view < 2; view++)
        {
            var points = new float[48];
            for (int i = 0; i < 16; i++) (points[3 * i], points[3 * i + 1], points[3 * i + 2]) = (i % 4 * 0.25f, i / 4 * 0.5f, view);
            points[3 * 5] = float.NaN;
            local.AddView(codes, null, 4, points);
            travelled.Add(CodeStatistics.OfView(codes, null, 4, points).ToMessage().ToStatistics());
        }
        Assert.Equal(2, travelled.Surface.Count);
        Assert.Equal(local.Surface, travelled.Surface);
        Assert.Equal(local.SceneSurface.Spread(), travelled.SceneSurface.Spread());
        var message = CodeStatistics.OfView(codes, null, 4).ToMessage();
        Assert.Empty(message.ToStatistics().Surface);
        Assert.Empty((message with { Surface = null }).ToStatistics().Surface);
    }

    [Fact]
    public void WhichCodesReachTheBorderTravelsPerView()
    {
        // 6x5 views: code 3 on the frame's ring, code 5 an island inside it, code 7 a single pixel inside (shown: 0.1% of
        // 30 pixels is under one). The coordinator keeps one entry per view, as the view saw it.
        var codes = new int[30];
        for (int i = 0; i < 30; i++) codes[i] = i % 6 is 0 or 5 || i / 6 is 0 or 4 ? 3 : 5;
        codes[14] = 7;
        var local = new CodeStatistics();
        var travelled = new CodeStatistics();
        for (int view = 0; view < 3; view++)
        {
            local.AddView(codes, null, 6);
            travelled.Add(CodeStatistics.OfView(codes, null, 6).ToMessage().ToStatistics());
        }
        Assert.Equal(3, travelled.BorderViews.Count);
        foreach (var (l, t) in local.BorderViews.Zip(travelled.BorderViews))
        {
            Assert.Equal(new[] { 3, 5, 7 }, t.Seen);
            Assert.Equal(new[] { 3 }, t.Touching);
            Assert.Equal(l.Seen, t.Seen);
            Assert.Equal(l.Touching, t.Touching);
        }
        Assert.Equal(new[] { 2, 1, 1 }, CodeStatistics.OfView(codes, null, 6).BorderOf([3, 5, 7]));
        // An older view grain sends no flags: no view is counted. A statistic of several views has no per-code form.
        var message = CodeStatistics.OfView(codes, null, 6).ToMessage();
        Assert.Empty((message with { Border = null }).ToStatistics().BorderViews);
        Assert.Null(CodeStatistics.OfView(codes, null).BorderOf([3]));
        Assert.Throws<InvalidOperationException>(() => local.BorderOf([3]));
        var bad = Assert.Throws<ArgumentException>(() => (message with { Border = [2, 3, 1] }).ToStatistics());
        Assert.Contains("code 5 has border flag 3", bad.Message);
    }

    [Fact]
    public void ViewSourcesCompareByValueIncludingTheCamera()
    {
        double[] pose = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -3, 0, 0, 0, 1];
        var a = new ViewSource("img.png", "mask.png", 4, 3, 2, 2, 2, 1.5, pose);
        var b = a with { CameraToWorld = (double[])pose.Clone() };
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        var moved = (double[])pose.Clone();
        moved[11] = -2.5;
        Assert.NotEqual(a, a with { CameraToWorld = moved });
        Assert.NotEqual(a, a with { MaskPath = null });
    }

    [Fact]
    public void A_Views_Lens_Distortion_Travels_To_The_View_Grain()
    {
        var cam = new Camera(64, 48, 50, 52, 31.5, 23.5, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -3, 0, 0, 0, 1]);
        var d = new Distortion("FULL_OPENCV", K1: -0.2, K2: 0.05, K3: 0.01, K4: 0.002, P1: 1e-3, P2: -2e-3, K5: 0.3, K6: 0.04, K7: 0.005, Rational: true);
        var source = new SceneView("v", cam, "img.png", MaskPath: "mask.png", Distortion: d).ToSource();
        Assert.Equal(d, source.ToDistortion());
        var copy = source with { DistortionCoefficients = (double[])source.DistortionCoefficients!.Clone() };
        Assert.Equal(source, copy);
        var other = (double[])source.DistortionCoefficients!.Clone();
        other[0] = -0.21;
        Assert.NotEqual(source, source with { DistortionCoefficients = other });
        var pinhole = new SceneView("v", cam, "img.png").ToSource();
        Assert.Null(pinhole.ToDistortion());
        Assert.NotEqual(pinhole, source);
        var fisheye = new Distortion("OPENCV_FISHEYE", K1: 0.1, K2: -0.01, K3: 0.001, K4: 1e-4, Fisheye: true);
        Assert.Equal(fisheye, new SceneView("v", cam, "img.png", Distortion: fisheye).ToSource().ToDistortion());
    }

    [Fact]
    public void A_Views_Downscale_Factor_Travels_To_The_View_Grain_And_Counts_In_Equality()
    {
        var cam = new Camera(64, 48, 50, 52, 32, 24, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -3, 0, 0, 0, 1]);
        var scene = new Scene("/s", SceneLayout.Nerfstudio, [new SceneView("v", cam, "img.png", MaskPath: "mask.png")], ["v"], ["v"]).Downscaled(2);
        var source = scene.Views[0].ToSource();
        Assert.Equal(2, source.Downscale);
        Assert.Equal((32, 48 / 2, 25.0, 16.0), (source.Width, source.Height, source.Fx, source.Cx));
        // Through Orleans' serializer, as the message reaches a view grain on another silo.
        var serializer = new ServiceCollection()
            .AddSerializer(b => b.AddAssembly(typeof(ViewSource).Assembly))
            .BuildServiceProvider().GetRequiredService<Serializer>();
        var request = new ViewDecodeRequest(source, "/o/model.ply");
        var back = serializer.Deserialize<ViewDecodeRequest>(serializer.SerializeToArray(request))!;
        Assert.Equal(2, back.Source.Downscale);
        Assert.Equal(source, back.Source);
        Assert.Equal(2, back.Source.DownscaleFactor());
        Assert.NotEqual(source, source with { Downscale = 1 });
        Assert.NotEqual(source.GetHashCode(), (source with { Downscale = 3 }).GetHashCode());
        Assert.Equal(1, (source with { Downscale = 0 }).DownscaleFactor()); // a sender before the factor
    }
}
