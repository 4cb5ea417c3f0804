namespace UniCLift.Compute.Metrics;

using UniCLift.Compute.Scenes;

/// <summary>
/// PQ^scene of a scene's prediction on a split, with the dataset's protocol. Shared by `uniclift eval` (predictions
/// read from a folder) and the segmentation pipeline (predictions in memory).
/// </summary>
public static class SceneEvaluator
{
    /// <summary>A prediction file is named as its view, with .png: as the ground-truth instance map in every layout (a
    /// .npy GT pairs with a .png prediction; a 3DGS output's img_name may carry its image's extension, which goes). Not by
    /// the ground truth's own file name: a rig's cameras that write into folders of their own repeat it (cam1/0000.png,
    /// cam2/0000.png), their views do not (cam1_0000, cam2_0000).</summary>
    public static string PredictionFileName(SceneView view)
    {
        var ext = Path.GetExtension(view.Name);
        bool image = LayoutFiles.ImageExtensions.Contains(ext.ToLowerInvariant()) || ext.Equals(".npy", StringComparison.OrdinalIgnoreCase);
        return (image ? view.Name[..^ext.Length] : view.Name) + ".png";
    }

    /// <param name="predictInstance">The predicted instance map of a view (0 = background), or null when the
    /// prediction lacks that frame (counted as missing, scored as all background).</param>
    /// <param name="predictSemantic">Predicted semantic maps; required by the multi-class protocol.</param>
    /// <param name="describePrediction">Names a view's prediction in errors (e.g. its file path).</param>
    /// <param name="readGt">Reads a ground-truth file, null if it does not exist (tests inject an in-memory reader).</param>
    public static SceneEvaluation Evaluate(Scene scene, string split, PanopticOptions options,
        Func<SceneView, LabelMap?> predictInstance, Func<SceneView, LabelMap?>? predictSemantic = null,
        Func<string, LabelMap?>? readGt = null, Func<SceneView, string>? describePrediction = null)
    {
        describePrediction ??= v => $"prediction {PredictionFileName(v)}";
        // Ground truth goes through SceneData by default, so a distorted view's maps are undistorted like its prediction's inputs.
        LabelMap? Gt(SceneView v, string path, bool instance) =>
            readGt is not null ? readGt(path)
            : !File.Exists(path) ? null
            : instance ? SceneData.LoadGtInstance(scene, v) : SceneData.LoadGtSemantic(scene, v);
        IReadOnlyList<string> names = split switch
        {
            "test" => scene.TestViews,
            "train" => scene.TrainViews,
            "all" => scene.Views.Select(v => v.Name).ToList(),
            _ => throw new ArgumentException($"Unknown split '{split}': expected test, train or all."),
        };
        if (names.Count == 0) throw new InvalidDataException($"Scene '{scene.Root}' has no frames in the '{split}' split.");
        bool multi = options.Protocol == PanopticProtocol.MultiClass;
        if (multi && predictSemantic is null) throw new ArgumentException("The multi-class protocol needs predicted semantic maps.");

        var pq = new ScenePanopticQuality(options);
        var missing = new List<string>();
        foreach (string name in names)
        {
            var view = scene.View(name);
            string gtPath = view.GtInstancePath
                ?? throw new InvalidDataException($"Frame '{name}' of scene '{scene.Root}' has no ground-truth instance map.");
            var gt = Gt(view, gtPath, true) ?? throw new FileNotFoundException($"Ground-truth instance map '{gtPath}' does not exist.", gtPath);
            LabelMap? gtSemantic = null;
            if (multi)
            {
                string semPath = view.GtSemanticPath
                    ?? throw new InvalidDataException($"Frame '{name}' of scene '{scene.Root}' has no ground-truth semantic map.");
                gtSemantic = Gt(view, semPath, false) ?? throw new FileNotFoundException($"Ground-truth semantic map '{semPath}' does not exist.", semPath);
                RequireSameSize(gtSemantic, semPath, gt, gtPath);
            }

            var predInstance = predictInstance(view);
            bool frameMissing = predInstance is null;
            if (predInstance is not null) RequireSameSize(predInstance, describePrediction(view), gt, gtPath);
            LabelMap? predSemantic = null;
            if (multi)
            {
                predSemantic = predictSemantic!(view);
                if (predSemantic is not null) RequireSameSize(predSemantic, "semantic " + describePrediction(view), gt, gtPath);
                frameMissing |= predSemantic is null;
                predSemantic ??= new LabelMap(gt.Width, gt.Height);
            }
            if (frameMissing) missing.Add(name);
            pq.AddFrame(predInstance ?? new LabelMap(gt.Width, gt.Height), predSemantic, gt, gtSemantic, name);
        }
        return new SceneEvaluation(pq.Compute(), options.Protocol, split, names.Count, missing, options.Robust, options.Resize);
    }

    private static void RequireSameSize(LabelMap map, string what, LabelMap reference, string referencePath)
    {
        if (map.Width != reference.Width || map.Height != reference.Height)
        {
            // A result trained with --downscale N is 1/N of the ground truth's size (the remainder cropped): say how to score it.
            int n = map.Width > 0 && map.Height > 0 ? reference.Width / map.Width : 0;
            string hint = n > 1 && reference.Height / map.Height == n ? $" (1/{n} of its size: score it with --downscale {n})" : "";
            throw new InvalidDataException(
                $"'{what}' is {map.Width}x{map.Height} but the ground truth '{referencePath}' is {reference.Width}x{reference.Height}{hint}.");
        }
    }
}
