namespace UniCLift.Compute.Metrics;

using UniCLift.Compute.Scenes;

/// <summary>
/// Scene-level panoptic quality (PQ^scene) as Panoptic Lifting's evaluation computes it, fed one frame at a time.
/// <para>
/// What was followed: nerf/panoptic-lifting (mirrored as nihalsid/panoptic-lifting) util/panoptic_quality.py
/// (panoptic_quality, _panoptic_quality_update, _panoptic_quality_compute, get_non_robust_classes_for_image) and
/// dataset/preprocessing/preprocess_scannet.py (calculate_panoptic_quality_folders), plus Contrastive Lift's
/// calculate_panoptic_quality_folders_MOS for Messy Rooms. Those resize every test frame to 512x512 with PIL
/// NEAREST, drop the pixels whose ground-truth semantic id is 0 (faulty_gt=[0]) from prediction and ground truth,
/// concatenate all frames into one long image and run panoptic_quality on it once. Concatenation only matters
/// through per-segment areas and pairwise intersections, which are sums over frames, so this class keeps a
/// histogram of (predicted segment, ground-truth segment) pixel pairs and never holds the scene in memory.
/// </para>
/// <para>
/// The computation, in Panoptic Lifting's order:
/// 1. Segment = (class, instance id) over the whole scene: an instance matches only if its id agrees in every frame.
/// 2. Classes present in neither prediction nor ground truth are not counted (unused_classes).
/// 3. Robust filter: a class whose share of the evaluated pixels is &lt; 0.5 % in the prediction OR in the ground truth
///    is dropped (note: the code tests both sides, not the ground truth alone). Pixels of dropped classes become
///    void, on the side where they carry that class.
/// 4. Stuff classes get instance id 0, so each stuff class is one segment per side.
/// 5. A (pred, gt) pair of the same class is a match when IoU &gt; 0.5, with
///    union = |pred| - |pred ∩ void_gt| + |gt| - |void_pred ∩ gt| - |pred ∩ gt|.
/// 6. Unmatched ground-truth segments more than half covered by void prediction are not false negatives; unmatched
///    predicted segments more than half covered by void ground truth are not false positives.
///    No minimum segment size otherwise: small predicted segments are ordinary false positives.
/// 7. PQ_c = ΣIoU / (TP + FP/2 + FN/2), SQ_c = ΣIoU / TP (0 when TP = 0), RQ_c = TP / (TP + FP/2 + FN/2)
///    (0 when the denominator is 0); PQ, SQ, RQ are plain means over the kept classes, things and stuff together.
/// </para>
/// <para>
/// Choices of ours: the class universe is every class seen in prediction or ground truth (Panoptic Lifting's is its
/// dataset's class list minus unused classes, which is the same set for predictions inside that list); thing
/// classes default to those with an instance id &gt; 0 somewhere in the ground truth (Panoptic Lifting reads them from
/// a per-dataset CSV; <see cref="PanopticOptions.ThingClasses"/> overrides); IoU is computed in double (torch gives
/// float32 there, a difference of ~1e-7); prediction and ground truth of a frame must have the same size (Panoptic
/// Lifting would resize each independently, which hides rendering at the wrong resolution); resizing is exact
/// pixel-centre nearest (<see cref="NearestMode.PixelCentre"/>, what PIL computes for a 512 target).
/// </para>
/// </summary>
public sealed class ScenePanopticQuality
{
    private const long VoidKey = long.MinValue;

    private readonly PanopticOptions options;
    private readonly Dictionary<(long Pred, long Gt), long> joint = new();
    private int frames;
    private int cachedWidth = -1, cachedHeight = -1;
    private int[] xs = [], ys = [];

    public ScenePanopticQuality(PanopticOptions? options = null)
    {
        this.options = options ?? new PanopticOptions();
        this.options.Validate();
    }

    public PanopticOptions Options => options;

    /// <summary>Frames added so far.</summary>
    public int Frames => frames;

