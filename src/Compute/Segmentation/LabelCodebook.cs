namespace UniCLift.Compute.Segmentation;

using System.Numerics;

/// <summary>Which decoded code becomes the background (compact id 0).</summary>
public enum BackgroundSelection
{
    /// <summary>
    /// The code covering the most pixels that the input 2D masks call 0, summed over all views (default).
    /// Falls back to <see cref="LargestSegment"/> when no masks are given or no mask has a 0 pixel.
    /// </summary>
    MaskBackground,

    /// <summary>The code with the largest scene-wide pixel area.</summary>
    LargestSegment,

    /// <summary>No background: every kept code gets an id from 1.</summary>
    None,
}

/// <summary>Options of <see cref="LabelCodebook.Build"/>.</summary>
public sealed record CodebookOptions
{
    public BackgroundSelection Background { get; init; } = BackgroundSelection.MaskBackground;

    /// <summary>
    /// Codes whose scene-wide pixel area is below max(MinCodePixels, MinCodeFraction * all pixels) are dropped:
    /// they are mostly boundary pixels blended between two hypercube corners. Dropped pixels take a neighbouring
    /// label in <see cref="LabelCodebook.MapView"/>; dropped Gaussians take the nearest kept code (Hamming).
    /// </summary>
    public double MinCodeFraction { get; init; } = 0.001;
    public long MinCodePixels { get; init; }

    public static CodebookOptions Default { get; } = new();
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

    public LabelCodebook(int[] codes, int? backgroundCode)
    {
        Codes = codes;
        BackgroundCode = backgroundCode;
        if (backgroundCode is int b) ids[b] = 0;
        for (int i = 0; i < codes.Length; i++)
            if (!ids.TryAdd(codes[i], i + 1))
                throw new ArgumentException($"LabelCodebook: code {codes[i]} appears twice (or is also the background).", nameof(codes));
    }

    /// <summary>Kept codes; Codes[id - 1] is the code with compact id id.</summary>
    public int[] Codes { get; }
    public int? BackgroundCode { get; }
    public int InstanceCount => Codes.Length;

    /// <summary>
    /// Builds the codebook of a scene. <paramref name="viewCodes"/>: per view the decoded pixel codes (row-major);
    /// <paramref name="viewMasks"/>: optional input 2D masks of the same views and sizes (0 = background);
    /// <paramref name="gaussianCodes"/>: optional per-Gaussian codes, kept even if no pixel shows them
    /// (their area counts only when there are no views at all).
    /// </summary>
    public static LabelCodebook Build(IReadOnlyList<int[]> viewCodes, IReadOnlyList<int[]>? viewMasks = null,
        int[]? gaussianCodes = null, CodebookOptions? options = null)
    {
        if (viewMasks is not null && viewMasks.Count != viewCodes.Count)
            throw new ArgumentException($"LabelCodebook: {viewCodes.Count} views of codes but {viewMasks.Count} masks.", nameof(viewMasks));
        var statistics = new CodeStatistics();
        for (int v = 0; v < viewCodes.Count; v++)
        {
            try { statistics.AddView(viewCodes[v], viewMasks?[v]); }
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
        var gaussianOnly = new HashSet<int>();
        if (gaussianCodes is not null)
            foreach (var c in gaussianCodes)
            {
                if (total == 0) Add(area, c);
                else if (!area.ContainsKey(c)) gaussianOnly.Add(c);
            }
        long areaTotal = total > 0 ? total : gaussianCodes?.Length ?? 0;

        int? background = options.Background switch
        {
            BackgroundSelection.None => null,
            BackgroundSelection.MaskBackground when backgroundVotes.Count > 0 => ArgMax(backgroundVotes),
            _ => area.Count > 0 ? ArgMax(area) : null,
        };

        double minArea = Math.Max(options.MinCodePixels, options.MinCodeFraction * areaTotal);
        var kept = area.Where(kv => kv.Key != background && kv.Value >= minArea)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Select(kv => kv.Key)
            .Concat(gaussianOnly.Where(c => c != background).OrderBy(c => c))
            .ToArray();
        return new LabelCodebook(kept, background);
    }

    /// <summary>Compact id of a code known to the codebook (0 = background), or null for a dropped / unknown code.</summary>
    public int? TryGetId(int code) => ids.TryGetValue(code, out int id) ? id : null;

    /// <summary>
    /// Compact id of any code: known codes map directly; dropped or unknown codes map to the known code with the
    /// smallest Hamming distance (ties: smaller id), i.e. the nearest hypercube corner that is an instance.
    /// </summary>
    public int NearestId(int code)
    {
        if (ids.TryGetValue(code, out int id)) return id;
        int best = -1, bestDistance = int.MaxValue;
        foreach (var (c, i) in ids)
        {
            int d = BitOperations.PopCount((uint)(c ^ code));
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

/// <summary>
/// What the codebook needs to know about a scene's decoded views: per code its pixel area and how many of those
/// pixels the input mask calls background (0). Built per view and merged, so views decoded on different machines
/// contribute a few numbers each instead of their pixels. Flat arrays round-trip through <see cref="ToArrays"/>.
/// </summary>
public sealed class CodeStatistics
{
    private readonly Dictionary<int, long> area = new(), backgroundVotes = new();

    public IReadOnlyDictionary<int, long> Area => area;
    public IReadOnlyDictionary<int, long> BackgroundVotes => backgroundVotes;
    /// <summary>All pixels counted (every view's width x height).</summary>
    public long Pixels { get; private set; }

    /// <summary>One view's pixel codes (row-major) and, if known, its input mask (same size, 0 = background).</summary>
    public static CodeStatistics OfView(int[] codes, int[]? mask)
    {
        var s = new CodeStatistics();
        s.AddView(codes, mask);
        return s;
    }

    public void AddView(int[] codes, int[]? mask)
    {
        ArgumentNullException.ThrowIfNull(codes);
        if (mask is not null && mask.Length != codes.Length)
            throw new ArgumentException($"{codes.Length} code pixels but the mask has {mask.Length}.", nameof(mask));
        Pixels += codes.Length;
        for (int i = 0; i < codes.Length; i++)
        {
            LabelCodebook.Add(area, codes[i]);
            if (mask is not null && mask[i] == 0) LabelCodebook.Add(backgroundVotes, codes[i]);
        }
    }

    public void Add(CodeStatistics other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Pixels += other.Pixels;
        foreach (var (c, n) in other.area) LabelCodebook.Add(area, c, n);
        foreach (var (c, n) in other.backgroundVotes) LabelCodebook.Add(backgroundVotes, c, n);
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
