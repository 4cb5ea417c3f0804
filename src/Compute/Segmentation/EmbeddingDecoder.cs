namespace UniCLift.Compute.Segmentation;

using TorchSharp;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>
/// UniC-Lift's Embedding-to-Label step: b_k = 1[sigmoid(v_k) &gt; 0.5] = 1[v_k &gt; 0], code = sum_k b_k 2^k
/// (k from 0; METHOD.md's 2^(k-1) with k from 1). O(n), no clustering. Works on any tensor whose last
/// dimension is D: per Gaussian on [N,D], per pixel on a rendered feature image [H,W,D] (pre-sigmoid V).
/// </summary>
public static class EmbeddingDecoder
{
    public const int MaxDimensions = 30;

    /// <summary>Codes as an int64 tensor with the input's leading shape ([...,D] -> [...]), on the input's device.</summary>
    public static Tensor CodesTensor(Tensor embeddings)
    {
        long d = CheckDimensions(embeddings);
        using var scope = NewDisposeScope();
        var weights = torch.tensor(Enumerable.Range(0, (int)d).Select(k => 1L << k).ToArray(), device: embeddings.device); // [D]
        var bits = embeddings.gt(Scalars.Of(0.0)).to(int64); // [...,D]
        return (bits * weights).sum(-1, type: int64).MoveToOuterDisposeScope();
    }

    /// <summary>Per-Gaussian codes of raw embeddings [N,D].</summary>
    public static int[] DecodeGaussians(Tensor embeddings)
    {
        if (embeddings.dim() != 2)
            throw new ArgumentException($"DecodeGaussians expects embeddings [N,D]; got [{string.Join(",", embeddings.shape)}].", nameof(embeddings));
        return ToArray(embeddings);
    }

    /// <summary>Per-pixel codes of a rendered feature image [H,W,D], row-major [H*W].</summary>
    public static int[] DecodePixels(Tensor features)
    {
        if (features.dim() != 3)
            throw new ArgumentException($"DecodePixels expects features [H,W,D]; got [{string.Join(",", features.shape)}].", nameof(features));
        return ToArray(features);
    }

    /// <summary>Embedding-to-Label per pixel: renders the embedding image of <paramref name="g"/> (features [N,D]) for
    /// a camera and thresholds it ([H*W] row-major; see <see cref="RenderEmbedding"/>). With <paramref name="parts"/>,
    /// pixels of a split code take their part's code, placed by the same render's depth.</summary>
    public static int[] RenderCodes(GaussianRasterizer rasterizer, GaussianTensors g, int shDegree, Camera camera, float nearPlane,
        PixelBlend blend, SpatialParts? parts = null) => RenderView(rasterizer, g, shDegree, camera, nearPlane, blend, parts, points: false).Codes;

    /// <summary>
    /// <see cref="RenderCodes"/> and, with <paramref name="points"/>, the world point each pixel shows (x, y, z per
    /// pixel, row-major): the pixel unprojected at the render's expected depth, NaN where the render is mostly
    /// transparent (accumulated opacity under <see cref="SurfaceAlpha"/>), and that depth (NaN alike). What
    /// <see cref="CodeStatistics.Surface"/> and <see cref="CodeStatistics.Occlusion"/> sum.
    /// </summary>
    public static DecodedView RenderView(GaussianRasterizer rasterizer, GaussianTensors g, int shDegree, Camera camera, float nearPlane,
        PixelBlend blend, SpatialParts? parts = null, bool points = true)
    {
        using var scope = NewDisposeScope();
        var r = Render(rasterizer, g, shDegree, camera, nearPlane, blend);
        var codes = DecodePixels(r.Features!);
        bool split = parts is { IsEmpty: false };
        if (!split && !points) return new DecodedView(codes, null, null);
        var depth = r.Depth.cpu().contiguous().reshape(-1).data<float>().ToArray();
        var alpha = r.Alpha.cpu().contiguous().reshape(-1).data<float>().ToArray();
        var surfaceDepth = points ? SurfaceDepth(depth, alpha) : null;
        var world = surfaceDepth is null ? null : SurfacePoints(surfaceDepth, camera);
        if (split) parts!.ExtendPixels(codes, depth, alpha, camera);
        return new DecodedView(codes, world, surfaceDepth);
    }

    /// <summary>A pixel shows a surface where the render's accumulated opacity is at least this.</summary>
    public const float SurfaceAlpha = 0.5f;

    /// <summary>Per pixel the expected depth <paramref name="depth"/> / <paramref name="alpha"/>, NaN where alpha is under
    /// <see cref="SurfaceAlpha"/>.</summary>
    public static float[] SurfaceDepth(float[] depth, float[] alpha)
    {
        if (depth.Length != alpha.Length) throw new ArgumentException($"{depth.Length} depths but {alpha.Length} alphas.");
        var result = new float[depth.Length];
        for (int i = 0; i < depth.Length; i++) result[i] = alpha[i] >= SurfaceAlpha ? depth[i] / alpha[i] : float.NaN;
        return result;
    }

