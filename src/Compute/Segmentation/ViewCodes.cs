namespace UniCLift.Compute.Segmentation;

using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Training;
using static TorchSharp.torch;

/// <summary>
/// Each Gaussian's code as the views render it: per bit, the majority of the bits of the pixels the Gaussian blends
/// into, each pixel weighted by the Gaussian's blend weight there (w_i(u) = alpha_i T_i, the weight it renders with),
/// over every view given. A Gaussian no view renders keeps the code of its own embedding.
/// </summary>
/// <remarks>
/// Why: the losses see pixels, that is blends of the Gaussians' embeddings, and Adam moves every Gaussian under a
/// pixel by about the same step whatever its weight there. Where many Gaussians overlap (a model from another 3DGS
/// trainer, a million of them), the pixels' codes come out right while the Gaussians' own embeddings keep most of
/// their random start: on a room of 83k Gaussians copied 12 times in place (the same images), 35% of the object
/// Gaussians carried a code against their object, against 5% without the copies (DECISIONS.md, "Gaussians' codes
/// from the views"). The pixels' vote gives each Gaussian the code it shows. Computed as one feature gradient per
/// view: d/dv_i of sum_u (V(u) . (b(u) - 1/2)) = sum_u w_i(u) (b(u) - 1/2), with b(u) the pixel's bits.
/// </remarks>
public static class ViewCodes
{
    /// <summary>The PLY property of model.ply that holds the codes, written beside emb_0.. when the embedding has at
    /// most <see cref="MaxDimensions"/> channels (a float32 holds every such code exactly).</summary>
    public const string PlyProperty = "view_code";

    /// <summary>Codes of up to 24 bits fit a float32 exactly.</summary>
    public const int MaxDimensions = 24;

    /// <summary>Whether the column holds the codes of an embedding of <paramref name="dimensions"/> channels.</summary>
    public static bool Holds(int dimensions) => dimensions <= MaxDimensions;

    /// <summary>The trainer's Gaussians' codes voted by its training views, on its device (call on its thread).</summary>
    public static int[] Of(SceneTrainer trainer, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        using var scope = NewDisposeScope();
        using var rasterizer = new GaussianRasterizer();
        return Vote(rasterizer, trainer.Model.ToGaussianTensors(), trainer.Model.ShDegree, trainer.Data.Views.Select(v => v.Camera), trainer.NearPlane, cancellation);
    }

    /// <summary>
    /// The codes of the Gaussians <paramref name="g"/> (features: their raw embeddings [N,D]) voted by their pixels in
    /// <paramref name="cameras"/> (blend of the raw embeddings, as <see cref="PixelBlend.Raw"/> decodes). On the
    /// tensors' device; one host read at the end. <paramref name="cancellation"/> is checked before each view.
    /// </summary>
    public static int[] Vote(GaussianRasterizer rasterizer, GaussianTensors g, int shDegree, IEnumerable<Camera> cameras, float nearPlane,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(rasterizer);
        ArgumentNullException.ThrowIfNull(cameras);
        if (g.Features is null) throw new ArgumentException("ViewCodes.Vote needs the Gaussians' embeddings as features.", nameof(g));
        using var scope = NewDisposeScope();
        var own = g.Features.detach();
        var votes = zeros_like(own); // [N,D]
        var fixedGeometry = g.Map(t => t.detach()) with { Features = null };
        foreach (var camera in cameras)
        {
            cancellation.ThrowIfCancellationRequested();
            using var viewScope = NewDisposeScope();
            using var grad = enable_grad();
            var leaf = own.clone().requires_grad_(true);
            var r = rasterizer.Render(fixedGeometry with { Features = leaf }, camera, new RasterSettings(shDegree, NearPlane: nearPlane));
            var bits = r.Features!.detach().gt(Scalars.Of(0.0)).to(own.dtype).sub(Scalars.Of(0.5)); // [H,W,D]
            r.Features!.mul(bits).sum().backward();
            votes.add_(leaf.grad!, Scalars.One);
        }
        // A row the views never reached is all zero: the Gaussian keeps its own code.
        var seen = votes.ne(Scalars.Of(0.0)).any(1, keepdim: true); // [N,1]
        var chosen = where(seen, votes, own);
        return EmbeddingDecoder.DecodeGaussians(chosen);
    }
}

/// <summary>Which code labels a Gaussian (its instance in labels.ply, the exported objects, the spatial split).</summary>
public enum GaussianCodes
{
    /// <summary>The code its pixels vote for in the training views (<see cref="ViewCodes"/>), where model.ply has them
    /// (default); its own embedding's code where it has not.</summary>
    Views,
    /// <summary>Its own embedding's code (METHOD.md's Embedding-to-Label per Gaussian, sigmoid(v_i) &gt; 0.5).</summary>
    Own,
}
