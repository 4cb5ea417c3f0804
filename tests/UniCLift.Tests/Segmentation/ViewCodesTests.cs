namespace UniCLift.Tests.Segmentation;

using TorchSharp;
using UniCLift.Compute;
using UniCLift.Compute.IO;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Training;
using UniCLift.Tests.IO;
using UniCLift.Tests.Training;
using static TorchSharp.torch;

/// <summary>Each Gaussian's code as the views render it (<see cref="ViewCodes"/>).</summary>
public sealed class ViewCodesTests
{
    public ViewCodesTests() => TorchRuntime.EnsureInitialised();

    private static readonly Camera Front = SyntheticGaussians.LookAt(48, 32, 60, (0, 0, -5), (0, 0, 0));

    /// <summary>Degree-0 Gaussians of radius 0.3 at <paramref name="centres"/> with opacity <paramref name="opacity"/> and
    /// 2-channel embeddings <paramref name="embeddings"/> (row per Gaussian).</summary>
    private static GaussianTensors Gaussians((float X, float Y, float Z)[] centres, float opacity, float[] embeddings)
    {
        int n = centres.Length;
        var means = tensor(centres.SelectMany(c => new[] { c.X, c.Y, c.Z }).ToArray(), new long[] { n, 3 });
        var logScales = full(n, 3, MathF.Log(0.3f));
        var quats = tensor(Enumerable.Range(0, n).SelectMany(_ => new float[] { 1, 0, 0, 0 }).ToArray(), new long[] { n, 4 });
        var logits = full(n, 1, MathF.Log(opacity / (1 - opacity)));
        return new GaussianTensors(means, logScales, quats, logits, zeros(n, 1, 3), tensor(embeddings, new long[] { n, 2 }));
    }

    [Fact]
    public void A_Gaussian_Takes_The_Code_Its_Pixels_Show_And_One_No_View_Renders_Keeps_Its_Own()
    {
        using var scope = NewDisposeScope();
        // A in front (weight 0.6 where it peaks), B just behind it over the same pixels (weight 0.6 * 0.4 = 0.24): the
        // pixels blend 0.6 (2, -1) + 0.24 (-1, 0.5) = (0.96, -0.48), code 1, which is A's own; B's own is 2. C lies
        // behind the camera: no view renders it.
        var g = Gaussians([(0, 0, 0), (0, 0, 0.05f), (0, 0, -10)], 0.6f, [2, -1, -1, 0.5f, 1, 1]);
        Assert.Equal(new[] { 1, 2, 3 }, EmbeddingDecoder.DecodeGaussians(g.Features!));
        using var rasterizer = new GaussianRasterizer();
        var pixels = EmbeddingDecoder.RenderCodes(rasterizer, g, 0, Front, 0.01f, PixelBlend.Raw);
        Assert.Equal(new[] { 0, 1 }, pixels.Distinct().Order());

        Assert.Equal(new[] { 1, 1, 3 }, ViewCodes.Vote(rasterizer, g, 0, [Front], 0.01f));
        // The caller's tensors get no gradient and no graph; a stop is honoured before a view.
        Assert.False(g.Features!.requires_grad);
        Assert.Throws<OperationCanceledException>(() => ViewCodes.Vote(rasterizer, g, 0, [Front], 0.01f, new CancellationToken(canceled: true)));
    }

    [Fact]
    public void The_Views_Vote_With_The_Gaussians_Weight_In_Each()
    {
        using var scope = NewDisposeScope();
        // G0 (own code 0) and G1 (code 1) over the same pixels: from the front G0 is in front (weight 0.6, its pixels
        // show 0), from the back G1 is (G0 weighs 0.24 there, its pixels show 1). From the back alone G0 takes 1; from
        // both views it keeps 0, which it shows with the larger weight.
        var g = Gaussians([(0, 0, 0), (0, 0, 0.5f)], 0.6f, [-1, -1, 1, -1]);
        using var rasterizer = new GaussianRasterizer();
        var back = SyntheticGaussians.LookAt(48, 32, 60, (0, 0, 5), (0, 0, 0));
        var fromBack = ViewCodes.Vote(rasterizer, g, 0, [back], 0.01f);
        var fromBoth = ViewCodes.Vote(rasterizer, g, 0, [Front, back], 0.01f);
        Assert.Equal(new[] { 1, 1 }, fromBack);
        Assert.Equal(new[] { 0, 1 }, fromBoth);
    }

