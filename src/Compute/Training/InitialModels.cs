namespace UniCLift.Compute.Training;

using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;

/// <summary>Where the initial Gaussians come from: a point cloud, depth back-projection, or a trained 3DGS PLY (lift mode).</summary>
public static class InitialModels
{
    /// <summary>The scene's point cloud if it has one, else points back-projected from the training views' depth.</summary>
    public static (float[] Positions, byte[] Colors) InitialPoints(Scene scene, TrainingData data, DeterministicRandom rng, int maxPoints = 100_000)
    {
        if (scene.PointCloudPath is not null) return PointCloudPly.Read(scene.PointCloudPath);
        var withDepth = TrainingData.ViewNames(scene).Select(scene.View).Where(v => v.DepthPath is not null).ToList(); // the views it trains on
        if (withDepth.Count == 0)
            throw new InvalidDataException($"Scene {scene.Root} has neither an initial point cloud (points3D.ply) nor depth images to back-project; pass --ply with a point cloud.");
        int perView = Math.Max(1, maxPoints / withDepth.Count);
        var pos = new List<float>(maxPoints * 3);
        var col = new List<byte>(maxPoints * 3);
        foreach (var v in withDepth)
        {
            var depth = SceneData.LoadDepth(scene, v);
            var image = SceneData.LoadImage(scene, v);
            int w = depth.Width, h = depth.Height;
            // Distinct pixels (a partial Fisher-Yates shuffle): drawing with replacement put up to 100k Gaussians on
            // the few thousand pixels of a small scene, most of them duplicates.
            int take = Math.Min(perView, w * h);
            var pixels = Draw(w * h, take, rng);
            for (int k = 0; k < take; k++)
            {
                int idx = pixels[k];
                float d = depth.Meters[idx];
                if (!(d > 0)) continue;
                var (x, y, z) = v.Camera.Unproject(idx % w + 0.5, idx / w + 0.5, d);
                pos.Add((float)x); pos.Add((float)y); pos.Add((float)z);
                col.Add(image.Pixels[idx * 3]); col.Add(image.Pixels[idx * 3 + 1]); col.Add(image.Pixels[idx * 3 + 2]);
            }
        }
        if (pos.Count == 0) throw new InvalidDataException($"Scene {scene.Root}: the depth images hold no valid depth to back-project.");
        return (pos.ToArray(), col.ToArray());
    }

    /// <summary>At most <paramref name="max"/> of the points (a uniform random subset, in their order), so that the
    /// Gaussian budget (<see cref="DensitySettings.MaxGaussians"/>) bounds a scene's memory from its first step, not only
    /// its densification: a 2M-point SfM cloud under a 500k budget trains on 500k. Under the budget the points are
    /// returned as they are, and nothing is drawn from <paramref name="rng"/>.</summary>
    public static (float[] Positions, byte[] Colors) AtMost(float[] positions, byte[] colors, int max, DeterministicRandom rng)
    {
        int n = positions.Length / 3;
        if (n <= max) return (positions, colors);
        var order = Draw(n, max, rng);
        Array.Sort(order, 0, max);
        var p = new float[max * 3];
        var c = new byte[max * 3];
        for (int k = 0; k < max; k++)
        {
            Array.Copy(positions, order[k] * 3, p, k * 3, 3);
            Array.Copy(colors, order[k] * 3, c, k * 3, 3);
        }
        return (p, c);
    }

    /// <summary>0..<paramref name="n"/>-1 with its first <paramref name="k"/> entries <paramref name="k"/> distinct ones
    /// drawn uniformly (a partial Fisher-Yates shuffle, one draw each, in order).</summary>
    private static int[] Draw(int n, int k, DeterministicRandom rng)
    {
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = 0; i < k; i++)
        {
            int j = i + rng.NextInt(n - i);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>A trained graphdeco 3DGS as the frozen geometry of lift mode; embeddings start from N(0, 1).</summary>
    public static GaussianModel FromGaussianPly(string path, int embeddingDim, GaussianLearningRates lr, double spatialScale, DeterministicRandom rng, double embeddingStd = 1.0)
    {
        var cloud = GaussianPly.Read(path);
        return GaussianModel.Create(cloud.Means, cloud.LogScales, cloud.Rotations, cloud.Opacity, cloud.ShDc, cloud.ShRest,
            GaussianModel.RandomEmbeddings(cloud.Count, embeddingDim, rng, embeddingStd), cloud.ShDegree, embeddingDim, lr, spatialScale, freezeGeometry: true);
    }
}
