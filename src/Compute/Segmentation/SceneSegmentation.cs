namespace UniCLift.Compute.Segmentation;

using UniCLift.Compute.Scenes;
using UniCLift.Compute.Training;

/// <summary>Result of segmenting one scene.</summary>
public sealed record SceneSegmentationResult(
    string OutputDirectory,
    int Instances,
    int Gaussians,
    int Iterations,
    double Seconds,
    double? PqScene,
    double? PqThings);

/// <summary>
/// After training: Embedding-to-Label decoding of the trained embeddings (per Gaussian and per rendered pixel, codes
/// mapped to compact ids consistently across the scene), then the scene's outputs: instance/&lt;frame&gt;.png (16-bit,
/// 0 = background), labels.ply, overlays/, metrics.json; PQ^scene when the scene has ground truth.
/// CONTRACT: the body is being implemented; the public surface is stable.
/// </summary>
public static class SceneSegmentation
{
    public static SceneSegmentationResult Finish(Scene scene, SceneTrainer trainer, string outputDirectory, double trainingSeconds) =>
        throw new NotImplementedException();
}
