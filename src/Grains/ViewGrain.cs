namespace UniCLift.Grains;

using UniCLift.Compute.Losses;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Grains.Views;

[GenerateSerializer, Alias("UniCLift.ViewGrainState")]
public sealed class ViewGrainState
{
    [Id(0)] public ViewSource? Source { get; set; }
}

/// <summary>
/// One view (key "&lt;sceneId&gt;/&lt;viewName&gt;"). Training: mines the boundary structure of its input mask for the
/// scene's trainer. Decoding: renders its embedding image from the trained model (shared per silo through
/// <see cref="TrainedModelCache"/>), reports code statistics, then writes its label map and overlay through the
/// scene codebook. Pixel work runs on the thread pool through <see cref="ViewWork"/>, never on the grain scheduler;
/// calls may queue behind other views' work, hence their long response timeouts. The codes stay in memory
/// between the two decoding calls and are rendered again if the activation was lost in between.
/// </summary>
public sealed class ViewGrain(
    [PersistentState("view", "uniclift")] IPersistentState<ViewGrainState> state,
    TrainedModelCache models,
    ViewWork work) : Grain, IViewGrain
{
    private ViewBoundary? boundary;
    private (string ModelPath, int[] Codes)? decoded;

    private string ViewName
    {
        get
        {
            var key = this.GetPrimaryKeyString();
            var slash = key.IndexOf('/');
            if (slash <= 0 || slash == key.Length - 1)
                throw new ArgumentException($"view grain key '{key}' must be '<sceneId>/<viewName>'.");
            return key[(slash + 1)..];
        }
    }

    public async Task<ViewBoundary> Load(ViewSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        _ = ViewName;
        if (boundary is not null && state.State.Source == source) return boundary; // a resumed training asks again
        boundary = await work.RunAsync(() => Mine(source));
        if (state.State.Source != source)
        {
            state.State.Source = source;
            await state.WriteStateAsync();
        }
        return boundary;
    }

    public async Task<ViewBoundary> GetBoundaryIndex()
    {
        if (boundary is null)
        {
            var source = state.State.Source
                ?? throw new InvalidOperationException($"view '{this.GetPrimaryKeyString()}' was never loaded; call Load first.");
            boundary = await work.RunAsync(() => Mine(source));
        }
        return boundary;
    }

    public async Task<ViewCodeStatistics> DecodeCodes(ViewDecodeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (codes, mask) = await work.RunAsync(() => (Render(request), LoadMask(request.Source)));
        decoded = (request.ModelPath, codes);
        return CodeStatistics.OfView(codes, mask?.Labels).ToMessage();
    }

    public async Task<ViewLabelsWritten> WriteLabels(ViewWriteRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var source = request.Decode.Source;
        var codes = decoded is { } d && d.ModelPath == request.Decode.ModelPath ? d.Codes : null;
        var map = await work.RunAsync(() =>
        {
            codes ??= Render(request.Decode);
            return SceneSegmentation.WriteView(request.Codebook.ToCodebook(), codes, source.Width, source.Height, request.LabelPath,
                FragmentOptions.Default, request.OverlayPath, () => ReadImage(source));
        });
        decoded = null; // written: the pixels are not needed any more
        return new ViewLabelsWritten(request.LabelPath, map.Labels.Where(l => l > 0).Distinct().Count(), request.OverlayPath);
    }

    private int[] Render(ViewDecodeRequest request)
    {
        var model = models.Get(request.ModelPath);
        return model.RenderCodes(new GaussianRasterizer(), request.Source.ToCamera());
    }

    private static ViewBoundary Mine(ViewSource source)
    {
        var mask = LoadMask(source)
            ?? throw new InvalidDataException($"view '{source.ImagePath}' has no input mask; UniC-Lift trains from one mask per training view.");
        return BoundaryMiner.Build(mask).ToMessage();
    }

    private static LabelMap? LoadMask(ViewSource source) => source.MaskPath is null ? null : SceneData.LoadMask(View(source));

    private static RgbImage ReadImage(ViewSource source) => SceneData.LoadImage(View(source));

    /// <summary>The view as the compute library sees it, so its loaders check sizes against the camera.</summary>
    private static SceneView View(ViewSource source) =>
        new(Path.GetFileNameWithoutExtension(source.ImagePath), source.ToCamera(), source.ImagePath, MaskPath: source.MaskPath,
            Distortion: source.ToDistortion());
}