    /// <summary>
    /// Adds one frame. Labels must be &gt;= 0. Instance 0 is background in the TwoClass protocol. The semantic maps are
    /// required by the MultiClass protocol and ignored by TwoClass. All given maps must have the same size.
    /// <paramref name="frameName"/> only labels error messages.
    /// </summary>
    public void AddFrame(LabelMap predInstance, LabelMap? predSemantic, LabelMap gtInstance, LabelMap? gtSemantic, string? frameName = null)
    {
        ArgumentNullException.ThrowIfNull(predInstance);
        ArgumentNullException.ThrowIfNull(gtInstance);
        string where = frameName is null ? $"frame {frames}" : $"frame '{frameName}'";
        bool multi = options.Protocol == PanopticProtocol.MultiClass;
        if (multi && (predSemantic is null || gtSemantic is null))
            throw new ArgumentException($"{where}: the MultiClass protocol needs predicted and ground-truth semantic maps, " +
                                        $"got {(predSemantic is null ? "no" : "a")} predicted and {(gtSemantic is null ? "no" : "a")} ground-truth one.");
        if (!multi) { predSemantic = null; gtSemantic = null; }

        CheckShape(predInstance, "predicted instance map", where);
        CheckShape(gtInstance, "ground-truth instance map", where);
        if (predInstance.Width != gtInstance.Width || predInstance.Height != gtInstance.Height)
            throw new ArgumentException($"{where}: prediction is {predInstance.Width}x{predInstance.Height} but ground truth is {gtInstance.Width}x{gtInstance.Height}.");
        if (predSemantic is not null) CheckSame(predSemantic, predInstance, "predicted semantic map", where);
        if (gtSemantic is not null) CheckSame(gtSemantic, gtInstance, "ground-truth semantic map", where);

        int w = gtInstance.Width, h = gtInstance.Height;
        PrepareIndices(w, h);

        int[] pi = predInstance.Labels, gi = gtInstance.Labels;
        int[]? ps = predSemantic?.Labels, gs = gtSemantic?.Labels;
        int? voidLabel = multi ? options.GtVoidLabel : null;
        bool remove = options.Void == VoidHandling.Remove;

        // Consecutive pixels mostly carry the same pair: count runs, touch the dictionary once per run.
        long runPred = 0, runGt = 0, run = 0;
        for (int y = 0; y < ys.Length; y++)
        {
            int row = ys[y] * w;
            for (int x = 0; x < xs.Length; x++)
            {
                int i = row + xs[x];
                int pInst = pi[i], gInst = gi[i];
                int pCls, gCls;
                if (multi) { pCls = ps![i]; gCls = gs![i]; }
                else { pCls = pInst != 0 ? 1 : 0; gCls = gInst != 0 ? 1 : 0; }
                if ((pInst | gInst | pCls | gCls) < 0)
                    throw new ArgumentException($"{where}: negative label at pixel ({i % w}, {i / w}); labels must be >= 0.");

                long gKey;
                if (voidLabel == gCls)
                {
                    if (remove) continue;
                    gKey = VoidKey;
                }
                else gKey = Pack(gCls, gInst);
                long pKey = Pack(pCls, pInst);

                if (run > 0 && pKey == runPred && gKey == runGt) { run++; continue; }
                Flush(runPred, runGt, run);
                runPred = pKey; runGt = gKey; run = 1;
            }
        }
        Flush(runPred, runGt, run);
        frames++;
    }

    /// <summary>Computes the figures over all frames added so far (the accumulator can go on afterwards).</summary>
    public PanopticResult Compute()
    {
        bool multi = options.Protocol == PanopticProtocol.MultiClass;

        // Marginals on the raw segments: pixel shares per class and which classes carry instances in the ground truth.
        long total = 0;
        var predClassPixels = new Dictionary<int, long>();
        var gtClassPixels = new Dictionary<int, long>();
        var gtHasInstances = new HashSet<int>();
        foreach (var ((p, g), n) in joint)
        {
            total += n;
            Add(predClassPixels, ClassOf(p), n);
            if (g == VoidKey) continue;
            Add(gtClassPixels, ClassOf(g), n);
            if (InstanceOf(g) != 0) gtHasInstances.Add(ClassOf(g));
        }

        IReadOnlySet<int> things = multi ? options.ThingClasses ?? gtHasInstances : new HashSet<int> { 1 };
        var universe = new SortedSet<int>(predClassPixels.Keys.Concat(gtClassPixels.Keys));
        var dropped = new SortedSet<int>();
        if (options.Robust && total > 0)
            foreach (int c in universe)
                if ((predClassPixels.TryGetValue(c, out long pn) && Share(pn, total) < (float)options.RobustMinShare) ||
                    (gtClassPixels.TryGetValue(c, out long gn) && Share(gn, total) < (float)options.RobustMinShare))
                    dropped.Add(c);

        long Remap(long key)
        {
            if (key == VoidKey) return VoidKey;
            int c = ClassOf(key);
            if (dropped.Contains(c)) return VoidKey;
            return things.Contains(c) ? key : Pack(c, 0);
        }

        var predArea = new Dictionary<long, long>();
        var gtArea = new Dictionary<long, long>();
        var inter = new Dictionary<(long Pred, long Gt), long>();
        foreach (var ((p0, g0), n) in joint)
        {
            long p = Remap(p0), g = Remap(g0);
            Add(inter, (p, g), n);
            Add(predArea, p, n);
            Add(gtArea, g, n);
        }

        var kept = universe.Where(c => !dropped.Contains(c)).ToList();
        var tp = kept.ToDictionary(c => c, _ => 0);
        var fp = kept.ToDictionary(c => c, _ => 0);
        var fn = kept.ToDictionary(c => c, _ => 0);
        var iouSum = kept.ToDictionary(c => c, _ => 0.0);
        var matchedPred = new HashSet<long>();
        var matchedGt = new HashSet<long>();

        foreach (var ((p, g), n) in inter)
        {
            if (p == VoidKey || g == VoidKey || ClassOf(p) != ClassOf(g)) continue;
            long union = predArea[p] - inter.GetValueOrDefault((p, VoidKey)) + gtArea[g] - inter.GetValueOrDefault((VoidKey, g)) - n;
            double iou = (double)n / union;
            if (iou > 0.5)
            {
                int c = ClassOf(p);
                matchedPred.Add(p);
                matchedGt.Add(g);
                iouSum[c] += iou;
                tp[c]++;
            }
        }
        foreach (var (g, area) in gtArea)
        {
            if (g == VoidKey || matchedGt.Contains(g)) continue;
            if ((double)inter.GetValueOrDefault((VoidKey, g)) / area > 0.5) continue; // mostly void in the prediction
            fn[ClassOf(g)]++;
        }
        foreach (var (p, area) in predArea)
        {
            if (p == VoidKey || matchedPred.Contains(p)) continue;
            if ((double)inter.GetValueOrDefault((p, VoidKey)) / area > 0.5) continue; // mostly void in the ground truth
            fp[ClassOf(p)]++;
        }

        var classes = new List<ClassResult>(kept.Count);
        foreach (int c in kept)
        {
            double denominator = tp[c] + 0.5 * fp[c] + 0.5 * fn[c];
            double pq = denominator > 0 ? iouSum[c] / denominator : 0;
            double sq = tp[c] > 0 ? iouSum[c] / tp[c] : 0;
            double rq = denominator > 0 ? tp[c] / denominator : 0;
            classes.Add(new ClassResult(c, NameOf(c), things.Contains(c), tp[c], fp[c], fn[c], iouSum[c],
                100 * pq, 100 * sq, 100 * rq,
                Percent(gtClassPixels.GetValueOrDefault(c), total), Percent(predClassPixels.GetValueOrDefault(c), total)));
        }

        var thingRows = classes.Where(r => r.IsThing).ToList();
        var stuffRows = classes.Where(r => !r.IsThing).ToList();
        return new PanopticResult(
            Mean(classes, r => r.Pq), Mean(classes, r => r.Sq), Mean(classes, r => r.Rq),
            Mean(thingRows, r => r.Pq), Mean(thingRows, r => r.Sq), Mean(thingRows, r => r.Rq),
            Mean(stuffRows, r => r.Pq),
            classes, dropped.ToList(), frames, total);
    }

