namespace UniCLift.Compute.Segmentation;

using System.Numerics;

/// <summary>Which decoded code becomes the background (compact id 0).</summary>
public enum BackgroundSelection
{
    /// <summary>
    /// The code covering the most pixels that the input 2D masks call 0, summed over all views (default), when the
    /// masks call most of its pixels 0. Otherwise (no masks, or masks that leave no background, as Segment Anything's)
    /// the instances whose surface spreads over the scene and lies behind what it meets (floor, walls; see
    /// <see cref="CodebookOptions.SurfaceSpread"/>), the largest of them its code; failing those, <see cref="LargestSegment"/>.
    /// </summary>
    MaskBackground,

    /// <summary>The code with the largest scene-wide pixel area.</summary>
    LargestSegment,

    /// <summary>No background: every kept code gets an id from 1.</summary>
    None,
}

/// <summary>How <see cref="LabelCodebook.Build(CodeStatistics, int[], CodebookOptions)"/> chose the background code.</summary>
public enum BackgroundSource
{
    /// <summary>Not chosen by Build (a codebook made from its arrays), or no background.</summary>
    Unknown,
    /// <summary>The code the input masks call 0 most, mostly 0 in them.</summary>
    Masks,
    /// <summary>The masks give none: the instances spread over the scene and behind what they meet (<see cref="CodebookOptions.SurfaceSpread"/>).</summary>
    Geometry,
    /// <summary>The code with the largest area (<see cref="BackgroundSelection.LargestSegment"/>, or nothing else to go by).</summary>
    Largest,
}

/// <summary>
/// Scene-wide mapping from decoded codes to compact instance ids: background code -> 0, kept codes -> 1..M in
/// order of decreasing scene-wide area (ties: smaller code). One codebook per scene, built from all views
/// (and Gaussians) that will be labelled, so a code maps to the same id in every view and on the Gaussians:
/// that consistency is the point. Plain arrays (serialisable): <see cref="Codes"/>[id - 1] is the code of id.
/// </summary>
public sealed class LabelCodebook
{
    private readonly Dictionary<int, int> ids = new();

    public LabelCodebook(int[] codes, int? backgroundCode) : this(codes, backgroundCode, [], []) { }

    /// <summary>
    /// A codebook with a merge table: <paramref name="mergedCodes"/>[k] maps to compact id <paramref name="mergedIds"/>[k]
    /// (0 = background, else 1..codes.Length). Plain arrays, so the codebook travels as it is.
    /// </summary>
    public LabelCodebook(int[] codes, int? backgroundCode, int[] mergedCodes, int[] mergedIds)
    {
        Codes = codes;
        BackgroundCode = backgroundCode;
        if (backgroundCode is int b) ids[b] = 0;
        for (int i = 0; i < codes.Length; i++)
            if (!ids.TryAdd(codes[i], i + 1))
                throw new ArgumentException($"LabelCodebook: code {codes[i]} appears twice (or is also the background).", nameof(codes));
        if (mergedCodes.Length != mergedIds.Length)
            throw new ArgumentException($"LabelCodebook: {mergedCodes.Length} merged codes but {mergedIds.Length} merged ids.", nameof(mergedIds));
        for (int k = 0; k < mergedCodes.Length; k++)
        {
            int id = mergedIds[k];
            if (id < 0 || id > codes.Length || (id == 0 && backgroundCode is null))
                throw new ArgumentException($"LabelCodebook: merged code {mergedCodes[k]} maps to id {id}; expected {(backgroundCode is null ? 1 : 0)}..{codes.Length}.", nameof(mergedIds));
            if (!ids.TryAdd(mergedCodes[k], id))
                throw new ArgumentException($"LabelCodebook: merged code {mergedCodes[k]} is also a kept, background or merged code.", nameof(mergedCodes));
        }
        MergedCodes = mergedCodes;
        MergedIds = mergedIds;
    }

