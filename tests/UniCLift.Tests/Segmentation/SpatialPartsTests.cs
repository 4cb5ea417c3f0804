namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.IO;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;

public class SpatialPartsTests
{
    private const int Part1 = 1 << SpatialParts.PartShift;

    /// <summary>Gaussians as (centre, count, radius, code) blobs, plus a floor of code 0 that gives the scene its size.</summary>
    private static (float[] Means, float[] Opacity, int[] Codes) Blobs(params ((double X, double Y, double Z) At, int Count, double Radius, int Code)[] blobs)
    {
        var rng = new Random(3);
        var means = new List<float>();
        var codes = new List<int>();
        foreach (var (at, count, radius, code) in blobs.Append(((0, 2, 6), 3000, 0, 0)))
            for (int i = 0; i < count; i++)
            {
                // The floor: a 10 x 10 plane at y = 2; a blob: a ball of the given radius.
                var (x, y, z) = radius == 0
                    ? (at.X + 10 * (rng.NextDouble() - 0.5), at.Y, at.Z + 10 * (rng.NextDouble() - 0.5))
                    : (at.X + radius * (2 * rng.NextDouble() - 1), at.Y + radius * (2 * rng.NextDouble() - 1), at.Z + radius * (2 * rng.NextDouble() - 1));
                means.AddRange([(float)x, (float)y, (float)z]);
                codes.Add(code);
            }
        return (means.ToArray(), Enumerable.Repeat(2f, codes.Count).ToArray(), codes.ToArray());
    }

    [Fact]
    public void A_Code_Whose_Gaussians_Lie_In_Two_Places_Is_Split_And_A_Connected_One_Is_Not()
    {
        // Code 5 on two blobs 6 apart (and 5 floaters nearer the smaller); code 9 on a chain of blobs 0.2 apart.
        var chain = Enumerable.Range(0, 31).Select(k => ((-3 + 0.2 * k, 0.0, 8.0), 10, 0.1, 9));
        var (means, opacity, codes) = Blobs([((-3, 0, 5), 200, 0.2, 5), ((3, 0, 5), 120, 0.2, 5), ((1, -3, 5), 5, 0.05, 5), .. chain]);
        var parts = SpatialParts.Build(means, opacity, codes);

        Assert.Equal(new Dictionary<int, int> { [5] = 2 }, parts.SplitCodes);
        var extended = parts.ExtendGaussians(codes, means);
        Assert.All(Enumerable.Range(0, 200), i => Assert.Equal(5, extended[i]));              // the larger blob keeps the code
        Assert.All(Enumerable.Range(200, 120), i => Assert.Equal(5 | Part1, extended[i]));    // the other is part 1
        Assert.All(Enumerable.Range(320, 5), i => Assert.Equal(5 | Part1, extended[i]));      // floaters: the nearest part
        Assert.All(Enumerable.Range(325, 310), i => Assert.Equal(9, extended[i]));            // the chain is one piece
        Assert.Equal(parts.SplitCodes, SpatialParts.Build(means, opacity, codes).SplitCodes); // a function of the model

        // A piece under the share is no part; faint Gaussians make no cells.
        Assert.True(SpatialParts.Build(means, opacity, codes, new SpatialSplitOptions { MinShare = 0.4 }).IsEmpty);
        Assert.True(SpatialParts.Build(means, opacity.Select(_ => -5f).ToArray(), codes).IsEmpty);
    }

    [Fact]
    public void A_Pixel_Takes_The_Part_Its_Rendered_Depth_Puts_It_At()
    {
        var (means, opacity, codes) = Blobs(((-3, 0, 5), 200, 0.2, 5), ((3, 0, 5), 120, 0.2, 5));
        var parts = SpatialParts.Build(means, opacity, codes);
        var camera = SyntheticGaussians.LookAt(64, 48, 120, (0, 0, 0), (0, 0, 1));
        int n = camera.Width * camera.Height;
        var pixels = new int[n];
        var depth = new float[n];
        var alpha = new float[n];
        int Pixel((double X, double Y, double Z) p, float a)
        {
            var (u, v, z) = camera.Project(p.X, p.Y, p.Z);
            int i = (int)Math.Round(v) * camera.Width + (int)Math.Round(u);
            (pixels[i], depth[i], alpha[i]) = (5, (float)(z * a), a); // depth as rendered: sum w z, not normalised
            return i;
        }
        int left = Pixel((-3, 0, 5), 0.8f), right = Pixel((3, 0, 5), 0.6f);
        int empty = 5 * camera.Width + 5;
        pixels[empty] = 5; // code 5 but nothing rendered there: left as it is
        parts.ExtendPixels(pixels, depth, alpha, camera);
        Assert.Equal(5, pixels[left]);
        Assert.Equal(5 | Part1, pixels[right]);
        Assert.Equal(5, pixels[empty]);
        Assert.Equal(0, pixels[0]);
        Assert.Throws<ArgumentException>(() => parts.ExtendPixels(new int[n - 1], depth, alpha, camera));
    }

