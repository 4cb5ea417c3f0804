namespace UniCLift.Compute.Training;

using TorchSharp.Modules;
using UniCLift.Compute.Rendering;
using static TorchSharp.torch;

/// <summary>
/// The Gaussians of one scene, held as named parameters of a <see cref="GaussianAdam"/> (which owns them and their
/// moments). Shapes: means [N,3]; log_scales [N,3]; rotations [N,4] (w,x,y,z, unnormalised); opacity_logits [N,1];
/// sh_dc [N,1,3]; sh_rest [N,K-1,3] with K = (degree+1)^2; embeddings [N,D] (pre-sigmoid, view-independent).
/// </summary>
public sealed class GaussianModel : IDisposable
{
    public const string Means = "means", LogScales = "log_scales", Rotations = "rotations", Opacity = "opacity_logits",
        ShDc = "sh_dc", ShRest = "sh_rest", Embeddings = "embeddings";

    public static readonly string[] GeometryNames = { Means, LogScales, Rotations, Opacity, ShDc, ShRest };

    public GaussianAdam Optimizer { get; }
    public int ShDegree { get; }
    public int EmbeddingDim { get; }

    public GaussianModel(GaussianAdam optimizer, int shDegree, int embeddingDim)
    {
        Optimizer = optimizer;
        ShDegree = shDegree;
        EmbeddingDim = embeddingDim;
    }

    public Parameter this[string name] => Optimizer[name].Value;
    public int Count => (int)Optimizer[Means].Value.shape[0];

    /// <summary>SH coefficients [N,K,3] for rendering (dc and rest concatenated; differentiable).</summary>
    public Tensor Sh() => cat(new Tensor[] { this[ShDc], this[ShRest] }, 1);

    /// <summary>The parameters as the rasteriser takes them (the live parameters, so a loss on the render reaches them;
    /// SH in the caller's dispose scope).</summary>
    public GaussianTensors ToGaussianTensors() =>
        new(this[Means], this[LogScales], this[Rotations], this[Opacity], Sh(), this[Embeddings]);

    /// <summary>
    /// Initialises from a point cloud as 3DGS does: scale = mean distance to the 3 nearest neighbours (isotropic),
    /// identity rotation, opacity 0.1, colour as the SH DC term, embeddings ~ N(0, 1).
    /// </summary>
    public static GaussianModel FromPointCloud(float[] positions, byte[] colors, int shDegree, int embeddingDim,
        GaussianLearningRates lr, double spatialScale, DeterministicRandom rng, bool freezeGeometry = false, double embeddingStd = 1.0)
    {
        int n = positions.Length / 3;
        if (n == 0) throw new InvalidDataException("The initial point cloud is empty.");
        var dist2 = NearestNeighbours.MeanSquaredDistanceToNearest(positions, 3);
        var logScales = new float[n * 3];
        var dc = new float[n * 3];
        for (int i = 0; i < n; i++)
        {
            float s = (float)Math.Log(Math.Sqrt(Math.Max(dist2[i], 1e-7)));
            logScales[i * 3] = logScales[i * 3 + 1] = logScales[i * 3 + 2] = s;
            for (int c = 0; c < 3; c++) dc[i * 3 + c] = (float)((colors[i * 3 + c] / 255.0 - 0.5) / ShBasis.C0);
        }
        var rot = new float[n * 4];
        for (int i = 0; i < n; i++) rot[i * 4] = 1f;
        var opacity = Enumerable.Repeat((float)InverseSigmoid(0.1), n).ToArray();
        return Create(positions, logScales, rot, opacity, dc, new float[n * (ShBasis.Count(shDegree) - 1) * 3],
            RandomEmbeddings(n, embeddingDim, rng, embeddingStd), shDegree, embeddingDim, lr, spatialScale, freezeGeometry);
    }

    /// <summary>Builds a model from raw arrays (graphdeco PLY order; shRest as [n][coef][channel]).</summary>
    public static GaussianModel Create(float[] means, float[] logScales, float[] rotations, float[] opacityLogits,
        float[] shDc, float[] shRest, float[] embeddings, int shDegree, int embeddingDim,
        GaussianLearningRates lr, double spatialScale, bool freezeGeometry)
    {
        int n = means.Length / 3, k = ShBasis.Count(shDegree);
        var adam = new GaussianAdam();
        using (NewDisposeScope())
        {
            adam.Add(Means, tensor(means, new long[] { n, 3 }), lr.PositionInit * spatialScale, freezeGeometry);
            adam.Add(LogScales, tensor(logScales, new long[] { n, 3 }), lr.Scaling, freezeGeometry);
            adam.Add(Rotations, tensor(rotations, new long[] { n, 4 }), lr.Rotation, freezeGeometry);
            adam.Add(Opacity, tensor(opacityLogits, new long[] { n, 1 }), lr.Opacity, freezeGeometry);
            adam.Add(ShDc, tensor(shDc, new long[] { n, 1, 3 }), lr.ShDc, freezeGeometry);
            adam.Add(ShRest, tensor(shRest, new long[] { n, k - 1, 3 }), lr.ShRest, freezeGeometry);
            adam.Add(Embeddings, tensor(embeddings, new long[] { n, embeddingDim }), lr.Embedding);
        }
        return new GaussianModel(adam, shDegree, embeddingDim);
    }

    public static float[] RandomEmbeddings(int n, int d, DeterministicRandom rng, double std = 1.0)
    {
        var e = new float[n * d];
        for (int i = 0; i < e.Length; i++) e[i] = (float)(rng.NextGaussian() * std);
        return e;
    }

    public static double InverseSigmoid(double p) => Math.Log(p / (1 - p));

    /// <summary>Copies a parameter to a flat CPU float array.</summary>
    public float[] Read(string name)
    {
        using var c = this[name].detach().cpu().contiguous();
        // An empty tensor (the SH rest of a degree-0 model) has no data pointer to read: TorchSharp throws.
        return c.numel() == 0 ? [] : c.data<float>().ToArray();
    }

    public void Write(BinaryWriter w)
    {
        w.Write(ShDegree);
        w.Write(EmbeddingDim);
        Optimizer.Write(w);
    }

    public static GaussianModel Read(BinaryReader r)
    {
        int sh = r.ReadInt32(), d = r.ReadInt32();
        return new GaussianModel(GaussianAdam.Read(r), sh, d);
    }

    public void Dispose() => Optimizer.Dispose();
}
