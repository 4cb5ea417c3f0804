namespace UniCLift.Compute.Segmentation;

/// <summary>
/// What the codebook needs to know about a scene's decoded views: per code its pixel area and how many of those
/// pixels the input mask calls background (0), and how many lie inside the code's own region (<see cref="Interior"/>).
/// Built per view and merged, so views decoded on different machines
/// contribute a few numbers each instead of their pixels. Flat arrays round-trip through <see cref="ToArrays"/>.
/// </summary>
public sealed class CodeStatistics
{
    private readonly Dictionary<int, long> area = new(), backgroundVotes = new(), interior = new();
    private readonly Dictionary<(int Code, int Into), long> absorbed = new();
    private readonly Dictionary<(int A, int B), (long Shared, long CoVisible)> pairs = new();
    private readonly Dictionary<int, SurfaceMoments> surface = new();
    private readonly Dictionary<int, (long Front, long Behind)> occlusion = new();
    private readonly List<ViewBorder> borderViews = new();

    public IReadOnlyDictionary<int, long> Area => area;
    public IReadOnlyDictionary<int, long> BackgroundVotes => backgroundVotes;

    /// <summary>
    /// Per code, its pixels whose four neighbours in the view carry the same code (a neighbour outside the image counts
    /// as the same). Interior / area is near 0 for a ring one or two pixels wide (a blend along an edge between two
    /// objects) and 0.5-0.95 for a region, however small or rarely seen: what tells a small object from a sliver
    /// without a threshold that scales with the number of views (DECISIONS.md, "Codes to instance ids"). Views added
    /// without their width count no interior pixels.
    /// </summary>
    public IReadOnlyDictionary<int, long> Interior => interior;

    /// <summary>
    /// (code c, code d) -> pixels of c lying in input-mask segments (one mask id of one view) whose most common code is
    /// d != c (ties: smaller code). Mask ids are not consistent across views, so this is counted per view and summed.
    /// Only views added with a mask contribute; negative mask ids (void) do not form segments.
    /// </summary>
    public IReadOnlyDictionary<(int Code, int Into), long> Absorbed => absorbed;
    /// <summary>
    /// Per code, the world points its pixels show (views added with their surface points; pixels with no surface do not
    /// count): where the code lies in 3D, so the codebook can tell a floor or a wall (spread over much of the scene in two
    /// directions) from an object when the masks do not say which is background (<see cref="CodebookOptions.SurfaceSpread"/>).
    /// </summary>
    public IReadOnlyDictionary<int, SurfaceMoments> Surface => surface;

    /// <summary>
    /// Per code, across the edges where it meets another code with a jump in depth (more than <see cref="DepthJump"/>
    /// of the farther depth): how often it is the nearer side (Front) and the farther (Behind). An object stands in
    /// front of what surrounds it in the views; a floor or a wall lies behind everything it meets (figure and ground).
    /// Views added with their depth and width only.
    /// </summary>
    public IReadOnlyDictionary<int, (long Front, long Behind)> Occlusion => occlusion;

    /// <summary>One view's codes as the border test counts them: those the view shows (at least
    /// <see cref="PairMinViewFraction"/> of it), ascending, and those of them that reach the image's border.</summary>
    public readonly record struct ViewBorder(int[] Seen, int[] Touching);

    /// <summary>
    /// Per view (views added with their width), which codes it shows and which of them reach the image's border. Kept per
    /// view, not summed per code: an instance made of many codes reaches the border in a view when any of its codes does,
    /// which only the codebook, once it knows the instances, can tell (<see cref="CodebookOptions.SurfaceBorderShare"/>).
    /// A floor, a wall, a row of buildings or the sky runs past the frame in nearly every view that shows it; an object
    /// only when it is near the camera or at the frame's edge.
    /// </summary>
    public IReadOnlyList<ViewBorder> BorderViews => borderViews;

    /// <summary>A depth jump between two sides of an edge counts when the nearer is closer by at least this share of the
    /// farther: an object a metre before a wall does, a picture on that wall does not, nor an object where it stands on
    /// the floor.</summary>
    public const double DepthJump = 0.1;

    /// <summary>The surface points of every code together: the scene's visible surface.</summary>
    public SurfaceMoments SceneSurface => surface.Values.Aggregate(default(SurfaceMoments), (a, b) => a + b);

