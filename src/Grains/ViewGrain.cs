namespace UniCLift.Grains;

using UniCLift.Compute.IO;
using UniCLift.Grains.Views;

[GenerateSerializer, Alias("UniCLift.ViewGrainState")]
public sealed class ViewGrainState
{
    [Id(0)] public ViewSource? Source { get; set; }
}

/// <summary>
/// One view (key "&lt;sceneId&gt;/&lt;viewName&gt;"): remembers where its files are (persisted), loads its mask on demand
/// and serves the boundary index; serves the view's final label map from a finished scene's outputs.
/// </summary>
public sealed class ViewGrain([PersistentState("view", "uniclift")] IPersistentState<ViewGrainState> state) : Grain, IViewGrain
{
    private BoundaryIndex? index;

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

    public async Task Load(ViewSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        _ = ViewName;
        index = Compute(source);
        state.State.Source = source;
        await state.WriteStateAsync();
    }

    public Task<BoundaryIndex> GetBoundaryIndex()
    {
        if (index is null)
        {
            var source = state.State.Source
                ?? throw new InvalidOperationException($"view '{this.GetPrimaryKeyString()}' was never loaded; call Load first.");
            index = Compute(source);
        }
        return Task.FromResult(index);
    }

    public Task<ViewLabels> RenderLabels(string sceneOutputDirectory)
    {
        // Served from the decoded outputs SceneSegmentation.Finish wrote; rendering from the model file here is open.
        var path = Path.Combine(sceneOutputDirectory, "instance", ViewName + ".png");
        if (!File.Exists(path))
            throw new FileNotFoundException($"view '{ViewName}' has no label map at '{path}'; is the scene done?", path);
        var labels = ImageIO.ReadLabels(path);
        return Task.FromResult(new ViewLabels(labels.Width, labels.Height, labels.Labels, path));
    }

    private static BoundaryIndex Compute(ViewSource source)
    {
        if (!File.Exists(source.MaskPath))
            throw new FileNotFoundException($"mask '{source.MaskPath}' does not exist.", source.MaskPath);
        var mask = ImageIO.ReadLabels(source.MaskPath);
        if (mask.Width != source.Width || mask.Height != source.Height)
            throw new InvalidDataException($"mask '{source.MaskPath}' is {mask.Width}x{mask.Height}, but its camera is {source.Width}x{source.Height}.");
        return BoundaryIndexBuilder.Build(mask);
    }
}
