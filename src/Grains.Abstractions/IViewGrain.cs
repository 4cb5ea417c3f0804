namespace UniCLift.Grains;

/// <summary>Where a view's files are and its camera (OpenCV, camera-to-world row-major 4x4); the view grain key is
/// "&lt;sceneId&gt;/&lt;viewName&gt;". MaskPath is null for a view without an input mask (e.g. a held-out view).
/// DistortionModel / DistortionCoefficients: the lens distortion the view's files are undistorted from at load (null:
/// a pinhole camera); coefficients k1 k2 k3 k4 p1 p2 k5 k6 k7, then 1/0 for rational and fisheye. Downscale: the view's
/// files are this many times its camera's size (Compute's SceneView.Downscale; 0 from an older sender is 1), so the view
/// grain loads them resampled as the trainer did.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.ViewSource")]
public sealed record ViewSource(
    [property: Id(0)] string ImagePath,
    [property: Id(1)] string? MaskPath,
    [property: Id(2)] int Width,
    [property: Id(3)] int Height,
    [property: Id(4)] double Fx,
    [property: Id(5)] double Fy,
    [property: Id(6)] double Cx,
    [property: Id(7)] double Cy,
    [property: Id(8)] double[] CameraToWorld,
    [property: Id(9)] string? DistortionModel = null,
    [property: Id(10)] double[]? DistortionCoefficients = null,
    [property: Id(11)] string? MaskSemanticPath = null,
    [property: Id(12)] int[]? StuffClasses = null,
    [property: Id(13)] int Downscale = 1)
{
    /// <summary>Value equality, the camera matrix included (a record compares arrays by reference).</summary>
    public bool Equals(ViewSource? other) =>
        other is not null && ImagePath == other.ImagePath && MaskPath == other.MaskPath && Width == other.Width && Height == other.Height
        && Fx == other.Fx && Fy == other.Fy && Cx == other.Cx && Cy == other.Cy && CameraToWorld.AsSpan().SequenceEqual(other.CameraToWorld)
        && DistortionModel == other.DistortionModel
        && (DistortionCoefficients ?? []).AsSpan().SequenceEqual(other.DistortionCoefficients ?? [])
        && MaskSemanticPath == other.MaskSemanticPath && (StuffClasses ?? []).AsSpan().SequenceEqual(other.StuffClasses ?? [])
        && Downscale == other.Downscale;

    public override int GetHashCode() => HashCode.Combine(ImagePath, MaskPath, Width, Height, Fx, Fy, Cx, HashCode.Combine(Cy, DistortionModel, Downscale));
}

/// <summary>Decode one view: render its embedding image from the trained model file (a model.ply) and threshold it.
/// <paramref name="BlendProbabilities"/>: threshold the blend of the Gaussians' sigmoid(v) rather than of v
/// (Compute's PixelBlend.Probabilities; a request from an older build has it false, Raw). <paramref name="NearPlane"/>: the
/// scene's near plane, as training used (Compute's SceneScale); 0 in a request from an older build, which rendered at 0.2.
/// <paramref name="SpatialSplit"/>: codes whose Gaussians lie apart in space are split per part (Compute's SpatialParts,
/// with <paramref name="Settings"/>' options; the coordinator splits the Gaussians' codes alike); false in a request from an older build.
/// <paramref name="Settings"/>: the batch's decode settings (JobOptions.Decode, "Name=Value"), whose spatial split and
/// fragment cleanup knobs the view applies; null: the defaults.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.ViewDecodeRequest")]
public sealed record ViewDecodeRequest(
    [property: Id(0)] ViewSource Source,
    [property: Id(1)] string ModelPath,
    [property: Id(2)] bool BlendProbabilities = false,
    [property: Id(3)] float NearPlane = 0f,
    [property: Id(4)] bool SpatialSplit = false,
    [property: Id(5)] string[]? Settings = null);