    /// <summary>All pixels counted (every view's width x height).</summary>
    public long Pixels { get; private set; }

    /// <summary>
    /// (code a, code b), a &lt; b -> (Shared, CoVisible): over the views where both cover at least
    /// <see cref="PairMinViewFraction"/> of the view, CoVisible sums min(pixels of a, pixels of b) and Shared sums, per
    /// input-mask object segment (id > 0), min(pixels of a, pixels of b) in that segment. Shared / CoVisible is near 1
    /// when the masks put the two codes in one object whenever a view shows both (the halves of one object), and near
    /// the segmenter's merge rate for two touching objects. Unlike <see cref="Absorbed"/> it is not diluted by the
    /// views that show only one of them.
    /// </summary>
    public IReadOnlyDictionary<(int A, int B), (long Shared, long CoVisible)> Pairs => pairs;

    /// <summary>A code takes part in a view's pairs when it covers at least this share of the view.</summary>
    public const double PairMinViewFraction = 0.001;

    /// <summary>One view's pixel codes (row-major, <paramref name="width"/> per row; 0: not known, so no
    /// <see cref="Interior"/>) and, if known, its input mask (same size, 0 = background).</summary>
    public static CodeStatistics OfView(int[] codes, int[]? mask, int width = 0, float[]? points = null, float[]? depth = null)
    {
        var s = new CodeStatistics();
        s.AddView(codes, mask, width, points, depth);
        return s;
    }

    /// <summary>Adds one view: its pixel codes (row-major), its input mask if known, its width (0: not known, so no
    /// pixel counts towards <see cref="Interior"/>) and, if known, the world point each pixel shows (x, y, z per pixel;
    /// NaN where the pixel shows no surface) for <see cref="Surface"/>, and its depth along the optical axis (NaN where
    /// none) for <see cref="Occlusion"/>.</summary>
    public void AddView(int[] codes, int[]? mask, int width = 0, float[]? points = null, float[]? depth = null)
    {
        ArgumentNullException.ThrowIfNull(codes);
        if (mask is not null && mask.Length != codes.Length)
            throw new ArgumentException($"{codes.Length} code pixels but the mask has {mask.Length}.", nameof(mask));
        if (points is not null && points.Length != 3L * codes.Length)
            throw new ArgumentException($"{codes.Length} code pixels but {points.Length} point coordinates (expected 3 per pixel).", nameof(points));
        if (depth is not null && depth.Length != codes.Length)
            throw new ArgumentException($"{codes.Length} code pixels but {depth.Length} depths.", nameof(depth));
        if (width < 0 || (width > 0 && codes.Length % width != 0))
            throw new ArgumentException($"{codes.Length} code pixels are no whole number of rows of width {width}.", nameof(width));
        Pixels += codes.Length;
        var inView = new Dictionary<int, long>(); // this view's area per code: added to the scene's, and what it shows
        for (int i = 0; i < codes.Length; i++)
        {
            LabelCodebook.Add(inView, codes[i]);
            if (mask is not null && mask[i] == 0) LabelCodebook.Add(backgroundVotes, codes[i]);
        }
        if (width > 0) AddInterior(codes, width);
        if (points is not null) AddSurface(codes, points, width);
        if (depth is not null && width > 0) AddOcclusion(codes, depth, width);
        foreach (var (c, n) in inView) LabelCodebook.Add(area, c, n);
        // The codes this view shows (at least PairMinViewFraction of it), ascending: they make its border entry and its pairs.
        long minPixels = Math.Max(1, (long)(PairMinViewFraction * codes.Length));
        var present = inView.Where(kv => kv.Value >= minPixels).Select(kv => kv.Key).Order().ToArray();
        if (width > 0) AddBorder(codes, width, present);
        if (mask is null) return;
        var perSegment = new Dictionary<(int Segment, int Code), long>();
        for (int i = 0; i < codes.Length; i++)
            if (mask[i] >= 0) perSegment[(mask[i], codes[i])] = perSegment.GetValueOrDefault((mask[i], codes[i])) + 1;
        var dominant = new Dictionary<int, (int Code, long Pixels)>();
        foreach (var ((segment, code), n) in perSegment)
            if (!dominant.TryGetValue(segment, out var d) || n > d.Pixels || (n == d.Pixels && code < d.Code)) dominant[segment] = (code, n);
        foreach (var ((segment, code), n) in perSegment)
        {
            int into = dominant[segment].Code;
            if (into != code) absorbed[(code, into)] = absorbed.GetValueOrDefault((code, into)) + n;
        }

        for (int x = 0; x < present.Length; x++)
            for (int y = x + 1; y < present.Length; y++)
            {
                int a = present[x], b = present[y];
                long shared = 0;
                foreach (var segment in dominant.Keys)
                    if (segment > 0) shared += Math.Min(perSegment.GetValueOrDefault((segment, a)), perSegment.GetValueOrDefault((segment, b)));
                var (sh, co) = pairs.GetValueOrDefault((a, b));
                pairs[(a, b)] = (sh + shared, co + Math.Min(inView[a], inView[b]));
            }
    }

