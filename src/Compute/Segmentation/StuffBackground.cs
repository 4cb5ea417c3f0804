namespace UniCLift.Compute.Segmentation;

using System.Text.Json;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;

/// <summary>
/// Mask segments of a predicted stuff class (floor, wall, ceiling...) are background: a class-agnostic segmenter (SAM)
/// or a panoptic one that gives stuff regions ids of their own cuts the background into per-view pieces, and
/// L_cluster would push those pieces apart (the background then decodes to dozens of codes) while the codebook's
/// background vote (the masks' id 0) sees only missed objects. Rewriting such segments to id 0 before the losses and the
/// codebook see the mask makes the background one segment again, as Replica and ScanNet masks have it.
/// <para>Which predicted classes are stuff is read from the scene (<see cref="Read"/>); without a class list, or a
/// view without a predicted semantic map, masks are used as they are. docs/DECISIONS.md ("Stuff segments").</para>
/// </summary>
public static class StuffBackground
{
    /// <summary>Optional class list at the scene root: [{"id": 1, "isthing": 0}, ...] (detectron2's field) or
    /// {"classes": [{"id": 1, "thing": false}, ...]}.</summary>
    public const string ClassesFile = "classes.json";
    /// <summary>The generated scenes' description (SyntheticSceneWriter), whose "classes" mark thing classes.</summary>
    public const string SceneFile = "scene.json";

    /// <summary>
    /// The scene's stuff classes: ids declared not thing (<c>thing: false</c> or <c>isthing: 0</c>) in
    /// <see cref="ClassesFile"/>, else in <see cref="SceneFile"/>, at the scene root. Empty when neither file declares
    /// classes (the split of the predicted classes is then unknown, and the masks stay as they are). A file that is not
    /// JSON, or a class entry whose "id" is not an integer or whose "thing" / "isthing" is not true, false, 0 or 1, is an
    /// error naming the file and the entry (it would silently change which segments are background).
    /// </summary>
    public static IReadOnlySet<int> Read(string sceneRoot)
    {
        foreach (var name in new[] { ClassesFile, SceneFile })
        {
            var path = Path.Combine(sceneRoot, name);
            if (!File.Exists(path)) continue;
            using var doc = LayoutFiles.ReadJson(path);
            var root = doc.RootElement;
            JsonElement list;
            if (root.ValueKind == JsonValueKind.Array) list = root;
            else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("classes", out var c) && c.ValueKind == JsonValueKind.Array) list = c;
            else continue;
            var stuff = new HashSet<int>();
            bool declared = false;
            int index = 0;
            foreach (var e in list.EnumerateArray())
            {
                int i = index++;
                if (e.ValueKind != JsonValueKind.Object) continue;
                bool? thing = Thing(e, "thing", path, i) ?? Thing(e, "isthing", path, i);
                if (thing is null) continue; // not a class declaration (scene.json's classes may say other things)
                int cls = 0;
                if (!e.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out cls))
                    throw new InvalidDataException($"{path}: class {i} declares whether it is a thing but its \"id\" is {(e.TryGetProperty("id", out var raw) ? raw.GetRawText() : "missing")}, not an integer class id.");
                declared = true;
                if (thing == false) stuff.Add(cls);
            }
            if (declared) return stuff;
        }
        return new HashSet<int>();
    }

    /// <summary>A class entry's thing flag <paramref name="key"/>: true, false, 1 or 0 (detectron2's isthing); null when
    /// absent; anything else an error naming the file and the entry.</summary>
    private static bool? Thing(JsonElement entry, string key, string path, int index)
    {
        if (!entry.TryGetProperty(key, out var v)) return null;
        if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n is 0 or 1) return n == 1;
        throw new InvalidDataException($"{path}: class {index} has \"{key}\": {v.GetRawText()}; it must be true, false, 1 or 0.");
    }

    /// <summary>
    /// A copy of <paramref name="mask"/> in which every segment (id &gt; 0) whose pixels are mostly (more than half) of a
    /// class in <paramref name="stuff"/> by <paramref name="semantic"/> becomes 0. Whole segments, so a predicted
    /// semantic edge that does not follow the instance edge cannot cut an object. Returns <paramref name="mask"/> itself
    /// when nothing changes.
    /// </summary>
    public static LabelMap Apply(LabelMap mask, LabelMap semantic, IReadOnlySet<int> stuff)
    {
        if (semantic.Width != mask.Width || semantic.Height != mask.Height)
            throw new ArgumentException($"Semantic map {semantic.Width}x{semantic.Height} for a {mask.Width}x{mask.Height} mask.", nameof(semantic));
        if (stuff.Count == 0) return mask;
        var total = new Dictionary<int, int>();
        var stuffCount = new Dictionary<int, int>();
        var m = mask.Labels;
        var s = semantic.Labels;
        for (int p = 0; p < m.Length; p++)
        {
            int id = m[p];
            if (id == 0) continue;
            total[id] = total.GetValueOrDefault(id) + 1;
            if (stuff.Contains(s[p])) stuffCount[id] = stuffCount.GetValueOrDefault(id) + 1;
        }
        var toBackground = new HashSet<int>(stuffCount.Where(kv => 2L * kv.Value > total[kv.Key]).Select(kv => kv.Key));
        if (toBackground.Count == 0) return mask;
        var result = new int[m.Length];
        for (int p = 0; p < m.Length; p++) result[p] = toBackground.Contains(m[p]) ? 0 : m[p];
        return new LabelMap(mask.Width, mask.Height, result);
    }

    /// <summary>The view's predicted instance mask with its stuff segments made background (<see cref="Apply"/>), or as
    /// stored when <paramref name="stuff"/> is empty or the view has no predicted semantic map.</summary>
    public static LabelMap LoadMask(Scene scene, SceneView view, IReadOnlySet<int> stuff) => LoadMask(view, stuff);

    /// <summary>The same for a view without its scene (a view grain's, whose source names the stuff classes).</summary>
    public static LabelMap LoadMask(SceneView view, IReadOnlySet<int> stuff)
    {
        var mask = SceneData.LoadMask(view);
        if (stuff.Count == 0 || view.MaskSemanticPath is null) return mask;
        return Apply(mask, SceneData.LoadMaskSemantic(view), stuff);
    }

    /// <summary>The stuff classes a run uses: the scene's (<see cref="Read"/>) when <paramref name="enabled"/>, else none.</summary>
    public static IReadOnlySet<int> For(Scene scene, bool enabled) => enabled ? Read(scene.Root) : new HashSet<int>();
}
