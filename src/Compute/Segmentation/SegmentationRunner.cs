namespace UniCLift.Compute.Segmentation;

using System.Diagnostics;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Training;

/// <summary>Train (or lift) one scene to the end in this thread, then decode and write its outputs (with
/// <c>decode</c>; default: the defaults, with the stuff rule training used).</summary>
public static class SegmentationRunner
{
    public static SceneSegmentationResult Run(Scene scene, TrainingOptions options, string outputDirectory, string? initialPly = null,
        Action<TrainingStepReport>? progress = null, CancellationToken cancellation = default, TorchSharp.torch.Device? device = null,
        bool synchronisePhases = false, DecodeOptions? decode = null)
    {
        var clock = Stopwatch.StartNew();
        using var trainer = SceneTrainer.Create(scene, options, initialPly, device: device);
        trainer.SynchronisePhases = synchronisePhases;
        var curve = new List<TrainingStepReport>(options.Iterations);
        while (!trainer.IsComplete)
        {
            cancellation.ThrowIfCancellationRequested();
            var report = trainer.Step();
            curve.Add(report);
            progress?.Invoke(report);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var phases = trainer.PhaseMilliseconds.ToDictionary(kv => kv.Key, kv => kv.Value);
        return SceneSegmentation.Finish(scene, trainer, outputDirectory, seconds,
            decode ?? new DecodeOptions { StuffAsBackground = options.StuffAsBackground }, curve, cancellation) with
            {
                PhaseMilliseconds = phases,
                PhaseTensors = trainer.PhaseTensors.ToDictionary(kv => kv.Key, kv => kv.Value),
            };
    }
}