    /// <summary>How the background code was chosen (metrics.json's "background_from"); not part of the messages.</summary>
    public BackgroundSource BackgroundFrom { get; private init; }

    /// <summary>Kept codes; Codes[id - 1] is the code with compact id id.</summary>
    public int[] Codes { get; }
    public int? BackgroundCode { get; }
    /// <summary>Codes merged into another code's instance: MergedCodes[k] has compact id MergedIds[k].</summary>
    public int[] MergedCodes { get; }
    public int[] MergedIds { get; }
    public int InstanceCount => Codes.Length;

    /// <summary>
    /// Builds the codebook of a scene. <paramref name="viewCodes"/>: per view the decoded pixel codes (row-major);
    /// <paramref name="viewMasks"/>: optional input 2D masks of the same views and sizes (0 = background);
    /// <paramref name="gaussianCodes"/>: optional per-Gaussian codes; they decide the codebook only when there are no
    /// views at all (a code no view shows is no instance: its Gaussians take the nearest kept code);
    /// <paramref name="viewWidth"/>: the views' width, for <see cref="CodeStatistics.Interior"/> (0: not known, so no code
    /// under the area floor stands as an instance, however compact).
    /// </summary>
    public static LabelCodebook Build(IReadOnlyList<int[]> viewCodes, IReadOnlyList<int[]>? viewMasks = null,
        int[]? gaussianCodes = null, CodebookOptions? options = null, int viewWidth = 0)
    {
        if (viewMasks is not null && viewMasks.Count != viewCodes.Count)
            throw new ArgumentException($"LabelCodebook: {viewCodes.Count} views of codes but {viewMasks.Count} masks.", nameof(viewMasks));
        var statistics = new CodeStatistics();
        for (int v = 0; v < viewCodes.Count; v++)
        {
            try { statistics.AddView(viewCodes[v], viewMasks?[v], viewWidth); }
            catch (ArgumentException e) { throw new ArgumentException($"LabelCodebook: view {v}: {e.Message}", nameof(viewMasks), e); }
        }
        return Build(statistics, gaussianCodes, options);
    }

