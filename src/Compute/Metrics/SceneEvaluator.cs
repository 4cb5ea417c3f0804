namespace UniCLift.Compute.Metrics;

using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;

/// <summary>What evaluating a prediction of a scene found, beside the PQ figures.</summary>
public sealed record SceneEvaluation(PanopticResult Result, int Frames, IReadOnlyList<string> MissingFrames);

/// <summary>
/// PQ^scene of a scene's prediction on a split, with the dataset's protocol: predictions are instance maps
/// (0 = background); ground truth is the scene's GT instance (and semantic, for the multi-class protocol) maps.
/// Shared by `uniclift eval` (predictions from a folder) and the segmentation pipeline (predictions in memory).
/// </summary>
public static class SceneEvaluator
{
    /// <param name="predict">The predicted instance map of a view, or null when the prediction lacks that frame
    /// (counted as missing and scored as all background).</param>
    public static SceneEvaluation Evaluate(Scene scene, Func<SceneView, LabelMap?> predict, string split = "test", PanopticOptions? options = null)
    {
        options ??= new PanopticOptions();
        var names = split switch
        {
            "test" => scene.TestViews,
            "train" => scene.TrainViews,
            "all" => scene.Views.Select(v => v.Name).ToList(),
            _ => throw new ArgumentException($"Unknown split '{split}': expected test, train or all."),
        };
        if (names.Count == 0) throw new InvalidDataException($"Scene {scene.Root} has no frames in split '{split}'.");
        var pq = new ScenePanopticQuality(options);
        var missing = new List<string>();
        foreach (var name in names)
        {
            var view = scene.View(name);
            if (view.GtInstancePath is null)
                throw new InvalidDataException($"Scene {scene.Root} has no ground-truth instance map for frame '{name}'.");
            var gt = SceneData.LoadGtInstance(scene, view);
            LabelMap? gtSemantic = view.GtSemanticPath is not null && options.Protocol == PanopticProtocol.MultiClass
                ? SceneData.LoadGtSemantic(scene, view) : null;
            var pred = predict(view);
            if (pred is null)
            {
                missing.Add(name);
                pred = new LabelMap(gt.Width, gt.Height);
            }
            else if (pred.Width != gt.Width || pred.Height != gt.Height)
            {
                throw new InvalidDataException($"Prediction for frame '{name}' is {pred.Width}x{pred.Height}, ground truth {view.GtInstancePath} is {gt.Width}x{gt.Height}.");
            }
            pq.AddFrame(pred, null, gt, gtSemantic, name);
        }
        return new SceneEvaluation(pq.Compute(), names.Count, missing);
    }
}
