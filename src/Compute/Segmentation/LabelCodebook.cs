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
        options ??= CodebookOptions.Default;
        if (viewMasks is not null && viewMasks.Count != viewCodes.Count)
            throw new ArgumentException($"LabelCodebook: {viewCodes.Count} views of codes but {viewMasks.Count} masks.", nameof(viewMasks));

        var area = new Dictionary<int, long>();
        var backgroundVotes = new Dictionary<int, long>();
        long total = 0;
        for (int v = 0; v < viewCodes.Count; v++)
        {
            var codes = viewCodes[v];
            var mask = viewMasks?[v];
            if (mask is not null && mask.Length != codes.Length)
                throw new ArgumentException($"LabelCodebook: view {v} has {codes.Length} code pixels but its mask has {mask.Length}.", nameof(viewMasks));
            total += codes.Length;
            for (int i = 0; i < codes.Length; i++)
            {
                Add(area, codes[i]);
                if (mask is not null && mask[i] == 0) Add(backgroundVotes, codes[i]);
            }
        }
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

    private static void Add(Dictionary<int, long> counts, int key) => counts[key] = counts.TryGetValue(key, out long c) ? c + 1 : 1;

    private static int ArgMax(Dictionary<int, long> counts) =>
        counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
}