/// <summary>
/// What the codebook needs from one decoded view: per code (ascending) its pixel area and how many of those pixels
/// the view's input mask calls background; Pixels = width x height. Absorbed*: pixels of code AbsorbedCodes[i]
/// lying in input-mask segments that code AbsorbedInto[i] dominates (AbsorbedPixels[i]), which drives merging a
/// code split off an object back into it. Pair*: the co-segmented pairs; Interior: per code of Codes, its pixels
/// inside its own region (null from a sender that did not count them: no code counts as compact then); Surface: per
/// code of Codes, SurfaceMoments.Length sums locating its pixels in the world (null from a sender that did not place
/// them: no code is then told to be background by its spread); Front / Behind: per code of Codes, how often it is the
/// nearer and the farther side of an edge with a depth jump (null from a sender that did not count them); Border: per
/// code of Codes, 0 (under 0.1% of the view), 1 (shown) or 2 (shown and reaching the image's border), null from a sender
/// that did not look (no instance is then told to be background by the border).
/// </summary>
[GenerateSerializer, Immutable, Alias("UniCLift.ViewCodeStatistics")]
public sealed record ViewCodeStatistics(
    [property: Id(0)] int[] Codes,
    [property: Id(1)] long[] Area,
    [property: Id(2)] long[] BackgroundVotes,
    [property: Id(3)] long Pixels,
    [property: Id(4)] int[] AbsorbedCodes,
    [property: Id(5)] int[] AbsorbedInto,
    [property: Id(6)] long[] AbsorbedPixels,
    [property: Id(7)] int[]? PairA = null,
    [property: Id(8)] int[]? PairB = null,
    [property: Id(9)] long[]? PairShared = null,
    [property: Id(10)] long[]? PairCoVisible = null,
    [property: Id(11)] long[]? Interior = null,
    [property: Id(12)] double[]? Surface = null,
    [property: Id(13)] long[]? Front = null,
    [property: Id(14)] long[]? Behind = null,
    [property: Id(15)] int[]? Border = null);

/// <summary>A scene's codebook: Codes[id - 1] is the code of compact instance id id; BackgroundCode maps to 0;
/// merged codes MergedCodes[i] map to id MergedIds[i].</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.SceneCodebook")]
public sealed record SceneCodebook(
    [property: Id(0)] int[] Codes,
    [property: Id(1)] int? BackgroundCode,
    [property: Id(2)] int[] MergedCodes,
    [property: Id(3)] int[] MergedIds);

/// <summary>Write one view's final label map (16-bit PNG at LabelPath) and, when OverlayPath is set, its overlay.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.ViewWriteRequest")]
public sealed record ViewWriteRequest(
    [property: Id(0)] ViewDecodeRequest Decode,
    [property: Id(1)] SceneCodebook Codebook,
    [property: Id(2)] string LabelPath,
    [property: Id(3)] string? OverlayPath);

/// <summary>What a view wrote: the file and how many instances (ids &gt; 0) it shows.</summary>
[GenerateSerializer, Immutable, Alias("UniCLift.ViewLabelsWritten")]
public sealed record ViewLabelsWritten(
    [property: Id(0)] string LabelPath,
    [property: Id(1)] int Instances,
    [property: Id(2)] string? OverlayPath);

/// <summary>
/// One view of a scene in the coordinator's decoding pass: renders the view's embedding image from the trained model,
/// reports its code statistics, and writes its label map and overlay once the coordinator has built the scene's
/// codebook. Views of a scene do this in parallel across the cluster. (Training needs no view grain: the trainer reads
/// each training view's image and mask once and mines the mask's boundaries itself.)
/// Paths in a request are checked against the silo's data roots (image and mask: scene roots; model, label map and
/// overlay: output roots); a path outside is an ArgumentException and nothing is read or written.
/// Every call may wait behind the silo's other pixel work (a pass fans out all views at once), so their response
/// timeout is long; a dead silo still fails them at once through membership.
/// </summary>
[Alias("UniCLift.IViewGrain")]
public interface IViewGrain : IGrainWithStringKey
{
    /// <summary>Renders and thresholds the view (Embedding-to-Label per pixel); keeps the codes for <see cref="WriteLabels"/>.</summary>
    [Alias("DecodeCodes"), ResponseTimeout("00:30:00")]
    Task<ViewCodeStatistics> DecodeCodes(ViewDecodeRequest request);

    /// <summary>Maps the view's codes through the scene codebook and writes its outputs (decodes first if needed).</summary>
    [Alias("WriteLabels"), ResponseTimeout("00:30:00")]
    Task<ViewLabelsWritten> WriteLabels(ViewWriteRequest request);
}