    /// <summary>
    /// Builds the codebook from scene-wide code statistics (<see cref="CodeStatistics"/>: summed per view, so views
    /// can be decoded where they live and only these small tables travel) and optional per-Gaussian codes.
    /// </summary>
    public static LabelCodebook Build(CodeStatistics statistics, int[]? gaussianCodes = null, CodebookOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        options ??= CodebookOptions.Default;
        var area = new Dictionary<int, long>(statistics.Area);
        var backgroundVotes = statistics.BackgroundVotes;
        long total = statistics.Pixels;
        // Codes that only Gaussians carry (never visible in any view) are not instances of their own: they map to the
        // nearest kept code (MapGaussians). Measured on a 60-view 320x240 scene: 111 codebook entries, of which only
        // 11 were ever seen. Without views, the Gaussians' codes are all there is.
        if (gaussianCodes is not null && total == 0)
            foreach (var c in gaussianCodes) Add(area, c);
        long areaTotal = total > 0 ? total : gaussianCodes?.Length ?? 0;

        // A code may stand as an instance of its own when it covers at least the area floor or is a region (mostly
        // interior pixels): a small or rarely seen object. A code under the floor that is a ring or a speck (a blend
        // along an edge between two corners) may not, but it may still join the object or the background that the
        // masks put it in, by the same evidence as any code; what joins nothing is dropped.
        double minArea = Math.Max(options.MinCodePixels, options.MinCodeFraction * areaTotal);
        // The masks give the background when the code they call 0 most is mostly 0 in them. Segment Anything's masks
        // cover floor and walls too: what they leave 0 is gaps and missed objects, and the background is then the codes
        // whose surface spreads over the scene (SurfaceBackground, once the codes have joined their instances).
        int? voted = backgroundVotes.Count > 0 ? ArgMax(backgroundVotes) : null;
        bool masksGiveBackground = voted is int v && backgroundVotes[v] >= options.MaskBackgroundShare * area[v];
        int? background = options.Background switch
        {
            BackgroundSelection.None => null,
            BackgroundSelection.MaskBackground when masksGiveBackground => voted,
            _ => area.Count > 0 ? ArgMax(area) : null,
        };

        var interior = statistics.Interior;
        bool Stands(int c) => area[c] >= minArea || interior.GetValueOrDefault(c) >= options.MinCodeInterior * area[c];
        var seen = area.Where(kv => kv.Key != background && kv.Value > 0)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Select(kv => kv.Key).ToList();
        var standing = seen.Where(Stands).ToHashSet();
        var mergedInto = new Dictionary<int, int>();
        if (background is int bg && options.Background == BackgroundSelection.MaskBackground && masksGiveBackground && options.MergeBackgroundFraction < 1)
            foreach (var c in seen)
                if (backgroundVotes.GetValueOrDefault(c) >= options.MergeBackgroundFraction * area[c]) mergedInto[c] = bg;
        seen.RemoveAll(mergedInto.ContainsKey);
        foreach (var (c, into) in MergeAbsorbed(statistics, seen, standing, background, options.MergeAbsorbedFraction, options.MergeNeighbourFraction,
                     options.MergeCountsAllAbsorbed, options.MergeTargetShare)) mergedInto[c] = into;
        var candidates = seen.Where(standing.Contains).ToList();
        MergeCoSegmented(statistics, candidates.Where(c => !mergedInto.ContainsKey(c)).ToList(), mergedInto, options, areaTotal);
        var kept = candidates.Where(c => !mergedInto.ContainsKey(c)).ToList();
        var from = background is null ? BackgroundSource.Unknown : masksGiveBackground && options.Background == BackgroundSelection.MaskBackground
            ? BackgroundSource.Masks : BackgroundSource.Largest;
        if (background is int largest && options.Background == BackgroundSelection.MaskBackground && !masksGiveBackground)
        {
            var found = SurfaceBackground(statistics, kept, mergedInto, largest, options);
            if (found is int f)
            {
                (background, from) = (f, BackgroundSource.Geometry);
                JoinBackgroundPieces(statistics, kept, mergedInto, f, options.SurfaceJoinAbsorbed);
            }
        }
        var keptId = new Dictionary<int, int>();
        for (int i = 0; i < kept.Count; i++) keptId[kept[i]] = i + 1;
        var mergedCodes = mergedInto.Keys.Order().ToArray();
        var mergedIds = mergedCodes.Select(c => mergedInto[c] == background ? 0 : keptId[mergedInto[c]]).ToArray();
        return new LabelCodebook(kept.ToArray(), background, mergedCodes, mergedIds) { BackgroundFrom = from };
    }