    // Interior pixels only (all four neighbours carry the code; every pixel when the width is not known): a pixel on a
    // code's edge blends it with what lies behind, and its expected depth puts it in the air between the two.
    private void AddSurface(int[] codes, float[] points, int width)
    {
        // Summed per run of one code along the rows, then per code: a dictionary update per run, not per pixel.
        int height = width > 0 ? codes.Length / width : 0;
        int runCode = 0;
        var run = default(SurfaceMoments);
        for (int i = 0; i < codes.Length; i++)
        {
            int c = codes[i];
            if (width > 0 && !IsInterior(codes, width, height, i % width, i / width)) continue;
            float x = points[3 * i], y = points[3 * i + 1], z = points[3 * i + 2];
            if (!float.IsFinite(x) || !float.IsFinite(y) || !float.IsFinite(z)) continue;
            if (c != runCode && run.N > 0)
            {
                surface[runCode] = surface.GetValueOrDefault(runCode) + run;
                run = default;
            }
            runCode = c;
            run += SurfaceMoments.Point(x, y, z);
        }
        if (run.N > 0) surface[runCode] = surface.GetValueOrDefault(runCode) + run;
    }

    // Across each edge between two codes (4-neighbours), the depths one pixel further in on each side where that pixel
    // still carries its side's code: the edge pixels themselves blend both sides.
    private void AddOcclusion(int[] codes, float[] depth, int width)
    {
        int height = codes.Length / width;
        void Edge(int i, int j, int before, int after)
        {
            int a = codes[i], b = codes[j];
            if (a == b) return;
            float da = before >= 0 && codes[before] == a ? depth[before] : depth[i];
            float db = after >= 0 && codes[after] == b ? depth[after] : depth[j];
            if (!float.IsFinite(da) || !float.IsFinite(db)) return;
            if (da < (1 - DepthJump) * db) Count(a, b);
            else if (db < (1 - DepthJump) * da) Count(b, a);
        }
        void Count(int front, int behind)
        {
            CountOcclusion(front, 1, 0);
            CountOcclusion(behind, 0, 1);
        }
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                if (x + 1 < width) Edge(i, i + 1, x > 0 ? i - 1 : -1, x + 2 < width ? i + 2 : -1);
                if (y + 1 < height) Edge(i, i + width, y > 0 ? i - width : -1, y + 2 < height ? i + 2 * width : -1);
            }
    }

    /// <summary>This view's <see cref="BorderViews"/> entry: of the codes it shows (<paramref name="shown"/>, ascending),
    /// those on the image's outermost ring of pixels.</summary>
    private void AddBorder(int[] codes, int width, int[] shown)
    {
        int height = codes.Length / width;
        var ring = new HashSet<int>();
        for (int x = 0; x < width; x++) { ring.Add(codes[x]); ring.Add(codes[(height - 1) * width + x]); }
        for (int y = 0; y < height; y++) { ring.Add(codes[y * width]); ring.Add(codes[y * width + width - 1]); }
        borderViews.Add(new ViewBorder(shown, shown.Where(ring.Contains).ToArray()));
    }

    private void CountOcclusion(int code, long front, long behind)
    {
        var o = occlusion.GetValueOrDefault(code);
        occlusion[code] = (o.Front + front, o.Behind + behind);
    }

    private void AddInterior(int[] codes, int width)
    {
        int height = codes.Length / width;
        for (int y = 0; y < height; y++)
        {
            int row = y * width;
            for (int x = 0; x < width; x++)
                if (IsInterior(codes, width, height, x, y)) LabelCodebook.Add(interior, codes[row + x]);
        }
    }

    /// <summary>Whether pixel (x, y)'s four neighbours carry its code (a neighbour outside the image counts as the same).</summary>
    private static bool IsInterior(int[] codes, int width, int height, int x, int y)
    {
        int i = y * width + x, c = codes[i];
        return (x == 0 || codes[i - 1] == c) && (x == width - 1 || codes[i + 1] == c)
            && (y == 0 || codes[i - width] == c) && (y == height - 1 || codes[i + width] == c);
    }

    public void Add(CodeStatistics other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Pixels += other.Pixels;
        foreach (var (c, n) in other.area) LabelCodebook.Add(area, c, n);
        foreach (var (c, n) in other.backgroundVotes) LabelCodebook.Add(backgroundVotes, c, n);
        foreach (var (c, n) in other.interior) LabelCodebook.Add(interior, c, n);
        foreach (var (c, m) in other.surface) surface[c] = surface.GetValueOrDefault(c) + m;
        foreach (var (c, (f, b)) in other.occlusion) CountOcclusion(c, f, b);
        borderViews.AddRange(other.borderViews);
        foreach (var (k, n) in other.absorbed) absorbed[k] = absorbed.GetValueOrDefault(k) + n;
        foreach (var (k, (sh, co)) in other.pairs)
        {
            var (s0, c0) = pairs.GetValueOrDefault(k);
            pairs[k] = (s0 + sh, c0 + co);
        }
    }

    /// <summary><see cref="Pairs"/> as flat arrays ordered by (a, b), for messages and files.</summary>
    public (int[] A, int[] B, long[] Shared, long[] CoVisible) PairsToArrays()
    {
        var keys = pairs.Keys.OrderBy(k => k.A).ThenBy(k => k.B).ToArray();
        return (keys.Select(k => k.A).ToArray(), keys.Select(k => k.B).ToArray(), keys.Select(k => pairs[k].Shared).ToArray(),
            keys.Select(k => pairs[k].CoVisible).ToArray());
    }

    /// <summary>Adds a <see cref="PairsToArrays"/> table; throws naming the first inconsistent entry.</summary>
    public CodeStatistics WithPairs(int[] a, int[] b, long[] shared, long[] coVisible)
    {
        if (a.Length != b.Length || a.Length != shared.Length || a.Length != coVisible.Length)
            throw new ArgumentException($"code statistics: {a.Length} and {b.Length} pair codes, {shared.Length} shared and {coVisible.Length} co-visible counts; expected equal counts.");
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] >= b[i] || shared[i] < 0 || shared[i] > coVisible[i])
                throw new ArgumentException($"code statistics: pair ({a[i]}, {b[i]}) with {shared[i]} shared of {coVisible[i]} co-visible pixels (expected a < b and 0 <= shared <= co-visible).");
            var (s0, c0) = pairs.GetValueOrDefault((a[i], b[i]));
            pairs[(a[i], b[i])] = (s0 + shared[i], c0 + coVisible[i]);
        }
        return this;
    }

    /// <summary><see cref="Interior"/> of each of <paramref name="codes"/> (0 when none), aligned with them: with the codes of
    /// <see cref="ToArrays"/>, for messages and files.</summary>
    public long[] InteriorOf(IReadOnlyList<int> codes) => codes.Select(c => interior.GetValueOrDefault(c)).ToArray();

    /// <summary>Adds an <see cref="InteriorOf"/> table of the given codes; throws naming the first inconsistent entry
    /// (a code with more interior pixels than its area).</summary>
    public CodeStatistics WithInterior(int[] codes, long[] interiorPixels)
    {
        if (codes.Length != interiorPixels.Length)
            throw new ArgumentException($"code statistics: {codes.Length} codes but {interiorPixels.Length} interior counts; expected equal counts.");
        for (int i = 0; i < codes.Length; i++)
        {
            long have = area.GetValueOrDefault(codes[i]), now = interior.GetValueOrDefault(codes[i]) + interiorPixels[i];
            if (interiorPixels[i] < 0 || now > have)
                throw new ArgumentException($"code statistics: code {codes[i]} has {interiorPixels[i]} interior pixels (its area is {have}; expected 0 <= interior <= area).");
            if (interiorPixels[i] > 0) interior[codes[i]] = now;
        }
        return this;
    }

    /// <summary><see cref="Surface"/> of each of <paramref name="codes"/> (zeros when none), <see cref="SurfaceMoments.Length"/>
    /// values per code aligned with them: with the codes of <see cref="ToArrays"/>, for messages and files.</summary>
    public double[] SurfaceOf(IReadOnlyList<int> codes)
    {
        var result = new double[codes.Count * SurfaceMoments.Length];
        for (int i = 0; i < codes.Count; i++) surface.GetValueOrDefault(codes[i]).CopyTo(result, i * SurfaceMoments.Length);
        return result;
    }

    /// <summary>Adds a <see cref="SurfaceOf"/> table of the given codes; throws naming the first inconsistent entry (a count
    /// that is negative, not whole, or more than the code's area, or a value that is not finite).</summary>
    public CodeStatistics WithSurface(int[] codes, double[] moments)
    {
        if (moments.Length != codes.Length * SurfaceMoments.Length)
            throw new ArgumentException($"code statistics: {codes.Length} codes but {moments.Length} surface values; expected {SurfaceMoments.Length} per code.");
        for (int i = 0; i < codes.Length; i++)
        {
            var m = SurfaceMoments.FromArray(moments, i * SurfaceMoments.Length);
            if (m.N == 0) continue;
            long have = area.GetValueOrDefault(codes[i]);
            if (m.N < 0 || m.N != Math.Floor(m.N) || m.N > have || !moments.Skip(i * SurfaceMoments.Length).Take(SurfaceMoments.Length).All(double.IsFinite))
                throw new ArgumentException($"code statistics: code {codes[i]} has {m.N} surface points (its area is {have}; expected a whole count <= area, finite sums).");
            surface[codes[i]] = surface.GetValueOrDefault(codes[i]) + m;
        }
        return this;
    }

    /// <summary><see cref="Occlusion"/> of each of <paramref name="codes"/> (0 when none), aligned with them: with the codes
    /// of <see cref="ToArrays"/>, for messages and files.</summary>
    public (long[] Front, long[] Behind) OcclusionOf(IReadOnlyList<int> codes) =>
        (codes.Select(c => occlusion.GetValueOrDefault(c).Front).ToArray(), codes.Select(c => occlusion.GetValueOrDefault(c).Behind).ToArray());

    /// <summary>Adds an <see cref="OcclusionOf"/> table of the given codes; throws naming the first negative count.</summary>
    public CodeStatistics WithOcclusion(int[] codes, long[] front, long[] behind)
    {
        if (front.Length != codes.Length || behind.Length != codes.Length)
            throw new ArgumentException($"code statistics: {codes.Length} codes but {front.Length} front and {behind.Length} behind counts; expected equal counts.");
        for (int i = 0; i < codes.Length; i++)
        {
            if (front[i] < 0 || behind[i] < 0)
                throw new ArgumentException($"code statistics: code {codes[i]} is in front {front[i]} and behind {behind[i]} times (expected counts >= 0).");
            if (front[i] == 0 && behind[i] == 0) continue;
            CountOcclusion(codes[i], front[i], behind[i]);
        }
        return this;
    }

    /// <summary>The one view's <see cref="BorderViews"/> entry per code of <paramref name="codes"/> (0: not counted, 1: seen,
    /// 2: seen and reaching the border), for messages; null when no view was added with its width. A statistic of several
    /// views has no such per-code form.</summary>
    public int[]? BorderOf(IReadOnlyList<int> codes)
    {
        if (borderViews.Count == 0) return null;
        if (borderViews.Count > 1) throw new InvalidOperationException($"the border flags are one view's; this statistic holds {borderViews.Count} views.");
        var v = borderViews[0];
        return codes.Select(c => Array.BinarySearch(v.Seen, c) < 0 ? 0 : v.Touching.Contains(c) ? 2 : 1).ToArray();
    }

    /// <summary>Adds one view's <see cref="BorderOf"/> flags for the given codes; throws naming the first bad entry.</summary>
    public CodeStatistics WithBorder(int[] codes, int[] flags)
    {
        if (codes.Length != flags.Length)
            throw new ArgumentException($"code statistics: {codes.Length} codes but {flags.Length} border flags; expected equal counts.");
        for (int i = 0; i < codes.Length; i++)
            if (flags[i] is < 0 or > 2 || (flags[i] > 0 && area.GetValueOrDefault(codes[i]) == 0))
                throw new ArgumentException($"code statistics: code {codes[i]} has border flag {flags[i]} (expected 0, 1 or 2, and a code with pixels when not 0).");
        var seen = codes.Where((_, i) => flags[i] > 0).Order().ToArray();
        borderViews.Add(new ViewBorder(seen, codes.Where((_, i) => flags[i] == 2).Order().ToArray()));
        return this;
    }

    /// <summary><see cref="Absorbed"/> as flat arrays (ordered by code, then by the absorbing code), for messages and files.</summary>
    public (int[] Codes, int[] Into, long[] Pixels) AbsorbedToArrays()
    {
        var keys = absorbed.Keys.OrderBy(k => k.Code).ThenBy(k => k.Into).ToArray();
        return (keys.Select(k => k.Code).ToArray(), keys.Select(k => k.Into).ToArray(), keys.Select(k => absorbed[k]).ToArray());
    }

    /// <summary><see cref="FromArrays(int[], long[], long[], long)"/> plus the <see cref="Absorbed"/> table of <see cref="AbsorbedToArrays"/>.</summary>
    public static CodeStatistics FromArrays(int[] codes, long[] areas, long[] backgroundVotes, long pixels,
        int[] absorbedCodes, int[] absorbedInto, long[] absorbedPixels)
    {
        var s = FromArrays(codes, areas, backgroundVotes, pixels);
        if (absorbedCodes.Length != absorbedInto.Length || absorbedCodes.Length != absorbedPixels.Length)
            throw new ArgumentException($"code statistics: {absorbedCodes.Length} absorbed codes, {absorbedInto.Length} absorbing codes, {absorbedPixels.Length} pixel counts; expected equal counts.");
        var absorbedTotal = new Dictionary<int, long>();
        for (int i = 0; i < absorbedCodes.Length; i++)
        {
            int c = absorbedCodes[i];
            long have = s.area.GetValueOrDefault(c);
            absorbedTotal[c] = absorbedTotal.GetValueOrDefault(c) + absorbedPixels[i];
            if (absorbedPixels[i] < 0 || absorbedInto[i] == c || absorbedTotal[c] > have)
                throw new ArgumentException($"code statistics: code {c} absorbed into {absorbedInto[i]} with {absorbedPixels[i]} pixels (its area is {have}; expected a total absorbed <= area, into another code).");
            s.absorbed[(c, absorbedInto[i])] = s.absorbed.GetValueOrDefault((c, absorbedInto[i])) + absorbedPixels[i];
        }
        return s;
    }

    /// <summary>Codes ascending with their area and background votes (0 when none), for messages and files.</summary>
    public (int[] Codes, long[] Area, long[] BackgroundVotes, long Pixels) ToArrays()
    {
        var codes = area.Keys.Order().ToArray();
        return (codes, codes.Select(c => area[c]).ToArray(), codes.Select(c => backgroundVotes.GetValueOrDefault(c)).ToArray(), Pixels);
    }

    public static CodeStatistics FromArrays(int[] codes, long[] areas, long[] backgroundVotes, long pixels)
    {
        if (codes.Length != areas.Length || codes.Length != backgroundVotes.Length)
            throw new ArgumentException($"code statistics: {codes.Length} codes, {areas.Length} areas, {backgroundVotes.Length} background votes; expected equal counts.");
        var s = new CodeStatistics { Pixels = pixels };
        for (int i = 0; i < codes.Length; i++)
        {
            if (areas[i] < 0 || backgroundVotes[i] < 0 || backgroundVotes[i] > areas[i])
                throw new ArgumentException($"code statistics: code {codes[i]} has area {areas[i]} and {backgroundVotes[i]} background votes.");
            LabelCodebook.Add(s.area, codes[i], areas[i]);
            if (backgroundVotes[i] > 0) LabelCodebook.Add(s.backgroundVotes, codes[i], backgroundVotes[i]);
        }
        return s;
    }
}
