namespace UniCLift.Tests.Viewer;

using System.Text.Json.Nodes;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;

/// <summary>
/// A small result folder with known instances, written directly (no training): a synthetic room's scene (cameras,
/// images, ground truth), labels.ply with a checkered floor (instance 0) and one ball of Gaussians per object in the
/// object's colour (instance 2k+1 for object k: ids that are not 0..n), instance/ maps (the ground truth in those ids)
/// and metrics.json naming the scene.
/// </summary>
internal static class ViewerResult
{
    public const double ShC0 = 0.28209479177387814;

    public sealed record Made(string Scene, string Result, IReadOnlyDictionary<int, int> Counts, IReadOnlyList<SyntheticObject> Objects, GaussianCloud Cloud, int TrainViews);

    public static int IdOf(SyntheticObject o) => 2 * o.InstanceId + 1;

    public static Made Write(string root, int seed = 7, int objects = 3)
    {
        var gen = SyntheticSceneGenerator.Generate(new SyntheticSceneOptions { Seed = seed, Views = 6, Width = 64, Height = 48, Objects = objects, PointCount = 300, TestEvery = 3 }, 1);
        var scene = Path.Combine(root, "scene");
        PanopticLiftingLayout.Write(scene, gen.Views, gen.TrainViews, gen.TestViews);
        var result = Path.Combine(root, "result");
        var byGt = gen.Objects.ToDictionary(o => o.InstanceId, IdOf);
        foreach (var v in gen.Views)
            ImageIO.WriteLabels16(Path.Combine(result, "instance", v.Name + ".png"),
                new LabelMap(v.GtInstance!.Width, v.GtInstance.Height, v.GtInstance.Labels.Select(l => byGt.GetValueOrDefault(l)).ToArray()));

        var rng = new Random(seed);
        var means = new List<float>();
        var colours = new List<byte>();
        var ids = new List<int>();
        double floor = gen.Objects.Min(o => o.Centre[2] - o.Size[2] / 2);
        for (double x = -3; x <= 3; x += 0.12)
            for (double y = -3; y <= 3; y += 0.12)
            {
                means.AddRange([(float)x, (float)y, (float)floor]);
                byte c = ((int)Math.Floor(x) + (int)Math.Floor(y)) % 2 == 0 ? (byte)200 : (byte)70;
                colours.AddRange([c, c, c]);
                ids.Add(0);
            }
        for (int k = 0; k < gen.Objects.Count; k++)
        {
            var o = gen.Objects[k];
            double r = Math.Max(0.15, Math.Min(o.Size[0], o.Size[2]) / 2);
            for (int i = 0; i < 400 + 150 * k; i++)
            {
                // Uniform in the ball: a direction, a radius with density r^2.
                double u = rng.NextDouble() * 2 - 1, phi = rng.NextDouble() * 2 * Math.PI, rr = r * Math.Cbrt(rng.NextDouble());
                double s = Math.Sqrt(1 - u * u);
                means.AddRange([(float)(o.Centre[0] + rr * s * Math.Cos(phi)), (float)(o.Centre[1] + rr * s * Math.Sin(phi)), (float)(o.Centre[2] + rr * u)]);
                colours.AddRange(o.Colour);
                ids.Add(IdOf(o));
            }
        }
        int n = ids.Count;
        var cloud = new GaussianCloud
        {
            Count = n,
            Means = means.ToArray(),
            Normals = new float[n * 3],
            ShDc = colours.Select(c => (float)((c / 255.0 - 0.5) / ShC0)).ToArray(),
            ShRest = [],
            ShDegree = 0,
            Opacity = Enumerable.Repeat(3f, n).ToArray(),
            LogScales = Enumerable.Repeat(MathF.Log(0.06f), n * 3).ToArray(),
            Rotations = Enumerable.Range(0, n * 4).Select(i => i % 4 == 0 ? 1f : 0f).ToArray(),
            Extra = new Dictionary<string, float[]> { ["instance"] = ids.Select(i => (float)i).ToArray() },
        };
        GaussianPly.Write(Path.Combine(result, "labels.ply"), cloud);
        var metrics = new JsonObject
        {
            ["scene"] = scene, ["mode"] = "train", ["iterations"] = 1, ["seconds"] = 1.0, ["gaussians"] = n, ["instances"] = gen.Objects.Count,
        };
        File.WriteAllText(Path.Combine(result, "metrics.json"), metrics.ToJsonString());
        return new Made(scene, result, ids.GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count()), gen.Objects, cloud, gen.TrainViews.Count);
    }
}
