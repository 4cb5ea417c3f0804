namespace UniCLift.Grains.Scenes;

using System.Diagnostics;
using Microsoft.Extensions.Logging;
using UniCLift.Compute;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Grains.Security;
using UniCLift.Grains.Telemetry;
using UniCLift.Grains.Views;
using static TorchSharp.torch;

/// <summary>A trained scene handed to a decoding pass.</summary>
/// <param name="Masks">The job's mask folder (JobOptions.Masks): decode against the masks training used.</param>
/// <param name="Decode">The job's decode settings (JobOptions.Decode), applied to what the scene's training implies
/// (<see cref="JobTraining.DecodeBaseline"/>: the stuff rule training used).</param>
/// <param name="MasksFromResult">A decode job's: with no <paramref name="Masks"/>, read the masks the finished result
/// records (its metrics.json) rather than the layout's own.</param>
/// <param name="Downscale">The job's factor (JobOptions.Downscale): decode at the size training used; 0 (a decode job not
/// told one) the factor the finished result records, else 1.</param>
public sealed record DecodeTarget(string SceneId, string SceneDirectory, string OutputDirectory, string? Masks = null, IReadOnlyList<string>? Decode = null,
    bool MasksFromResult = false, int Downscale = 1);

/// <summary>How a scene came out of a decoding pass: a result, or the reason it failed.</summary>
/// <param name="Transient">The error was the messaging's (a view grain's silo died or did not answer in time), not the
/// scene's: it may be decoded again.</param>
public sealed record DecodeOutcome(string SceneId, SceneDecodeResult? Result, string? Error, bool Transient = false);

/// <summary>
/// Embedding-to-Label for a group of trained scenes, run by the coordinator. The Gaussians' embeddings of every
/// scene are thresholded in one pass; each scene's views render and threshold their embedding images in their view
/// grains, in parallel across the cluster, and send back only code statistics; the scene's codebook is built from
/// those and sent back to the views, which write their label maps and overlays; labels.ply, metrics.json and
/// PQ^scene complete the scene. Called on the coordinator's scheduler: file and tensor work goes to the thread pool.
/// A failure fails that scene only.
/// </summary>
public sealed class BatchDecoder(IGrainFactory grains, UniCLiftMetrics metrics, DataRoots roots, ILogger log)
{
    private sealed record Loaded(DecodeTarget Target, Scene Scene, TrainedGaussians Model, TrainingSummary Training, string ModelPath,
        DecodeOptions Options, IReadOnlyList<string> Settings);

    public async Task<IReadOnlyList<DecodeOutcome>> RunAsync(int pass, IReadOnlyList<DecodeTarget> targets)
    {
        using var confined = roots.Confine(); // every file this pass opens, on any thread it starts, is checked as opened
        var outcomes = new Dictionary<string, DecodeOutcome>();
        var loaded = new List<Loaded>();
        foreach (var (target, result) in targets.Zip(await Task.Run(() => targets.AsParallel().AsOrdered().Select(t => Load(t, roots)).ToList())))
        {
            if (result.Error is { } error) outcomes[target.SceneId] = new DecodeOutcome(target.SceneId, null, error);
            else loaded.Add(result.Loaded!);
        }

        // The codes each scene's Gaussians are labelled by: their view codes where the model has them and the options
        // take them, else their embeddings' codes, from one pass over those scenes' Gaussians. Should the pass fail, each
        // scene on its own, so that one model it cannot decode fails that scene alone (a failing batch call failed every
        // scene of the pass, at every pass).
        var (gaussianCodes, failed) = loaded.Count == 0 ? ([], []) : await Task.Run(() =>
        {
            TorchRuntime.EnsureInitialised();
            static int[][] Codes(IReadOnlyList<Loaded> scenes)
            {
                var codes = scenes.Select(l => l.Model.ViewCodesFor(l.Options.GaussianCodes)).ToArray();
                var own = Enumerable.Range(0, scenes.Count).Where(i => codes[i] is null).ToList();
                if (own.Count == 0) return codes!;
                using var scope = NewDisposeScope();
                var decoded = EmbeddingDecoder.DecodeBatch(own.Select(i => scenes[i].Model.EmbeddingTensor()).ToList());
                for (int k = 0; k < own.Count; k++) codes[own[k]] = decoded[k];
                return codes!;
            }
            try { return (Codes(loaded), new Dictionary<int, string>()); }
            catch (Exception e) when (IsDecodeFailure(e))
            {
                var codes = new int[loaded.Count][];
                var errors = new Dictionary<int, string>();
                for (int i = 0; i < loaded.Count; i++)
                {
                    try { codes[i] = Codes([loaded[i]])[0]; }
                    catch (Exception one) when (IsDecodeFailure(one)) { errors[i] = $"decoding failed: {FailurePolicy.Describe(one)}"; }
                }
                return (codes, errors);
            }
        });
        foreach (var (i, error) in failed)
        {
            log.LogWarning("Decoding pass {Pass}: scene {Scene} failed: {Error}", pass, loaded[i].Target.SceneId, error);
            outcomes[loaded[i].Target.SceneId] = new DecodeOutcome(loaded[i].Target.SceneId, null, error);
        }

        var decoded = await Task.WhenAll(loaded.Select((l, i) => (l, i)).Where(x => !failed.ContainsKey(x.i)).Select(x => DecodeScene(pass, x.l, gaussianCodes[x.i])));
        foreach (var o in decoded) outcomes[o.SceneId] = o;
        return targets.Select(t => outcomes[t.SceneId]).ToList();
    }

