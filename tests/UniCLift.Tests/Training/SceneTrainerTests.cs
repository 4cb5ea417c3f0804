namespace UniCLift.Tests.Training;

using TorchSharp;
using UniCLift.Compute.Metrics;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Training;
using UniCLift.Tests.IO;

public sealed class SceneTrainerTests
{
    private static TrainingOptions Short(int iterations) => new()
    {
        Iterations = iterations,
        // Densify early and often so that a short run exercises clone/split/prune and the opacity reset.
        DensifyFromFraction = 0.1,
        DensifyInterval = 10,
        OpacityResetFraction = 0.3,
        OpacityResetMinRounds = 0,
        ShIncreaseFraction = 0.1,
        SmoothSamples = 512,
        SmoothGraphRefresh = 7,
        Density = new DensitySettings(GradThreshold: 0.00005),
    };

    private static Dictionary<string, float[]> Snapshot(SceneTrainer t) =>
        t.Model.Optimizer.Names.ToDictionary(n => n, n => t.Model.Read(n));

    [Fact]
    public void CheckpointRoundTripContinuesBitForBit()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir);
        var options = Short(40);

        using var straight = SceneTrainer.Create(scene, options);
        while (!straight.IsComplete) straight.Step();

        using var first = SceneTrainer.Create(scene, options);
        for (int i = 0; i < 17; i++) first.Step();
        var stream = new MemoryStream();
        first.Save(stream);
        stream.Position = 0;
        using var resumed = SceneTrainer.Restore(scene, stream);
        Assert.Equal(17, resumed.CurrentStep);
        while (!resumed.IsComplete) resumed.Step();

        Assert.NotEqual(2500, straight.GaussianCount); // density control ran
        Assert.Equal(straight.GaussianCount, resumed.GaussianCount);
        var a = Snapshot(straight);
        var b = Snapshot(resumed);
        foreach (var name in a.Keys)
            Assert.True(a[name].AsSpan().SequenceEqual(b[name]), $"parameter {name} differs after resume");
        // And the Adam moments, which decide every later step.
        foreach (var name in a.Keys)
        {
            var ma = straight.Model.Optimizer[name].ExpAvgSq.data<float>().ToArray();
            var mb = resumed.Model.Optimizer[name].ExpAvgSq.data<float>().ToArray();
            Assert.True(ma.AsSpan().SequenceEqual(mb), $"Adam second moment of {name} differs after resume");
        }
    }

    [Theory]
    [InlineData(0.05)] // in the options JSON
    [InlineData(0.5)]  // in the parameters' floats: once restored silently with wrong values
    [InlineData(0.99)] // near the end marker
    public void A_Checkpoint_With_One_Byte_Changed_Is_Refused_Clearly(double where)
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        using var t = SceneTrainer.Create(scene, Short(5));
        t.Step();
        var stream = new MemoryStream();
        t.Save(stream);
        var bytes = stream.ToArray();
        using (var ok = new MemoryStream(bytes)) using (SceneTrainer.Restore(scene, ok)) { } // intact: restores
        bytes[(int)(where * (bytes.Length - 33)) + 20] ^= 0x10;
        var e = Assert.Throws<InvalidDataException>(() => SceneTrainer.Restore(scene, new MemoryStream(bytes)));
        Assert.Contains("SHA-256", e.Message);
    }

    [Fact]
    public void TruncatedCheckpointIsAClearError()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        using var t = SceneTrainer.Create(scene, Short(5));
        t.Step();
        var stream = new MemoryStream();
        t.Save(stream);
        var cut = new MemoryStream(stream.ToArray()[..(int)(stream.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => SceneTrainer.Restore(scene, cut));
        Assert.Contains("checkpoint", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void NativeTensorCountDoesNotGrowOverSteps()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        // Segmentation losses on from the start, no density control, so every step does the same work.
        var options = Short(60) with { SegmentationLossesFromFraction = 0, DensifyUntilFraction = 0 };
        using var t = SceneTrainer.Create(scene, options);
        for (int i = 0; i < 10; i++) t.Step();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 40; i++) t.Step();
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.True(after <= before, $"live tensors grew from {before} to {after} over 40 steps");
    }

    [Fact]
    public void TinySceneComesOutConsistentAcrossViews()
    {
        using var dir = new TempDir();
        // Masks with ids permuted per view: only a method that makes them consistent scores well on PQ^scene.
        var scene = TinyScenes.Write(dir, seed: 5, objects: 4, views: 12, width: 64, height: 48, points: 4000);
        var raw = SceneEvaluator.Evaluate(scene, "test", new PanopticOptions(), v => SceneData.LoadMask(scene, v)).Result;

        using var outDir = new TempDir();
        var result = SegmentationRunner.Run(scene, new TrainingOptions { Iterations = 400, Seed = 2 }, outDir.Path);
        Assert.NotNull(result.PqThings);
        Assert.True(result.PqThings >= 50, $"PQ_things {result.PqThings:0.0} (raw per-view masks: {raw.PqThings:0.0})");
        Assert.True(result.PqThings > raw.PqThings + 15, $"PQ_things {result.PqThings:0.0} vs raw {raw.PqThings:0.0}");
        Assert.True(File.Exists(Path.Combine(outDir.Path, "labels.ply")));
        Assert.True(File.Exists(Path.Combine(outDir.Path, "metrics.json")));
        // What it was trained with, as --set takes it: only the seed differs from train mode's defaults.
        var settings = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir.Path, "metrics.json")))!["settings"]!.AsArray();
        Assert.Equal(["Seed=2"], settings.Select(n => n!.GetValue<string>()));
        Assert.Equal(["Seed=2"], TrainingSummary.Read(Path.Combine(outDir.Path, TrainingSummary.FileName)).Settings!);
        Assert.Equal(scene.Views.Count, Directory.GetFiles(Path.Combine(outDir.Path, "instance"), "*.png").Length);
    }

    [Fact]
    public void MasksWithoutAnyObjectGiveAResultWhosePqOverThingsIsNull()
    {
        // The evaluation keeps no thing class when nothing is predicted (PQ over things: a mean over no class, NaN);
        // metrics.json says null where it failed to write NaN and the run failed after training.
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        var empty = Path.Combine(dir.Path, "empty-mask.png");
        UniCLift.Compute.IO.ImageIO.WriteLabels16(empty, new LabelMap(scene.Views[0].Camera.Width, scene.Views[0].Camera.Height, new int[scene.Views[0].Camera.Width * scene.Views[0].Camera.Height]));
        var noObjects = scene with { Views = scene.Views.Select(v => v with { MaskPath = empty, GtInstancePath = empty }).ToList() }; // a room without objects
        using var outDir = new TempDir();
        var result = SegmentationRunner.Run(noObjects, Short(5), outDir.Path);
        Assert.Null(result.PqThings);
        var pq = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir.Path, "metrics.json")))!["pq"]!;
        Assert.Null(pq["pq_things"]);
        Assert.True(pq["pq_scene"]!.GetValue<double>() is >= 0 and <= 100);
    }

    [Fact]
    public void AMaskOfNoiseIsAnErrorNamingTheViewNotAProcessTheKernelKills()
    {
        // A random id per pixel: L_cluster's [K, K, D] push term of an 11,000-segment view took the process past 24 GB.
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4, width: 80, height: 60);
        var victim = scene.TrainViews[0];
        var rng = new Random(1);
        UniCLift.Compute.IO.ImageIO.WriteLabels16(scene.View(victim).MaskPath!, new LabelMap(80, 60, Enumerable.Range(0, 80 * 60).Select(_ => rng.Next(1, 60000)).ToArray()));
        var noisy = PanopticLiftingLayout.Read(dir.Path);
        var options = Short(8) with { StuffAsBackground = false }; // every pixel's id counts (the semantic maps would clear the room's)
        using (var t = SceneTrainer.Create(noisy, options))
        {
            var e = Assert.Throws<InvalidDataException>(() => { while (!t.IsComplete) t.Step(); });
            Assert.Contains($"view '{victim}'", e.Message);
            Assert.Contains("segments (at most 4,096)", e.Message);
            Assert.Contains("ClusterPixelSamples", e.Message);
        }
        // What the message suggests trains.
        using var sampled = SceneTrainer.Create(noisy, options with { ClusterPixelSamples = 2000 });
        while (!sampled.IsComplete) sampled.Step();
    }

    [Fact]
    public void ASceneWithoutATrainingSplitOrPointCloudStartsFromEveryViewsDepth()
    {
        // Without a split a trainer learns from every view; the initial points came from the (empty) training split's
        // depth only, and the error said the scene had no depth images.
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        Assert.All(scene.Views, v => Assert.NotNull(v.DepthPath));
        var noSplit = scene with { TrainViews = [], PointCloudPath = null };
        using var t = SceneTrainer.Create(noSplit, Short(2));
        Assert.True(t.GaussianCount > 0);
        t.Step();
    }

    [Fact]
    public void AnInitialCloudLargerThanTheGaussianBudgetStartsFromASubsetOfIt()
    {
        // The budget used to bound densification only: a 2500-point cloud under a budget of 600 trained on 2500.
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        using (var whole = SceneTrainer.Create(scene, Short(2)))
            Assert.Equal(2500, whole.GaussianCount);
        using var capped = SceneTrainer.Create(scene, Short(2) with { MaxGaussians = 600 });
        Assert.Equal(600, capped.GaussianCount);
        capped.Step();
        Assert.True(capped.GaussianCount <= 600);

        // A uniform subset of the cloud's own points, in their order, the same for the same seed.
        var (points, colors) = UniCLift.Compute.IO.PointCloudPly.Read(scene.PointCloudPath!);
        var (p, c) = InitialModels.AtMost(points, colors, 600, new DeterministicRandom(7));
        var (q, _) = InitialModels.AtMost(points, colors, 600, new DeterministicRandom(7));
        Assert.Equal(p, q);
        Assert.Equal((1800, 1800), (p.Length, c.Length));
        var index = Enumerable.Range(0, points.Length / 3).ToDictionary(i => (points[3 * i], points[3 * i + 1], points[3 * i + 2]), i => i);
        var taken = Enumerable.Range(0, 600).Select(k => index[(p[3 * k], p[3 * k + 1], p[3 * k + 2])]).ToArray();
        Assert.Equal(taken.Order(), taken);
        Assert.Equal(600, taken.Distinct().Count());
        Assert.All(Enumerable.Range(0, 600), k => Assert.Equal(colors.AsSpan(3 * taken[k], 3).ToArray(), c.AsSpan(3 * k, 3).ToArray()));
        // Spread over the cloud, not its first points.
        Assert.True(taken[^1] > 2000 && taken[0] < 500, $"subset spans {taken[0]}..{taken[^1]}");
        // Under the budget: the same arrays, nothing drawn.
        Assert.Same(points, InitialModels.AtMost(points, colors, 2500, new DeterministicRandom(7)).Positions);
    }

    [Fact]
    public void SceneWithoutMasksIsAClearError()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        var noMasks = scene with { Views = scene.Views.Select(v => v with { MaskPath = null }).ToList() };
        var e = Assert.Throws<InvalidDataException>(() => SceneTrainer.Create(noMasks, Short(5)));
        Assert.Contains("mask", e.Message);
        Assert.Contains(scene.Views[0].Name, e.Message);
    }

    [Fact]
    public void LiftModeWithAPlyLackingGaussianFieldsIsAClearError()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        var pointsOnly = Path.Combine(dir.Path, "points3D.ply"); // x y z r g b: not a 3DGS PLY
        var e = Assert.Throws<InvalidDataException>(() =>
            SceneTrainer.Create(scene, Short(5) with { Mode = TrainingMode.Lift }, pointsOnly));
        Assert.Contains("points3D.ply", e.Message);
        Assert.Contains("3DGS", e.Message);
    }

    /// <summary>A tiny 4-view scene in <paramref name="dir"/> and the geometry <paramref name="iterations"/> train steps give it, a lift's input.</summary>
    private static (Scene Scene, string Ply) TrainedTinyScene(TempDir dir, int iterations)
    {
        var scene = TinyScenes.Write(dir, views: 4);
        string ply = Path.Combine(Directory.CreateDirectory(Path.Combine(dir.Path, "geometry")).FullName, "model.ply");
        using var t = SceneTrainer.Create(scene, Short(iterations));
        while (!t.IsComplete) t.Step();
        TrainedGaussians.FromModel(t.Model).Write(ply);
        return (scene, ply);
    }

    [Fact]
    public void A_Degree_Zero_Model_Trains_Resumes_Is_Written_And_Lifts()
    {
        // Colour from the DC term alone (ShDegree 0, as some trainers export): its SH rest is an empty tensor, which
        // failed every run after its last step, when the model was read back to be written.
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 4);
        var options = Short(20) with { ShDegree = 0 };
        using var first = SceneTrainer.Create(scene, options);
        for (int i = 0; i < 10; i++) first.Step();
        var stream = new MemoryStream();
        first.Save(stream);
        stream.Position = 0;
        using var resumed = SceneTrainer.Restore(scene, stream);
        while (!resumed.IsComplete) resumed.Step();
        Assert.Empty(resumed.Model.Read(GaussianModel.ShRest));

        using var train = new TempDir();
        var trained = SegmentationRunner.Run(scene, options, train.Path);
        var ply = Path.Combine(train.Path, TrainedGaussians.FileName);
        Assert.Equal(0, TrainedGaussians.Read(ply).Cloud.ShDegree);
        using var lifted = new TempDir();
        var lift = SegmentationRunner.Run(scene, Short(10) with { Mode = TrainingMode.Lift }, lifted.Path, ply);
        Assert.True(File.Exists(Path.Combine(lifted.Path, "labels.ply")));
        Assert.Equal(trained.Gaussians, lift.Gaussians);
    }

    [Fact]
    public void LiftModeKeepsGeometryFixedAndTrainsEmbeddings()
    {
        using var dir = new TempDir();
        var (scene, ply) = TrainedTinyScene(dir, 10);
        using var lift = SceneTrainer.Create(scene, Short(10) with { Mode = TrainingMode.Lift }, ply);
        Assert.All(lift.Data.Views, v => Assert.Null(v.Image)); // lift mode trains no colour: no image is read or kept
        var means = lift.Model.Read(GaussianModel.Means);
        var emb = lift.Model.Read(GaussianModel.Embeddings);
        while (!lift.IsComplete) lift.Step();
        Assert.True(means.AsSpan().SequenceEqual(lift.Model.Read(GaussianModel.Means)), "lift mode moved the geometry");
        Assert.False(emb.AsSpan().SequenceEqual(lift.Model.Read(GaussianModel.Embeddings)), "lift mode did not train the embeddings");
    }

    [Fact]
    public void LiftModeWeighsTheTripletLossWithLiftTripletWeight()
    {
        using var dir = new TempDir();
        var (scene, ply) = TrainedTinyScene(dir, 10);
        var options = Short(3) with { Mode = TrainingMode.Lift, TripletWeight = 0.1, LiftTripletWeight = 0.7 };
        using var lift = SceneTrainer.Create(scene, options, ply);
        var r = lift.Step();
        Assert.True(r.TripletLoss > 0, $"no triplet loss on the first lift step ({r.TripletLoss})");
        double expected = r.RenderLoss + 0.1 * r.ClusterLoss + 0.7 * r.TripletLoss + 0.1 * r.SmoothLoss;
        Assert.True(Math.Abs(r.TotalLoss - expected) <= 1e-4 * (1 + Math.Abs(expected)),
            $"total {r.TotalLoss} is not render + 0.1 cluster + 0.7 triplet + 0.1 smooth = {expected}");
    }

    [Fact]
    public void LiftModeSwitchesL3DOnAfterLiftSmoothFromFraction()
    {
        using var dir = new TempDir();
        var (scene, ply) = TrainedTinyScene(dir, 5);
        using var lift = SceneTrainer.Create(scene, Short(6) with { Mode = TrainingMode.Lift, LiftSmoothFromFraction = 0.5 }, ply);
        var smooth = new List<double>();
        var triplet = new List<double>();
        while (!lift.IsComplete) { var r = lift.Step(); smooth.Add(r.SmoothLoss); triplet.Add(r.TripletLoss); }
        Assert.Equal([0.0, 0.0, 0.0], smooth.Take(3));
        Assert.All(smooth.Skip(3), l => Assert.True(l > 0, $"L_3D still off after half the lift: {string.Join(", ", smooth)}"));
        Assert.True(triplet[0] > 0, "the triplets wait for L_3D; they start at the first lift step");
    }

    [Fact]
    public void LiftModeStartsTheEmbeddingsWithLiftEmbeddingInitStd()
    {
        using var dir = new TempDir();
        var (scene, ply) = TrainedTinyScene(dir, 5);
        double Std(double liftStd)
        {
            using var lift = SceneTrainer.Create(scene, Short(3) with { Mode = TrainingMode.Lift, EmbeddingInitStd = 0.01, LiftEmbeddingInitStd = liftStd }, ply);
            var e = lift.Model.Read(GaussianModel.Embeddings);
            double mean = e.Average(v => (double)v);
            return Math.Sqrt(e.Average(v => (v - mean) * (v - mean)));
        }
        double wide = Std(1.0), narrow = Std(0.02);
        Assert.InRange(wide, 0.9, 1.1);
        Assert.InRange(narrow, 0.015, 0.025);
    }
}