    [Fact]
    public void Code_Distances_Count_Embedding_Bits_Only_And_Nearest_Prefers_The_Same_Part()
    {
        Assert.Equal(1, SpatialParts.Distance(5 | Part1, 4));
        Assert.Equal(0, SpatialParts.Distance(5 | Part1, 5));
        Assert.Equal(5, SpatialParts.BaseCode(5 | 3 * Part1));
        Assert.Equal(3, SpatialParts.Part(5 | 3 * Part1));
        var book = new LabelCodebook([5, 5 | Part1], backgroundCode: 0);
        Assert.Equal(2, book.NearestId(7 | Part1)); // one bit from both: the same part wins
        Assert.Equal(1, book.NearestId(7));
    }

    /// <summary>Two objects no view tells apart by their embedding: the same code, 3 apart. Rendered, thresholded and
    /// put through the codebook they are one instance; with the split, two, in the view that shows both.</summary>
    [Fact]
    public void Two_Objects_Apart_With_One_Embedding_Decode_To_Two_Instances()
    {
        var rng = new Random(5);
        var means = new List<float>();
        var emb = new List<float>();
        void Add(int count, Func<(double, double, double)> at, float sign)
        {
            for (int i = 0; i < count; i++)
            {
                var (x, y, z) = at();
                means.AddRange([(float)x, (float)y, (float)z]);
                emb.AddRange(Enumerable.Range(0, 12).Select(k => k == 0 ? 3f * sign : -3f));
            }
        }
        double U() => 2 * rng.NextDouble() - 1;
        Add(1500, () => (4 * U(), 3 * U(), 8), -1);                     // a wall behind: code 0
        Add(400, () => (-1.5 + 0.3 * U(), 0.3 * U(), 5 + 0.3 * U()), 1); // code 1
        Add(400, () => (1.5 + 0.3 * U(), 0.3 * U(), 5 + 0.3 * U()), 1);  // code 1 again
        int count = means.Count / 3;
        var cloud = new GaussianCloud
        {
            Count = count, Means = means.ToArray(), Normals = new float[3 * count], ShDc = new float[3 * count], ShRest = [], ShDegree = 0,
            Opacity = Enumerable.Repeat(3f, count).ToArray(), LogScales = Enumerable.Repeat((float)Math.Log(0.06), 3 * count).ToArray(),
            Rotations = Enumerable.Range(0, 4 * count).Select(i => i % 4 == 0 ? 1f : 0f).ToArray(),
        };
        var model = new TrainedGaussians(cloud, emb.ToArray(), 12);
        var camera = SyntheticGaussians.LookAt(96, 72, 70, (0, 0, 0), (0, 0, 1));
        var baseCodes = model.DecodeGaussians();
        var parts = model.SpatialParts(baseCodes, SpatialSplitOptions.Default);
        Assert.Equal(new Dictionary<int, int> { [1] = 2 }, parts.SplitCodes);
        Assert.True(model.SpatialParts(baseCodes, null).IsEmpty);

        var rasterizer = new GaussianRasterizer();
        var plain = model.RenderCodes(rasterizer, camera, 0.01f, PixelBlend.Probabilities);
        var split = model.RenderCodes(rasterizer, camera, 0.01f, PixelBlend.Probabilities, parts: parts);
        Assert.Equal(1, LabelCodebook.Build([plain]).InstanceCount);
        var book = LabelCodebook.Build([split], gaussianCodes: parts.ExtendGaussians(baseCodes, cloud.Means));
        Assert.Equal(2, book.InstanceCount);
        // Left of the centre the one object, right of it the other; the wall is background either way.
        int row = camera.Height / 2 * camera.Width;
        var (ul, _, _) = camera.Project(-1.5, 0, 5);
        var (ur, _, _) = camera.Project(1.5, 0, 5);
        int left = book.NearestId(split[row + (int)ul]), right = book.NearestId(split[row + (int)ur]);
        Assert.NotEqual(0, left);
        Assert.NotEqual(0, right);
        Assert.NotEqual(left, right);
        Assert.Equal(0, book.NearestId(split[row + 2]));
        // The Gaussians get the ids their pixels got.
        var ids = book.MapGaussians(parts.ExtendGaussians(baseCodes, cloud.Means));
        Assert.Equal(left, ids[1500]);
        Assert.Equal(right, ids[1900]);
    }
}
