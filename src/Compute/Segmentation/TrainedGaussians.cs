namespace UniCLift.Compute.Segmentation;

using UniCLift.Compute.IO;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Training;
using static TorchSharp.torch;

/// <summary>
/// A trained scene's Gaussians and their embeddings as plain arrays: everything Embedding-to-Label needs, with no
/// optimiser state. On disk it is <c>model.ply</c>, a graphdeco 3DGS PLY with the embeddings as extra properties
/// emb_0..emb_{D-1} (so a viewer opens it, lift mode can start from it, and any silo can decode from it).
/// </summary>
public sealed class TrainedGaussians
{
    public const string FileName = "model.ply";
    public const string EmbeddingPrefix = "emb_";

    public TrainedGaussians(GaussianCloud cloud, float[] embeddings, int dimensions, int[]? viewCodes = null)
    {
        cloud.Validate();
        if (dimensions < 1 || embeddings.Length != (long)cloud.Count * dimensions)
            throw new ArgumentException($"{embeddings.Length} embedding values for {cloud.Count} Gaussians of dimension {dimensions}.");
        if (viewCodes is not null)
        {
            if (viewCodes.Length != cloud.Count) throw new ArgumentException($"{viewCodes.Length} view codes for {cloud.Count} Gaussians.");
            if (!Segmentation.ViewCodes.Holds(dimensions))
                throw new ArgumentException($"view codes are kept for embeddings of at most {Segmentation.ViewCodes.MaxDimensions} channels, not {dimensions}.");
        }
        Cloud = cloud;
        Embeddings = embeddings;
        Dimensions = dimensions;
        ViewCodes = viewCodes;
    }

    /// <summary>Geometry and colour (its Extra holds no embeddings; see <see cref="ToCloud"/>).</summary>
    public GaussianCloud Cloud { get; }
    /// <summary>[N*D] row-major raw (pre-sigmoid) embeddings.</summary>
    public float[] Embeddings { get; }
    public int Dimensions { get; }
    public int Count => Cloud.Count;
    /// <summary>[N] each Gaussian's code as the training views render it (<see cref="Segmentation.ViewCodes"/>), or null
    /// (a model written before them, or from elsewhere): what decoding labels the Gaussians with by default.</summary>
    public int[]? ViewCodes { get; }

    /// <summary>The trainer's model; <paramref name="viewCodes"/>: its Gaussians' codes as the views render them, kept
    /// in the PLY (null where the embedding has more than <see cref="Segmentation.ViewCodes.MaxDimensions"/> channels).</summary>
    public static TrainedGaussians FromModel(GaussianModel model, int[]? viewCodes = null) =>
        new(SceneSegmentation.ToCloud(model), model.Read(GaussianModel.Embeddings), model.EmbeddingDim, viewCodes);

    /// <summary>The trainer's model with its Gaussians' codes voted by its training views (<see cref="Segmentation.ViewCodes.Of"/>;
    /// none for embeddings wider than <see cref="Segmentation.ViewCodes.MaxDimensions"/>). On the trainer's thread;
    /// <paramref name="cancellation"/> is checked between views.</summary>
    public static TrainedGaussians FromTrainer(SceneTrainer trainer, CancellationToken cancellation = default) => FromModel(trainer.Model,
        Segmentation.ViewCodes.Holds(trainer.Model.EmbeddingDim) ? Segmentation.ViewCodes.Of(trainer, cancellation) : null);

    /// <summary>Reads a PLY written by <see cref="Write"/> (or any 3DGS PLY with emb_0.. properties).</summary>
    public static TrainedGaussians Read(string path)
    {
        var cloud = GaussianPly.Read(path);
        var emb = ReadEmbeddings(cloud, out int d);
        if (d == 0)
            throw new InvalidDataException($"{path} has no embeddings (properties {EmbeddingPrefix}0..): it is not a UniCLift model; decoding needs a trained scene's {FileName}.");
        var viewCodes = ReadViewCodes(path, cloud, d);
        var extra = cloud.Extra.Where(kv => !kv.Key.StartsWith(EmbeddingPrefix, StringComparison.Ordinal) && kv.Key != Segmentation.ViewCodes.PlyProperty).ToDictionary();
        return new TrainedGaussians(CopyWithExtra(cloud, extra), emb, d, viewCodes);
    }