    /// <summary>What a model's embeddings can make the batched decode throw (a dimension it does not take, a tensor
    /// error): that scene's failure, not the process's.</summary>
    private static bool IsDecodeFailure(Exception e) =>
        e is ArgumentException or InvalidDataException or InvalidOperationException or System.Runtime.InteropServices.ExternalException;

    private static (Loaded? Loaded, string? Error) Load(DecodeTarget t, DataRoots roots)
    {
        try
        {
            roots.CheckScene(t.SceneDirectory, "scene directory");
            roots.CheckOutput(t.OutputDirectory, "output directory");
            if (t.Masks is null && t.MasksFromResult) t = t with { Masks = SceneSegmentation.RecordedMasks(t.OutputDirectory) };
            Scene scene;
            using (roots.ReadingScene(t.SceneDirectory)) scene = SceneInspector.Read(t.SceneDirectory, t.Masks);
            roots.CheckSceneFiles(scene);
            scene = scene.Downscaled(t.Downscale > 0 ? t.Downscale : SceneSegmentation.RecordedDownscale(t.OutputDirectory) ?? 1);
            var modelPath = Path.Combine(t.OutputDirectory, TrainedGaussians.FileName);
            if (!File.Exists(modelPath)) return (null, $"trained model '{modelPath}' is missing; the scene must be trained again.");
            var model = TrainedGaussians.Read(modelPath);
            if (model.Dimensions is < 1 or > EmbeddingDecoder.MaxDimensions)
                return (null, $"trained model '{modelPath}' has {model.Dimensions} embedding channels; decoding takes 1..{EmbeddingDecoder.MaxDimensions} (emb_0..emb_{EmbeddingDecoder.MaxDimensions - 1}).");
            var trainingPath = Path.Combine(t.OutputDirectory, TrainingSummary.FileName);
            var training = File.Exists(trainingPath) ? TrainingSummary.Read(trainingPath) : new TrainingSummary("unknown", 0, 0, null);
            var baseline = JobTraining.DecodeBaseline(training);
            var options = DecodeOptionOverrides.Apply(baseline, t.Decode);
            return (new Loaded(t, scene, model, training, modelPath, options, DecodeOptionOverrides.Differences(options, baseline)), null);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            return (null, e.Message);
        }
    }

    private async Task<DecodeOutcome> DecodeScene(int pass, Loaded l, int[] gaussianCodes)
    {
        var clock = Stopwatch.StartNew();
        var id = l.Target.SceneId;
        try
        {
            var views = l.Scene.Views;
            var decode = l.Options;
            var stuff = StuffBackground.For(l.Scene, decode.StuffAsBackground);
            float near = SceneScale.NearPlane(SceneScale.Extent(l.Scene));
            // The views apply the same settings (their split and cleanup); blend and split on/off also travel as flags.
            var settings = l.Target.Decode is { Count: > 0 } d ? d.ToArray() : null;
            var requests = views.Select(v => new ViewDecodeRequest(v.ToSource(stuff), l.ModelPath, decode.Blend == PixelBlend.Probabilities, near,
                decode.SpatialSplit is not null, settings)).ToList();
            IViewGrain View(int i) => grains.GetGrain<IViewGrain>($"{id}/{views[i].Name}");

            var statistics = await Task.WhenAll(requests.Select((r, i) => View(i).DecodeCodes(r)));
            var (codebook, gaussianIds) = await Task.Run(() =>
            {
                var sum = new CodeStatistics();
                foreach (var s in statistics) sum.Add(s.ToStatistics());
                // The view grains split the codes of Gaussians apart in space (the same options); the Gaussians follow.
                var codes = l.Model.SpatialParts(gaussianCodes, decode.SpatialSplit).ExtendGaussians(gaussianCodes, l.Model.Cloud.Means);
                var book = LabelCodebook.Build(sum, codes, decode.Codebook);
                return (book, l.Model.InstanceIds(book, codes, decode.Strays));
            });
            var message = codebook.ToMessage();
            var overlays = SceneSegmentation.OverlayViews(views.Count, decode.Overlays);
            SceneSegmentation.ReplacingResult(l.Target.OutputDirectory); // decoding again: the label maps are replaced from here
            await Task.WhenAll(requests.Select((r, i) => View(i).WriteLabels(new ViewWriteRequest(r, message,
                SceneSegmentation.LabelPath(l.Target.OutputDirectory, views[i]),
                overlays.Contains(i) ? SceneSegmentation.OverlayPath(l.Target.OutputDirectory, views[i]) : null))));

            var result = await Task.Run(() => SceneSegmentation.Summarize(l.Scene, l.Model, gaussianIds, codebook, l.Target.OutputDirectory, l.Training,
                masks: l.Target.Masks, decodeSettings: l.Settings, gaussianCodes: l.Options.GaussianCodes));
            metrics.RecordDecode(clock.Elapsed);
            if (result.PqScene is { } pq && double.IsFinite(pq)) metrics.RecordPq(Math.Clamp(pq, 0, 100));
            return new DecodeOutcome(id, new SceneDecodeResult(result.Instances, result.PqScene, result.PqThings, clock.Elapsed.TotalSeconds, pass), null);
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Decoding pass {Pass}: scene {Scene} failed", pass, id);
            var message = FailurePolicy.Describe(e);
            // A view grain on a silo that died or did not answer in time: the messaging's failure, not the scene's.
            bool transient = ClusterCalls.IsTransient(FailurePolicy.Unwrap(e));
            return new DecodeOutcome(id, null, $"decoding failed: {message}", transient);
        }
    }
}