    /// <summary>Per pixel (row-major) the world point at <paramref name="surfaceDepth"/> (<see cref="SurfaceDepth"/>'s),
    /// NaN where the pixel shows no surface.</summary>
    public static float[] SurfacePoints(float[] surfaceDepth, Camera camera)
    {
        int n = camera.Width * camera.Height;
        if (surfaceDepth.Length != n)
            throw new ArgumentException($"{surfaceDepth.Length} depths for a {camera.Width}x{camera.Height} view.");
        var result = new float[3 * n];
        for (int i = 0; i < n; i++)
        {
            if (float.IsNaN(surfaceDepth[i]))
            {
                result[3 * i] = result[3 * i + 1] = result[3 * i + 2] = float.NaN;
                continue;
            }
            var (x, y, z) = camera.Unproject(i % camera.Width, i / camera.Width, surfaceDepth[i]);
            (result[3 * i], result[3 * i + 1], result[3 * i + 2]) = ((float)x, (float)y, (float)z);
        }
        return result;
    }

    /// <summary>The embedding image [H,W,D] that <see cref="RenderCodes"/> thresholds. With <paramref name="blend"/> =
    /// <see cref="PixelBlend.Probabilities"/> the Gaussians' sigmoid(v) - 1/2 are blended instead of v
    /// (<see cref="BlendFeatures"/>). <paramref name="nearPlane"/>: the scene's, as training used (<see cref="SceneScale.NearPlane"/>).</summary>
    public static Tensor RenderEmbedding(GaussianRasterizer rasterizer, GaussianTensors g, int shDegree, Camera camera, float nearPlane,
        PixelBlend blend) => Render(rasterizer, g, shDegree, camera, nearPlane, blend).Features!;

    private static RenderResult Render(GaussianRasterizer rasterizer, GaussianTensors g, int shDegree, Camera camera, float nearPlane,
        PixelBlend blend)
    {
        if (blend == PixelBlend.Probabilities && g.Features is { } f) g = g with { Features = BlendFeatures(f) };
        return rasterizer.Render(g, camera, new RasterSettings(shDegree, NearPlane: nearPlane));
    }

    /// <summary>
    /// sigmoid(v) - 1/2 per Gaussian and channel: rendered, sum_i w_i (sigmoid(v_i) - 1/2) &gt; 0 exactly when the
    /// blend weights' average of the Gaussians' probabilities sigmoid(v_i) exceeds 1/2 — each Gaussian votes with its
    /// blend weight and its own (bounded) confidence. Thresholding the blend of raw v lets a few Gaussians with a large
    /// |v| outvote those that dominate the pixel; measured on object edges (issue #17, DECISIONS.md).
    /// Every Gaussian's own code is unchanged (the sign of v is kept).
    /// </summary>
    public static Tensor BlendFeatures(Tensor embeddings) => embeddings.sigmoid().sub(Scalars.Of(0.5));

    /// <summary>
    /// Decodes many embedding tensors (any shape [...,D], e.g. one per scene of a batch) in one pass: they are
    /// flattened to [n_i,D], concatenated, thresholded by one kernel call and split again; result i holds the codes
    /// of tensor i flattened row-major. Tensors of different D are decoded in one pass per D.
    /// </summary>
    public static int[][] DecodeBatch(IReadOnlyList<Tensor> embeddings)
    {
        var result = new int[embeddings.Count][];
        for (int i = 0; i < embeddings.Count; i++)
        {
            try { CheckDimensions(embeddings[i]); }
            catch (ArgumentException e) { throw new ArgumentException($"DecodeBatch: entry {i}: {e.Message}", nameof(embeddings), e); }
        }
        foreach (var group in Enumerable.Range(0, embeddings.Count).GroupBy(i => embeddings[i].shape[^1]))
        {
            var members = group.ToArray();
            using var scope = NewDisposeScope();
            var flat = members.Select(i => embeddings[i].reshape(-1, group.Key)).ToArray(); // [n_i,D]
            var codes = CodesTensor(cat(flat, 0)).to(int32).cpu().contiguous(); // [sum n_i]
            var all = codes.data<int>().ToArray();
            int offset = 0;
            foreach (var (i, f) in members.Zip(flat))
            {
                int n = (int)f.shape[0];
                result[i] = all[offset..(offset + n)];
                offset += n;
            }
        }
        return result;
    }

    private static int[] ToArray(Tensor embeddings)
    {
        using var scope = NewDisposeScope();
        var codes = CodesTensor(embeddings).to(int32).cpu().contiguous().reshape(-1);
        return codes.data<int>().ToArray();
    }

    private static long CheckDimensions(Tensor embeddings)
    {
        if (embeddings.dim() < 1)
            throw new ArgumentException("EmbeddingDecoder: embeddings must have a last (feature) dimension.", nameof(embeddings));
        long d = embeddings.shape[^1];
        if (d < 1 || d > MaxDimensions)
            throw new ArgumentException($"EmbeddingDecoder: embedding dimension {d} is outside 1..{MaxDimensions} (codes are 32-bit ints).", nameof(embeddings));
        return d;
    }
}

/// <summary>One decoded view: its pixel codes (row-major) and, when asked for, the world point each pixel shows
/// (x, y, z per pixel) and its depth along the optical axis (NaN where no surface).</summary>
public sealed record DecodedView(int[] Codes, float[]? Points, float[]? Depth);