    /// <summary>
    /// The background when the masks do not give one. Every instance (a kept code with the codes merged into it, and the
    /// provisional background <paramref name="background"/>, the largest code, with its own) is background when its surface
    /// (<see cref="CodeStatistics.Surface"/>) spreads along its second principal axis at least
    /// <see cref="CodebookOptions.SurfaceSpread"/> times the whole visible scene's spread along its first, and it is the
    /// nearer side of under <see cref="CodebookOptions.SurfaceMaxFront"/> of its depth edges
    /// (<see cref="CodeStatistics.Occlusion"/>): a surface over much of the scene that lies behind what it meets, as a
    /// floor, a wall or a ceiling does; an object is compact, or, large as a table or shelves, stands in front of the floor
    /// and the walls. The largest of them becomes the background code and the others join it; the provisional
    /// background, if it is none of them, becomes an instance. <paramref name="kept"/> (by decreasing area) and
    /// <paramref name="mergedInto"/> are updated. Returns the background code, or null (nothing changed) when no instance
    /// qualifies or the views carried no surface points.
    /// </summary>
    private static int? SurfaceBackground(CodeStatistics statistics, List<int> kept, Dictionary<int, int> mergedInto, int background,
        CodebookOptions options)
    {
        var surface = statistics.Surface;
        if (options.SurfaceSpread >= 1 || surface.Count == 0) return null;
        double scene = statistics.SceneSurface.Spread().First;
        if (!(scene > 0)) return null;
        // Each code's instance: the kept codes and the provisional background stand for themselves, a merged code for
        // the one it joined (codes merged into the dropped count nowhere).
        var instances = kept.Append(background).ToHashSet();
        var rootOf = instances.ToDictionary(c => c, c => c);
        foreach (var (c, into) in mergedInto)
            if (instances.Contains(into)) rootOf[c] = into;
        var roots = new Dictionary<int, Instance>();
        foreach (var (c, root) in rootOf) roots[root] = roots.GetValueOrDefault(root).With(statistics, c);
        var border = options.SurfaceBorderShare <= 1 ? ViewsAtBorder(statistics, rootOf) : [];
        bool BySpread(Instance i) => i.Moments.Spread().Second >= options.SurfaceSpread * scene
                                     && (i.Edges == 0 || i.Front < options.SurfaceMaxFront * i.Edges);
        bool ByBorder(int root, Instance i) => border.GetValueOrDefault(root) is var (seen, touching)
                                               && seen >= options.SurfaceBorderMinViews && touching >= options.SurfaceBorderShare * seen
                                               && i.Moments.Spread().First >= options.SurfaceBorderSpread * scene;
        var surfaces = roots.Where(kv => BySpread(kv.Value) || ByBorder(kv.Key, kv.Value))
            .OrderByDescending(kv => kv.Value.Area).ThenBy(kv => kv.Key).Select(kv => kv.Key).ToList();
        if (surfaces.Count == 0) return null;
        int chosen = surfaces[0];
        var joining = surfaces.Skip(1).ToHashSet();
        Join(joining, chosen, kept, mergedInto);
        kept.Remove(chosen);
        if (background != chosen && !joining.Contains(background)) kept.Add(background);
        var area = statistics.Area;
        kept.Sort((a, b) => area.GetValueOrDefault(b).CompareTo(area.GetValueOrDefault(a)) is var o and not 0 ? o : a.CompareTo(b));
        return chosen;
    }

    /// <summary>
    /// Once the background is found by geometry: a kept code with at least <paramref name="fraction"/> of its pixels in
    /// mask segments that the background's codes dominate (<see cref="CodeStatistics.Absorbed"/>) joins it, with the codes
    /// merged into it. Before, that evidence was spread over the background's pieces, each too small a share of it to be
    /// joined (<see cref="CodebookOptions.MergeTargetShare"/>); what the masks would have called 0 (a speck on a wall) now
    /// lies in one instance's segments.
    /// </summary>
    private static void JoinBackgroundPieces(CodeStatistics statistics, List<int> kept, Dictionary<int, int> mergedInto, int background, double fraction)
    {
        if (fraction >= 1) return;
        var backgroundCodes = mergedInto.Where(kv => kv.Value == background).Select(kv => kv.Key).Append(background).ToHashSet();
        var intoBackground = new Dictionary<int, long>();
        foreach (var ((c, into), n) in statistics.Absorbed)
            if (backgroundCodes.Contains(into)) intoBackground[c] = intoBackground.GetValueOrDefault(c) + n;
        var joining = kept.Where(c => intoBackground.GetValueOrDefault(c) >= fraction * statistics.Area.GetValueOrDefault(c)).ToHashSet();
        Join(joining, background, kept, mergedInto);
    }

    /// <summary>The instances <paramref name="joining"/> (kept codes, or the background code) join <paramref name="into"/>:
    /// they and the codes merged into them map to it, and they are no longer kept.</summary>
    private static void Join(IReadOnlySet<int> joining, int into, List<int> kept, Dictionary<int, int> mergedInto)
    {
        if (joining.Count == 0) return;
        foreach (var c in mergedInto.Keys.ToList())
            if (joining.Contains(mergedInto[c])) mergedInto[c] = into;
        foreach (var r in joining) mergedInto[r] = into;
        kept.RemoveAll(joining.Contains);
    }

