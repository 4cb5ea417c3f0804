namespace UniCLift.Grains;

using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Grains.Security;
using UniCLift.Grains.Views;

/// <summary>
/// One view (key "&lt;sceneId&gt;/&lt;viewName&gt;") in a decoding pass: renders its embedding image from the trained
/// model (shared per silo through <see cref="TrainedModelCache"/>), reports code statistics, then writes its label map
/// and overlay through the scene codebook (rendering on the silo's GPU when it trains on one: <see cref="ViewRenderDevice"/>). No persisted state (the "view" state older builds wrote is not read). Pixel work runs on the thread pool through <see cref="ViewWork"/>, never on the grain scheduler;
/// calls may queue behind other views' work, hence their long response timeouts. The codes stay in memory
/// between the two decoding calls and are rendered again if the activation was lost in between.
/// </summary>
public sealed class ViewGrain(TrainedModelCache models, ViewWork work, DataRoots roots, ViewRenderDevice renderDevice) : Grain, IViewGrain
{
    private (string ModelPath, int[] Codes)? decoded;

    public async Task<ViewCodeStatistics> DecodeCodes(ViewDecodeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckReads(request);
        using var confined = roots.Confine(); // the work below opens files on the thread pool: checked as opened
        var (view, mask) = await work.RunAsync(() => (Render(request, points: true), LoadMask(request.Source)));
        decoded = (request.ModelPath, view.Codes);
        return CodeStatistics.OfView(view.Codes, mask?.Labels, request.Source.Width, view.Points, view.Depth).ToMessage();
    }

    public async Task<ViewLabelsWritten> WriteLabels(ViewWriteRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckReads(request.Decode);
        roots.CheckOutput(request.LabelPath, "label map");
        if (request.OverlayPath is { } overlay) roots.CheckOutput(overlay, "overlay");
        using var confined = roots.Confine();
        var source = request.Decode.Source;
        var codes = decoded is { } d && d.ModelPath == request.Decode.ModelPath ? d.Codes : null;
        var map = await work.RunAsync(() =>
        {
            codes ??= Render(request.Decode, points: false).Codes;
            return SceneSegmentation.WriteView(request.Codebook.ToCodebook(), codes, source.Width, source.Height, request.LabelPath,
                Options(request.Decode).Cleanup, request.OverlayPath, () => ReadImage(source));
        });
        decoded = null; // written: the pixels are not needed any more
        return new ViewLabelsWritten(request.LabelPath, map.Labels.Where(l => l > 0).Distinct().Count(), request.OverlayPath);
    }

    /// <summary>A request names files by path: the view's own under the scene roots, the model under the output roots.</summary>
    private void CheckReads(ViewDecodeRequest request)
    {
        roots.CheckScene(request.Source.ImagePath, "image");
        if (request.Source.MaskPath is { } mask) roots.CheckScene(mask, "mask");
        if (request.Source.MaskSemanticPath is { } semantic) roots.CheckScene(semantic, "semantic mask");
        roots.CheckOutput(request.ModelPath, "trained model");
    }

    private DecodedView Render(ViewDecodeRequest request, bool points)
    {
        float near = request.NearPlane > 0 ? request.NearPlane : (float)SceneScale.ReferenceNearPlane;
        var blend = request.BlendProbabilities ? PixelBlend.Probabilities : PixelBlend.Raw;
        return renderDevice.Run(device =>
        {
            // The silo's views of this model render from one copy of its tensors on the device.
            using var lease = models.Lease(request.ModelPath, device);
            var options = Options(request);
            var parts = request.SpatialSplit ? models.Parts(request.ModelPath, options.SpatialSplit ?? SpatialSplitOptions.Default, options.GaussianCodes) : null;
            using var rasterizer = new GaussianRasterizer();
            return lease.Model.RenderView(rasterizer, lease.Tensors, request.Source.ToCamera(), near, blend, parts, points);
        });
    }

    /// <summary>The batch's decode options as the coordinator applies them (the same settings on the defaults; the stuff
    /// rule, which the coordinator takes from training, reaches the view in its source).</summary>
    private static DecodeOptions Options(ViewDecodeRequest request) => DecodeOptionOverrides.Apply(new DecodeOptions(), request.Settings);

    /// <summary>The view's input mask as the codebook counts it: stuff segments made background when the source names
    /// the scene's stuff classes and the view's predicted semantics (StuffBackground, as in training).</summary>
    private static LabelMap? LoadMask(ViewSource source) =>
        source.MaskPath is null ? null : StuffBackground.LoadMask(View(source), (source.StuffClasses ?? []).ToHashSet());

    private static RgbImage ReadImage(ViewSource source) => SceneData.LoadImage(View(source));

    /// <summary>The view as the compute library sees it, so its loaders check sizes against the camera.</summary>
    private static SceneView View(ViewSource source) =>
        new(Path.GetFileNameWithoutExtension(source.ImagePath), source.ToCamera(), source.ImagePath, MaskPath: source.MaskPath,
            MaskSemanticPath: source.MaskSemanticPath, Distortion: source.ToDistortion(), Downscale: source.DownscaleFactor());
}
