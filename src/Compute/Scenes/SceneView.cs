namespace UniCLift.Compute.Scenes;

/// <summary>
/// One posed view of a scene. Data is referenced by path and loaded on demand (a view grain or the trainer
/// loads what it needs), so a scene of hundreds of frames does not sit in memory twice.
/// Mask and ground-truth paths may be .png (8/16-bit) or .npy (integer arrays); see <see cref="SceneData"/>.
/// A view with a <see cref="Distortion"/> has a pinhole <see cref="Camera"/>: its image and label maps are undistorted to
/// that camera when <see cref="SceneData"/> loads them.
/// <para><see cref="Downscale"/> N &gt; 1 (<see cref="Scene.Downscaled"/>): the view's files are N times its
/// <see cref="Camera"/>'s size, plus up to N-1 pixels on the right and bottom that are cropped; <see cref="SceneData"/>
/// loads them at the file's resolution and resamples them to the camera.</para>
/// </summary>
public sealed record SceneView(
    string Name,
    Camera Camera,
    string ImagePath,
    string? DepthPath = null,
    string? MaskPath = null,
    string? GtInstancePath = null,
    string? GtSemanticPath = null,
    string? MaskSemanticPath = null,
    Distortion? Distortion = null,
    int Downscale = 1);