    /// <summary>Per instance (the value <paramref name="instanceOf"/> gives a code; codes it lacks count nowhere): in how
    /// many views it is shown (any of its codes at least 0.1% of the view) and in how many of those it reaches the image's
    /// border (any of its shown codes does).</summary>
    private static Dictionary<int, (int Seen, int Touching)> ViewsAtBorder(CodeStatistics statistics, IReadOnlyDictionary<int, int> instanceOf)
    {
        var result = new Dictionary<int, (int Seen, int Touching)>();
        var seen = new HashSet<int>();
        var touching = new HashSet<int>();
        foreach (var view in statistics.BorderViews)
        {
            seen.Clear();
            touching.Clear();
            foreach (var c in view.Seen)
                if (instanceOf.TryGetValue(c, out var i)) seen.Add(i);
            foreach (var c in view.Touching)
                if (instanceOf.TryGetValue(c, out var i)) touching.Add(i);
            foreach (var i in seen)
            {
                var r = result.GetValueOrDefault(i);
                result[i] = (r.Seen + 1, r.Touching + (touching.Contains(i) ? 1 : 0));
            }
        }
        return result;
    }

    /// <summary>What <see cref="SurfaceBackground"/> sums over an instance's codes.</summary>
    private readonly record struct Instance(SurfaceMoments Moments, long Area, long Front, long Edges)
    {
        public Instance With(CodeStatistics s, int code)
        {
            var (front, behind) = s.Occlusion.GetValueOrDefault(code);
            return new(Moments + s.Surface.GetValueOrDefault(code), Area + s.Area.GetValueOrDefault(code), Front + front, Edges + front + behind);
        }
    }

    /// <summary>
    /// Which candidate codes (ordered by decreasing area) are pieces of another code's object: a code whose pixels lie
    /// for at least <paramref name="fraction"/> (<paramref name="neighbourFraction"/> when that code is one bit away) in
    /// mask segments dominated by other codes merges into the larger code (one of <paramref name="targets"/>, the codes
    /// that may stand as instances, or the background) that absorbs most of them, each differing bit halving the count.
    /// Smallest first, following chains to a code that stays.
    /// Returns code -> the kept code (or background) it joins.
    /// </summary>
    private static Dictionary<int, int> MergeAbsorbed(CodeStatistics statistics, List<int> candidates, IReadOnlySet<int> targets, int? background,
        double fraction, double neighbourFraction, bool countsAllAbsorbed = false, double targetShare = 0)
    {
        var result = new Dictionary<int, int>();
        if ((fraction >= 1 && neighbourFraction >= 1) || statistics.Absorbed.Count == 0) return result;
        var rank = new Dictionary<int, int>(); // 0 = largest; the background outranks every candidate
        for (int i = 0; i < candidates.Count; i++) rank[candidates[i]] = i + 1;
        if (background is int b) rank[b] = 0;
        var absorbed = new Dictionary<int, List<(int Into, long Pixels)>>();
        foreach (var ((c, into), n) in statistics.Absorbed)
        {
            if (!absorbed.TryGetValue(c, out var list)) absorbed[c] = list = new();
            list.Add((into, n));
        }
        for (int i = candidates.Count - 1; i >= 0; i--)
        {
            int c = candidates[i];
            if (!absorbed.TryGetValue(c, out var list)) continue;
            long total = list.Sum(e => e.Pixels);
            if (total < Math.Min(fraction, neighbourFraction) * statistics.Area[c]) continue;
            // Evidence halves per differing bit: a piece of an object usually differs from its code in one unsettled
            // bit, while the object's whole mask segment may be dominated by a touching object that m2f merged it with.
            var target = list.Where(e => rank.TryGetValue(e.Into, out int r) && r < rank[c] && (e.Into == background || targets.Contains(e.Into)))
                .OrderByDescending(e => e.Pixels * Math.Pow(0.5, SpatialParts.Distance(c, e.Into))).ThenBy(e => rank[e.Into])
                .Select(e => (int?)e.Into).FirstOrDefault();
            if (target is not int t) continue;
            // Joining an object needs evidence from objects, joining the background evidence from the background: pixels
            // in segments the background dominates (a small object the segmenter missed or dropped in some views) say
            // nothing about which object c would be a piece of, and pixels in objects' segments (merged with a touching
            // object in some views) do not make c background.
            long evidence = countsAllAbsorbed ? total
                : list.Where(e => (e.Into == background) == (t == background)).Sum(e => e.Pixels);
            if (evidence < (SpatialParts.Distance(c, t) == 1 ? neighbourFraction : fraction) * statistics.Area[c]) continue;
            // ...and the object it joins must hold a fair share of that evidence itself: a small object that the masks
            // merge with each of its neighbours in turn lies a little in each one's segments, a piece of an object
            // mostly in that object's.
            if (t != background && list.Where(e => e.Into == t).Sum(e => e.Pixels) < targetShare * evidence) continue;
            result[c] = t; // t is larger, so decided later: resolve chains below
        }
        foreach (var c in result.Keys.ToList())
        {
            int t = result[c];
            while (result.TryGetValue(t, out int next)) t = next;
            result[c] = t;
        }
        return result;
    }