    private static int[]? ReadViewCodes(string path, GaussianCloud cloud, int dimensions)
    {
        // Codes wider than a float32 holds exactly are not kept (nor written): such a model decodes by its own codes,
        // and the decoders say what they make of its width.
        if (!cloud.Extra.TryGetValue(Segmentation.ViewCodes.PlyProperty, out var column) || !Segmentation.ViewCodes.Holds(dimensions)) return null;
        var codes = new int[column.Length];
        for (int i = 0; i < column.Length; i++)
        {
            float c = column[i];
            if (!(c >= 0 && c < (1 << dimensions) && c == MathF.Floor(c)))
                throw new InvalidDataException($"{path}: vertex {i} has {Segmentation.ViewCodes.PlyProperty} {c}, not a code of {dimensions} bits (a whole number 0..{(1 << dimensions) - 1}).");
            codes[i] = (int)c;
        }
        return codes;
    }

    /// <summary>The embeddings in a PLY's columns emb_0, emb_1, ... (up to the first missing one) as [N*D] row-major;
    /// D = 0 (and an empty array) when there are none, for the caller to say what it expected.</summary>
    public static float[] ReadEmbeddings(GaussianCloud cloud, out int dimensions)
    {
        int d = 0;
        while (cloud.Extra.ContainsKey(EmbeddingPrefix + d)) d++;
        var emb = new float[cloud.Count * d];
        for (int k = 0; k < d; k++)
        {
            var column = cloud.Extra[EmbeddingPrefix + k];
            for (int i = 0; i < cloud.Count; i++) emb[i * d + k] = column[i];
        }
        dimensions = d;
        return emb;
    }

    /// <summary>Writes the PLY (atomically) with the embeddings and any <paramref name="extra"/> columns ([N] each).</summary>
    public void Write(string path, Dictionary<string, float[]>? extra = null) => GaussianPly.Write(path, ToCloud(extra));

    public GaussianCloud ToCloud(Dictionary<string, float[]>? extra = null)
    {
        var columns = new Dictionary<string, float[]>(extra ?? []);
        if (ViewCodes is { } codes) columns[Segmentation.ViewCodes.PlyProperty] = Array.ConvertAll(codes, c => (float)c);
        for (int k = 0; k < Dimensions; k++)
        {
            var column = new float[Count];
            for (int i = 0; i < Count; i++) column[i] = Embeddings[i * Dimensions + k];
            columns[EmbeddingPrefix + k] = column;
        }
        return CopyWithExtra(Cloud, columns);
    }

    /// <summary>Embedding-to-Label per Gaussian: the code of each Gaussian's embedding.</summary>
    public int[] DecodeGaussians()
    {
        using var scope = NewDisposeScope();
        return EmbeddingDecoder.DecodeGaussians(EmbeddingTensor());
    }

    /// <summary>The Gaussians' codes as <paramref name="source"/> says: their <see cref="ViewCodes"/> where the model has
    /// them (<see cref="ViewCodesFor"/>), else their embeddings' codes.</summary>
    public int[] GaussianCodes(GaussianCodes source) => ViewCodesFor(source) ?? DecodeGaussians();

    /// <summary>The <see cref="ViewCodes"/> that label the Gaussians under <paramref name="source"/>; null where their own
    /// embeddings' codes do (<see cref="GaussianCodes.Own"/>, or a model without view codes).</summary>
    public int[]? ViewCodesFor(GaussianCodes source) => source == Segmentation.GaussianCodes.Views ? ViewCodes : null;

    /// <summary>The codes of this model that lie apart in space (<see cref="SpatialParts"/>), from its Gaussians'
    /// <paramref name="codes"/> (<see cref="DecodeGaussians"/>); <see cref="SpatialParts.None"/> with no options.</summary>
    public SpatialParts SpatialParts(int[] codes, SpatialSplitOptions? options) =>
        options is null ? Segmentation.SpatialParts.None : Segmentation.SpatialParts.Build(Cloud.Means, Cloud.Opacity, codes, options);

