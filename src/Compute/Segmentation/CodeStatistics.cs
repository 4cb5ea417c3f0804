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
    public static CodeStatistics OfView(int[] codes, int[]? mask, int width = 0)
    {
        var s = new CodeStatistics();
        s.AddView(codes, mask, width);
        return s;
    }

    /// <summary>Adds one view: its pixel codes (row-major), its input mask if known, and its width (0: not known, so no
    /// pixel counts towards <see cref="Interior"/>).</summary>
    public void AddView(int[] codes, int[]? mask, int width = 0)
    {
        ArgumentNullException.ThrowIfNull(codes);
        if (mask is not null && mask.Length != codes.Length)
            throw new ArgumentException($"{codes.Length} code pixels but the mask has {mask.Length}.", nameof(mask));
        if (width < 0 || (width > 0 && codes.Length % width != 0))
            throw new ArgumentException($"{codes.Length} code pixels are no whole number of rows of width {width}.", nameof(width));
        Pixels += codes.Length;
        var inView = new Dictionary<int, long>(); // this view's area per code: added to the scene's, and used for pairs
        for (int i = 0; i < codes.Length; i++)
        {
            LabelCodebook.Add(inView, codes[i]);
            if (mask is not null && mask[i] == 0) LabelCodebook.Add(backgroundVotes, codes[i]);
        }
        if (width > 0) AddInterior(codes, width);
        foreach (var (c, n) in inView) LabelCodebook.Add(area, c, n);
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

        long minPixels = Math.Max(1, (long)(PairMinViewFraction * codes.Length));
        var present = inView.Where(kv => kv.Value >= minPixels).Select(kv => kv.Key).Order().ToArray();
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

    private void AddInterior(int[] codes, int width)
    {
        int height = codes.Length / width;
        for (int y = 0; y < height; y++)
        {
            int row = y * width;
            for (int x = 0; x < width; x++)
            {
                int i = row + x, c = codes[i];
                if ((x == 0 || codes[i - 1] == c) && (x == width - 1 || codes[i + 1] == c)
                    && (y == 0 || codes[i - width] == c) && (y == height - 1 || codes[i + width] == c))
                    LabelCodebook.Add(interior, c);
            }
        }
    }

    public void Add(CodeStatistics other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Pixels += other.Pixels;
        foreach (var (c, n) in other.area) LabelCodebook.Add(area, c, n);
        foreach (var (c, n) in other.backgroundVotes) LabelCodebook.Add(backgroundVotes, c, n);
        foreach (var (c, n) in other.interior) LabelCodebook.Add(interior, c, n);
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