    private string? NameOf(int c)
    {
        if (options.ClassNames is { } names) return names.GetValueOrDefault(c);
        if (options.Protocol == PanopticProtocol.TwoClass) return c == 0 ? "background" : "foreground";
        return null;
    }

    private void PrepareIndices(int w, int h)
    {
        if (w == cachedWidth && h == cachedHeight) return;
        int outW = options.Resize > 0 ? options.Resize : w, outH = options.Resize > 0 ? options.Resize : h;
        xs = LabelResize.SourceIndices(w, outW, options.ResizeMode);
        ys = LabelResize.SourceIndices(h, outH, options.ResizeMode);
        cachedWidth = w;
        cachedHeight = h;
    }

    private void Flush(long pred, long gt, long n)
    {
        if (n > 0) Add(joint, (pred, gt), n);
    }

    private static void CheckShape(LabelMap map, string what, string where)
    {
        if (map.Width <= 0 || map.Height <= 0 || map.Labels.Length != (long)map.Width * map.Height)
            throw new ArgumentException($"{where}: {what} says {map.Width}x{map.Height} but holds {map.Labels.Length} labels.");
    }

    private static void CheckSame(LabelMap map, LabelMap reference, string what, string where)
    {
        CheckShape(map, what, where);
        if (map.Width != reference.Width || map.Height != reference.Height)
            throw new ArgumentException($"{where}: {what} is {map.Width}x{map.Height} but the instance map is {reference.Width}x{reference.Height}.");
    }

    private static long Pack(int cls, int instance) => ((long)cls << 32) | (uint)instance;
    private static int ClassOf(long key) => (int)(key >> 32);
    private static int InstanceOf(long key) => (int)key;

    private static void Add<TKey>(Dictionary<TKey, long> d, TKey key, long n) where TKey : notnull =>
        d[key] = d.GetValueOrDefault(key) + n;

    /// <summary>A class's share of the evaluated pixels as Panoptic Lifting's code computes it: torch divides the int64
    /// counts in float32 (each count rounded to float32 first), then compares with the threshold in float32. In double a
    /// class within about 3e-10 of 0.5 % of over 2^24 pixels (some 64 frames at 512x512) fell on the other side of the
    /// threshold and was dropped where the reference keeps it (found by bench/external/pq_reference.py, 2026-12-07).</summary>
    private static float Share(long n, long total) => (float)n / (float)total;

    private static double Percent(long n, long total) => total > 0 ? 100.0 * n / total : 0;

    private static double Mean(List<ClassResult> rows, Func<ClassResult, double> f) =>
        rows.Count == 0 ? double.NaN : rows.Average(f);
}