    /// <summary>The Gaussians' instance ids: their (split) <paramref name="codes"/> through <paramref name="codebook"/>, and
    /// stray pieces relabelled (<see cref="StrayGaussians"/>; <paramref name="strays"/> null: as the codebook maps them).</summary>
    public int[] InstanceIds(LabelCodebook codebook, int[] codes, StrayOptions? strays)
    {
        var ids = codebook.MapGaussians(codes);
        return strays is null ? ids : StrayGaussians.Clean(Cloud.Means, Cloud.Opacity, ids, strays);
    }

    /// <summary>The embeddings as a [N,D] tensor (in the caller's dispose scope).</summary>
    public Tensor EmbeddingTensor() => tensor(Embeddings, new long[] { Count, Dimensions });

    /// <summary>Embedding-to-Label per pixel: renders the embedding image for a camera and thresholds it ([H*W] row-major).
    /// <paramref name="device"/>: where to render (default CPU); the model goes up for the call and is released after it.</summary>
    public int[] RenderCodes(GaussianRasterizer rasterizer, Camera camera, float nearPlane, PixelBlend blend, Device? device = null,
        SpatialParts? parts = null)
    {
        TorchRuntime.EnsureInitialised();
        using var scope = NewDisposeScope();
        return RenderCodes(rasterizer, Tensors(device ?? CPU), camera, nearPlane, blend, parts);
    }

    /// <summary>Embedding-to-Label per pixel from this model's tensors <paramref name="g"/> (from <see cref="Tensors"/>,
    /// kept by the caller for many views: a silo's views of one model render from one copy on the device).</summary>
    public int[] RenderCodes(GaussianRasterizer rasterizer, GaussianTensors g, Camera camera, float nearPlane, PixelBlend blend,
        SpatialParts? parts = null) => RenderView(rasterizer, g, camera, nearPlane, blend, parts, points: false).Codes;

    /// <summary><see cref="RenderCodes(GaussianRasterizer, GaussianTensors, Camera, float, PixelBlend, SpatialParts?)"/> and, with
    /// <paramref name="points"/>, the world point each pixel shows (<see cref="EmbeddingDecoder.RenderView"/>).</summary>
    public DecodedView RenderView(GaussianRasterizer rasterizer, GaussianTensors g, Camera camera, float nearPlane, PixelBlend blend,
        SpatialParts? parts = null, bool points = true)
    {
        if (g.Count != Count || g.Features is null || g.Features.shape[1] != Dimensions)
            throw new ArgumentException($"The tensors hold {g.Count} Gaussians with {(g.Features is null ? "no" : g.Features.shape[1].ToString())} embedding channels; this model has {Count} with {Dimensions}.");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return EmbeddingDecoder.RenderView(rasterizer, g, Cloud.ShDegree, camera, nearPlane, blend, parts, points);
    }

    /// <summary>The model as tensors on <paramref name="device"/>, in the caller's dispose scope: means [N,3], log-scales
    /// [N,3], rotations [N,4], opacity logits [N,1], SH [N,K,3], embeddings [N,D].</summary>
    public GaussianTensors Tensors(Device device)
    {
        TorchRuntime.EnsureInitialised();
        using var scope = NewDisposeScope();
        int n = Count, k = Cloud.ShCoefficients;
        var sh = cat(new[] { tensor(Cloud.ShDc, new long[] { n, 1, 3 }), tensor(Cloud.ShRest, new long[] { n, k - 1, 3 }) }, 1); // [N,K,3]
        var g = new GaussianTensors(tensor(Cloud.Means, new long[] { n, 3 }), tensor(Cloud.LogScales, new long[] { n, 3 }),
            tensor(Cloud.Rotations, new long[] { n, 4 }), tensor(Cloud.Opacity, new long[] { n, 1 }), sh, EmbeddingTensor());
        if (device.type != TorchSharp.DeviceType.CPU) g = g.Map(t => t.to(device));
        return g.Map(t => t.MoveToOuterDisposeScope());
    }

    private static GaussianCloud CopyWithExtra(GaussianCloud c, Dictionary<string, float[]> extra) => new()
    {
        Count = c.Count, Means = c.Means, Normals = c.Normals, ShDc = c.ShDc, ShRest = c.ShRest, ShDegree = c.ShDegree,
        Opacity = c.Opacity, LogScales = c.LogScales, Rotations = c.Rotations, Extra = extra,
    };
}