    [Fact]
    public void Voting_Leaves_No_Tensor_Behind()
    {
        using var g0 = NewDisposeScope();
        var g = Gaussians([(0, 0, 0), (0, 0, 0.05f), (0.2f, 0.1f, 0.3f)], 0.6f, [2, -1, -1, 0.5f, 1, 1]);
        using var rasterizer = new GaussianRasterizer();
        ViewCodes.Vote(rasterizer, g, 0, [Front], 0.01f);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 10; i++) ViewCodes.Vote(rasterizer, g, 0, [Front, Front], 0.01f);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    private static TrainedGaussians Model(int[]? viewCodes)
    {
        var cloud = new GaussianCloud
        {
            Count = 3, Means = new float[9], Normals = new float[9], ShDc = new float[9], ShDegree = 0, Opacity = new float[3], LogScales = new float[9],
            Rotations = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0],
        };
        return new TrainedGaussians(cloud, [1, -1, -1, 1, 1, 1], 2, viewCodes);
    }

    [Fact]
    public void ModelPly_Keeps_The_View_Codes_And_Decoding_Chooses_Them_Unless_Told_Own()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, TrainedGaussians.FileName);
        Model([2, 2, 0]).Write(path);
        var read = TrainedGaussians.Read(path);
        Assert.Equal(new[] { 2, 2, 0 }, read.ViewCodes);
        Assert.DoesNotContain(ViewCodes.PlyProperty, read.Cloud.Extra.Keys); // not carried twice when written again
        Assert.Equal(new[] { 2, 2, 0 }, read.GaussianCodes(GaussianCodes.Views));
        Assert.Equal(new[] { 1, 2, 3 }, read.GaussianCodes(GaussianCodes.Own));
        Assert.Equal(GaussianCodes.Own, DecodeOptionOverrides.Apply(new DecodeOptions(), ["gaussiancodes=own"]).GaussianCodes);
        Assert.Equal(GaussianCodes.Views, new DecodeOptions().GaussianCodes);

        Model(null).Write(path); // a model written before view codes, or by another tool: its own codes
        Assert.Null(TrainedGaussians.Read(path).ViewCodes);
        Assert.Equal(new[] { 1, 2, 3 }, TrainedGaussians.Read(path).GaussianCodes(GaussianCodes.Views));

        // What metrics.json records of it.
        Assert.Equal("views", SceneSegmentation.CodesLabelling(read, GaussianCodes.Views));
        Assert.Equal("own", SceneSegmentation.CodesLabelling(read, GaussianCodes.Own));
        Assert.Equal(SceneSegmentation.OwnCodesForLackOfViewCodes, SceneSegmentation.CodesLabelling(Model(null), GaussianCodes.Views));
        var wide = new TrainedGaussians(Model(null).Cloud, new float[3 * 25], 25);
        Assert.Equal("own: wider than 24 bits", SceneSegmentation.CodesLabelling(wide, GaussianCodes.Views));
    }

    [Theory]
    [InlineData(4f)] // a 2-bit code is 0..3
    [InlineData(1.5f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    public void A_View_Code_That_Is_Not_A_Code_Is_Refused_Naming_The_File_And_Vertex(float bad)
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, TrainedGaussians.FileName);
        var cloud = Model(null).ToCloud(new Dictionary<string, float[]> { [ViewCodes.PlyProperty] = [0, bad, 1] });
        GaussianPly.Write(path, cloud);
        var e = Assert.Throws<InvalidDataException>(() => TrainedGaussians.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("vertex 1", e.Message);
    }

    [Fact]
    public void Copies_In_Place_Are_Labelled_Alike_After_A_Lift()
    {
        // A trained tiny scene whose every Gaussian is copied 4 times in place (opacity split so the images stay the
        // same), lifted for one pass over its views: the copies start from independent embeddings and get about the
        // same steps, so their own codes keep apart while their pixels agree. Their instance ids in labels.ply come
        // from what the pixels show.
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, seed: 5, objects: 3, views: 8, width: 48, height: 36, points: 1500);
        using var trained = new TempDir();
        SegmentationRunner.Run(scene, new TrainingOptions { Iterations = 150, Seed = 1 }, trained.Path);
        var model = GaussianPly.Read(Path.Combine(trained.Path, TrainedGaussians.FileName));
        const int copies = 4;
        var dense = Copied(model, copies);
        var densePly = Path.Combine(dir.Path, "dense.ply");
        GaussianPly.Write(densePly, dense);

        double Agreeing(GaussianCodes codes)
        {
            using var lifted = new TempDir();
            SegmentationRunner.Run(scene, new TrainingOptions { Mode = TrainingMode.Lift, Iterations = 8, Seed = 3 }, lifted.Path, densePly,
                decode: new DecodeOptions { GaussianCodes = codes });
            Assert.Equal(codes.ToString().ToLowerInvariant(), SceneSegmentation.Recorded(lifted.Path, "gaussian_codes"));
            var ids = GaussianPly.Read(Path.Combine(lifted.Path, SceneSegmentation.LabelsPly)).Extra["instance"];
            // Over the copies of which any is labelled an object (the background's many Gaussians agree on 0 either way).
            int objects = 0, alike = 0;
            for (int p = 0; p < ids.Length / copies; p++)
            {
                var group = ids.AsSpan(p * copies, copies).ToArray();
                if (group.All(id => id == 0)) continue;
                objects++;
                if (group.All(id => id == group[0])) alike++;
            }
            return (double)alike / objects;
        }
        double views = Agreeing(GaussianCodes.Views), own = Agreeing(GaussianCodes.Own);
        Assert.True(views > 0.9, $"copies labelled alike: {views:P0} from the views, {own:P0} from their own codes");
        Assert.True(own < views - 0.2, $"copies labelled alike: {views:P0} from the views, {own:P0} from their own codes");
    }

    /// <summary><paramref name="c"/> with every Gaussian copied <paramref name="k"/> times in place, each copy's opacity
    /// 1 - (1 - a)^(1/k) so that the k of them render as the one did.</summary>
    private static GaussianCloud Copied(GaussianCloud c, int k)
    {
        float[] Repeat(float[] a, int per) => Enumerable.Range(0, c.Count).SelectMany(i => Enumerable.Repeat(a.AsSpan(i * per, per).ToArray(), k).SelectMany(x => x)).ToArray();
        var opacity = c.Opacity.Select(logit =>
        {
            double a = 1 / (1 + Math.Exp(-logit)), split = Math.Clamp(1 - Math.Pow(1 - a, 1.0 / k), 1e-6, 1 - 1e-6);
            return (float)Math.Log(split / (1 - split));
        }).ToArray();
        int rest = c.ShCoefficients - 1;
        return new GaussianCloud
        {
            Count = c.Count * k, Means = Repeat(c.Means, 3), Normals = Repeat(c.Normals, 3),
            ShDc = Repeat(c.ShDc, 3), ShRest = rest == 0 ? [] : Repeat(c.ShRest, rest * 3), ShDegree = c.ShDegree,
            Opacity = Repeat(opacity, 1), LogScales = Repeat(c.LogScales, 3), Rotations = Repeat(c.Rotations, 4),
        };
    }
}