    /// <summary>
    /// Joins kept codes (ordered by decreasing area) that the masks put in one object segment whenever a view shows
    /// both: each merges into the largest code it is joined with, directly or through a chain. Codes already merged
    /// into one of them follow. Pairs are taken strongest first, and a pair joins the smaller code's object to the
    /// larger's only while the smaller code still leads its own: a sliver that has joined one object is evidence that it
    /// belongs there, not that this object and a third one it also touches are one (at a 0.01% tiny-code threshold such
    /// a sliver merged two distinct objects of a full-scale room). Chains from larger to smaller pieces (SAM's parts of
    /// one object) still join.
    /// </summary>
    private static void MergeCoSegmented(CodeStatistics statistics, List<int> kept, Dictionary<int, int> mergedInto, CodebookOptions options, long areaTotal)
    {
        if (options.MergeCoSegmentFraction >= 1 || statistics.Pairs.Count == 0) return;
        var rank = new Dictionary<int, int>();
        for (int i = 0; i < kept.Count; i++) rank[kept[i]] = i;
        var root = kept.ToDictionary(c => c, c => c);
        int Find(int c) { while (root[c] != c) c = root[c] = root[root[c]]; return c; }
        double minCoVisible = options.MergePairMinFraction * areaTotal;
        var pairs = statistics.Pairs
            .Where(kv => rank.ContainsKey(kv.Key.A) && rank.ContainsKey(kv.Key.B) && kv.Value.CoVisible > 0 && kv.Value.CoVisible >= minCoVisible &&
                         kv.Value.Shared >= options.MergeCoSegmentFraction * kv.Value.CoVisible)
            .OrderByDescending(kv => (double)kv.Value.Shared / kv.Value.CoVisible).ThenBy(kv => kv.Key.A).ThenBy(kv => kv.Key.B);
        foreach (var ((a, b), _) in pairs)
        {
            var (larger, smaller) = rank[a] < rank[b] ? (a, b) : (b, a);
            if (Find(smaller) != smaller) continue; // already part of a larger code's object: no bridge to another
            root[smaller] = Find(larger); // a set's root is its largest code, so never smaller itself
        }
        foreach (var c in kept)
            if (Find(c) != c) mergedInto[c] = Find(c);
        foreach (var c in mergedInto.Keys.ToList())
            if (root.ContainsKey(mergedInto[c])) mergedInto[c] = Find(mergedInto[c]);
    }

