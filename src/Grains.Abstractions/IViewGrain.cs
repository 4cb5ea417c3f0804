namespace UniCLift.Grains;

/// <summary>Where a view's files are; the view grain key is "&lt;sceneId&gt;/&lt;viewName&gt;".</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.ViewSource")]
public sealed record ViewSource(
    [property: Id(0)] string ImagePath,
    [property: Id(1)] string MaskPath,
    [property: Id(2)] int Width,
    [property: Id(3)] int Height,
    [property: Id(4)] double Fx,
    [property: Id(5)] double Fy,
    [property: Id(6)] double Cx,
    [property: Id(7)] double Cy,
    [property: Id(8)] double[] CameraToWorld);

/// <summary>
/// Boundary structure of one view's predicted mask, as plain arrays so a trainer samples triplets locally.
/// Pixels are row-major indices y * Width + x. Boundary pixel i has mask id <c>Labels[Pixels[i]]</c>; its
/// neighbours with a different id are <c>Across[AcrossStart[i] .. AcrossStart[i + 1])</c> (pixel indices).
/// </summary>
[GenerateSerializer, Immutable, Alias("UniCLift.BoundaryIndex")]
public sealed record BoundaryIndex(
    [property: Id(0)] int Width,
    [property: Id(1)] int Height,
    [property: Id(2)] int[] Labels,
    [property: Id(3)] int[] Pixels,
    [property: Id(4)] int[] AcrossStart,
    [property: Id(5)] int[] Across);

/// <summary>The final instance label map of a view (row-major, 0 = background).</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.ViewLabels")]
public sealed record ViewLabels(
    [property: Id(0)] int Width,
    [property: Id(1)] int Height,
    [property: Id(2)] int[] Labels,
    [property: Id(3)] string SourcePath);

/// <summary>One view of a scene: loads its mask, computes and serves the boundary index, and serves its final labels.</summary>
[Alias("UniCLift.IViewGrain")]
public interface IViewGrain : IGrainWithStringKey
{
    /// <summary>Loads the view (mask size must match the camera) and computes its boundary index.</summary>
    [Alias("Load")]
    Task Load(ViewSource source);

    [Alias("GetBoundaryIndex")]
    Task<BoundaryIndex> GetBoundaryIndex();

    /// <summary>The view's final label map from a finished scene's output directory (instance/&lt;view&gt;.png).</summary>
    [Alias("RenderLabels")]
    Task<ViewLabels> RenderLabels(string sceneOutputDirectory);
}
