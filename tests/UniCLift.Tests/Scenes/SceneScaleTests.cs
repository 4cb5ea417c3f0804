namespace UniCLift.Tests.Scenes;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using static TorchSharp.torch;

public sealed class SceneScaleTests
{
    public SceneScaleTests() => TorchRuntime.EnsureInitialised();

    private static Camera[] Ring(double radius, double height = 0.5) =>
        Enumerable.Range(0, 8).Select(i =>
        {
            double a = i * Math.PI / 4;
            return SyntheticGaussians.LookAt(64, 48, 60, (radius * Math.Cos(a), height, radius * Math.Sin(a)), (0, 0, 0));
        }).ToArray();

    [Fact]
    public void A_Training_Camera_Far_Off_The_Others_Is_Named_And_A_Ring_Or_A_Walk_Is_Not()
    {
        // One misregistered image 50 m off a 3 m ring: the extent (1.1 x the farthest camera) took the near plane past the
        // room and the run scored PQ 37 instead of 86, silently.
        Scene Of(IEnumerable<Camera> cameras) => new("/scene", SceneLayout.PanopticLifting,
            cameras.Select((c, i) => new SceneView($"{i:0000}", c, $"/scene/color/{i}.png")).ToList(), [], []);
        var ring = Ring(3);
        Assert.Null(SceneScale.FarCamera(Of(ring)));
        var moved = ring.Select((c, i) => i == 3 ? SyntheticGaussians.LookAt(64, 48, 60, (50, 0.5, 0), (0, 0, 0)) : c).ToArray();
        var far = SceneScale.FarCamera(Of(moved));
        Assert.NotNull(far);
        Assert.Equal("0003", far.Value.View);
        Assert.Contains("training view '0003' has its camera", SceneScale.FarCameraNote(Of(moved)));
        // A walk along a street: the cameras spread evenly along a line, none far off the rest.
        var walk = Enumerable.Range(0, 30).Select(i => SyntheticGaussians.LookAt(64, 48, 60, (i * 1.0, 1.6, 0), (i * 1.0 + 5, 1.6, 1))).ToArray();
        Assert.Null(SceneScale.FarCamera(Of(walk)));
        Assert.Null(SceneScale.FarCamera(Of(moved.Take(3)))); // too few to say
    }

    [Fact]
    public void ExtentIsGraphdecosRadiusAndTheLengthsScaleWithIt()
    {
        // Cameras on a ring of radius 2 around their centroid: graphdeco's radius is 1.1 x 2.
        Assert.Equal(2.2, SceneScale.Extent(Ring(2)), 9);
        Assert.Equal(22, SceneScale.Extent(Ring(20, 5)), 9);
        // At the reference extent the lengths are graphdeco's and METHOD.md's; a near plane is a length, tau a squared one.
        Assert.Equal(0.2f, SceneScale.NearPlane(SceneScale.ReferenceExtent), 6);
        Assert.Equal(0.01, SceneScale.Tau(0.01, SceneScale.ReferenceExtent), 12);
        Assert.Equal(2f, SceneScale.NearPlane(10 * SceneScale.ReferenceExtent), 5);
        Assert.Equal(1.0, SceneScale.Tau(0.01, 10 * SceneScale.ReferenceExtent), 9);
        Assert.Throws<ArgumentException>(() => SceneScale.Extent(Array.Empty<Camera>()));
    }

    /// <summary>One scene, in metres and in decimetres: the codes each view decodes to are the same when the near plane
    /// follows the scene's extent, and not with graphdeco's absolute 0.2 (a floater 0.12 m in front of a camera, culled
    /// in metres, covers the view at 1.2 units).</summary>
    [Fact]
    public void ASceneInOtherUnitsDecodesTheSameCodes()
    {
        using var scope = NewDisposeScope();
        var cameras = Ring(2.7);
        var content = SyntheticGaussians.Random(cameras[0], 300, 0, 12, seed: 3, zNear: 2, zFar: 3.5, opacityLogitMean: 2, requiresGrad: false);
        var f = cameras[0].Unproject(32, 24, 0.12);
        var floater = new GaussianTensors(
            tensor(new float[] { (float)f.X, (float)f.Y, (float)f.Z }).reshape(1, 3), full(1, 3, (float)Math.Log(0.1)),
            tensor(new float[] { 1, 0, 0, 0 }).reshape(1, 4), full(1, 6f), zeros(1, 1, 3), full(1, 12, 5f));
        var metres = new GaussianTensors(cat([content.Means, floater.Means]), cat([content.LogScales, floater.LogScales]),
            cat([content.Quats, floater.Quats]), cat([content.OpacityLogits, floater.OpacityLogits]), cat([content.Sh, floater.Sh]),
            cat([content.Features!, floater.Features!]));
        const double s = 10;
        var decimetres = metres with { Means = metres.Means.mul(s), LogScales = metres.LogScales.add(Math.Log(s)) };
        var scaledCameras = cameras.Select(c => c with
        {
            CameraToWorld = c.CameraToWorld.Select((v, i) => i % 4 == 3 && i < 12 ? v * s : v).ToArray(),
        }).ToArray();
        double extent = SceneScale.Extent(cameras), scaledExtent = SceneScale.Extent(scaledCameras);
        Assert.Equal(s * extent, scaledExtent, 9);

        var rasterizer = new GaussianRasterizer();
        var floaterCode = (1 << 12) - 1;
        int differing = 0, absoluteDiffering = 0, pixels = 0;
        for (int v = 0; v < cameras.Length; v++)
        {
            var a = EmbeddingDecoder.RenderCodes(rasterizer, metres, 0, cameras[v], SceneScale.NearPlane(extent), PixelBlend.Raw);
            var b = EmbeddingDecoder.RenderCodes(rasterizer, decimetres, 0, scaledCameras[v], SceneScale.NearPlane(scaledExtent), PixelBlend.Raw);
            var absolute = EmbeddingDecoder.RenderCodes(rasterizer, decimetres, 0, scaledCameras[v], (float)SceneScale.ReferenceNearPlane, PixelBlend.Raw);
            if (v == 0) Assert.DoesNotContain(floaterCode, a);
            differing += a.Zip(b).Count(p => p.First != p.Second);
            absoluteDiffering += a.Zip(absolute).Count(p => p.First != p.Second);
            pixels += a.Length;
        }
        Assert.True(differing <= pixels / 500, $"{differing} of {pixels} pixels decode differently in decimetres");
        Assert.True(absoluteDiffering > pixels / 20, $"with the absolute near plane only {absoluteDiffering} of {pixels} pixels differ");
    }
}