    /// <summary>Per compact id (0 = background), the <see cref="CodeStatistics.Surface"/> of the codes it holds (dropped codes
    /// count nowhere): where each instance lies in the world.</summary>
    public Dictionary<int, SurfaceMoments> InstanceSurfaces(CodeStatistics statistics)
    {
        var result = new Dictionary<int, SurfaceMoments>();
        foreach (var (c, m) in statistics.Surface)
            if (TryGetId(c) is int id) result[id] = result.GetValueOrDefault(id) + m;
        return result;
    }

    /// <summary>Per compact id (0 = background), the <see cref="CodeStatistics.Occlusion"/> of the codes it holds.</summary>
    public Dictionary<int, (long Front, long Behind)> InstanceOcclusion(CodeStatistics statistics)
    {
        var result = new Dictionary<int, (long Front, long Behind)>();
        foreach (var (c, (f, b)) in statistics.Occlusion)
            if (TryGetId(c) is int id)
            {
                var o = result.GetValueOrDefault(id);
                result[id] = (o.Front + f, o.Behind + b);
            }
        return result;
    }

    /// <summary>Per compact id (0 = background): in how many views it is shown and reaches the image's border
    /// (<see cref="CodeStatistics.BorderViews"/>, by instance as the background rule counts it).</summary>
    public Dictionary<int, (int Seen, int Touching)> InstanceBorder(CodeStatistics statistics) =>
        ViewsAtBorder(statistics, ids);

    /// <summary>Compact id of a code known to the codebook (0 = background), or null for a dropped / unknown code.</summary>
    public int? TryGetId(int code) => ids.TryGetValue(code, out int id) ? id : null;

    /// <summary>
    /// Compact id of any code: known codes map directly; dropped or unknown codes map to the known code with the
    /// smallest Hamming distance (ties: the same spatial part first, then the smaller id), i.e. the nearest hypercube
    /// corner that is an instance.
    /// </summary>
    public int NearestId(int code)
    {
        if (ids.TryGetValue(code, out int id)) return id;
        int best = -1, bestDistance = int.MaxValue;
        foreach (var (c, i) in ids)
        {
            int d = 2 * SpatialParts.Distance(c, code) + (SpatialParts.Part(c) == SpatialParts.Part(code) ? 0 : 1);
            if (d < bestDistance || (d == bestDistance && i < best)) (best, bestDistance) = (i, d);
        }
        return best < 0 ? 0 : best;
    }

    /// <summary>Per-Gaussian compact ids (dropped / unknown codes: nearest known code, see <see cref="NearestId"/>).</summary>
    public int[] MapGaussians(int[] codes)
    {
        var result = new int[codes.Length];
        for (int i = 0; i < codes.Length; i++) result[i] = NearestId(codes[i]);
        return result;
    }

    /// <summary>
    /// Per-view compact ids (row-major [H*W]): known codes map directly, dropped or unknown codes become
    /// <see cref="FragmentCleanup.Unassigned"/> and, with tiny fragments, take a neighbouring label in
    /// <see cref="FragmentCleanup.Clean"/>. Pass <paramref name="cleanup"/> = null to skip the cleanup
    /// (unassigned pixels then map to the nearest known code instead).
    /// </summary>
    public int[] MapView(int[] codes, int width, int height, FragmentOptions? cleanup)
    {
        if (codes.Length != width * height)
            throw new ArgumentException($"LabelCodebook.MapView: {codes.Length} codes for a {width}x{height} view.", nameof(codes));
        var labels = new int[codes.Length];
        for (int i = 0; i < codes.Length; i++)
            labels[i] = ids.TryGetValue(codes[i], out int id) ? id : cleanup is null ? NearestId(codes[i]) : FragmentCleanup.Unassigned;
        return cleanup is null ? labels : FragmentCleanup.Clean(labels, width, height, cleanup);
    }

    internal static void Add(Dictionary<int, long> counts, int key, long n = 1) => counts[key] = counts.TryGetValue(key, out long c) ? c + n : n;

    private static int ArgMax(IReadOnlyDictionary<int, long> counts) =>
        counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
}
