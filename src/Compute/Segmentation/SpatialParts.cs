namespace UniCLift.Compute.Segmentation;

using System.Numerics;
using UniCLift.Compute.Scenes;

/// <summary>Options of <see cref="SpatialParts"/>.</summary>
public sealed record SpatialSplitOptions
{
    public static readonly SpatialSplitOptions Default = new();

    /// <summary>Cell size of the occupancy grid over which a code's Gaussians are connected, as a share of the scene's
    /// size (the diagonal of the box holding the central 96% of the Gaussians on each axis): Gaussians of one code
    /// whose cells do not touch, directly or through others, are apart by at least this much.</summary>
    public double LinkFraction { get; init; } = 0.03;
    /// <summary>Only Gaussians at least this opaque (sigmoid of the logit) make cells: faint ones do not bridge gaps.</summary>
    public double MinOpacity { get; init; } = 0.1;
    /// <summary>A connected piece is a part of its own when it holds at least this many of the code's Gaussians...</summary>
    public int MinGaussians { get; init; } = 20;
    /// <summary>...and at least this share of them; smaller pieces go with the nearest part.</summary>
    public double MinShare { get; init; } = 0.05;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first knob out of range; returns this.</summary>
    public SpatialSplitOptions Validate()
    {
        if (!(LinkFraction > 0 && LinkFraction < 1)) throw new ArgumentException($"SpatialSplit.LinkFraction must lie in (0, 1), got {LinkFraction}.");
        if (!(MinOpacity >= 0 && MinOpacity < 1)) throw new ArgumentException($"SpatialSplit.MinOpacity must lie in [0, 1), got {MinOpacity}.");
        if (MinGaussians < 1) throw new ArgumentException($"SpatialSplit.MinGaussians must be at least 1, got {MinGaussians}.");
        if (!(MinShare >= 0 && MinShare < 1)) throw new ArgumentException($"SpatialSplit.MinShare must lie in [0, 1), got {MinShare}.");
        return this;
    }
}

/// <summary>
/// Codes shared by objects that are apart in space. The contrastive loss pushes apart only segments that a view shows
/// together, so in a scan from within a room, where most pairs of objects never share a view, two objects can settle
/// on the same hypercube corner (or one bit apart) by chance: with 12 objects, about one pair in five lands within one
/// bit of another. Thresholding alone then gives them one instance id. Here each code's Gaussians are grouped into
/// connected pieces on an occupancy grid (cells of <see cref="SpatialSplitOptions.LinkFraction"/> of the scene), and a
/// code whose Gaussians form two or more sizeable pieces is split: part k of code c becomes the code
/// <c>c | k &lt;&lt; <see cref="PartShift"/></c> (part 0 keeps c). A pixel of a split code takes the part nearest to
/// the point its rendered depth puts it at; a Gaussian the part of its cell. Everything after (code statistics, the
/// codebook's merges, fragment cleanup) works on these codes as on any other, and measures code distances on the
/// embedding bits only (<see cref="Distance"/>), so the piece of an object that shares a neighbour's code can still
/// join it. A pure function of the model: a view grain and the coordinator build the same parts from model.ply.
/// </summary>
public sealed class SpatialParts
{
    /// <summary>Part bits start here: embeddings of up to 28 dimensions keep their codes below.</summary>
    public const int PartShift = 28;
    public const int BaseMask = (1 << PartShift) - 1;
    /// <summary>At most this many parts per code (three part bits; a code with more pieces keeps its largest).</summary>
    public const int MaxParts = 7;
    private const int SearchRings = 2;

    public static readonly SpatialParts None = new(0, new(), new());

    private readonly double cell;
    /// <summary>(code, cell) -> part, for the split codes' occupied cells.</summary>
    private readonly Dictionary<(int Code, long Cell), int> cells;
    /// <summary>Split code -> its parts' centroids (index = part).</summary>
    private readonly Dictionary<int, (double X, double Y, double Z)[]> centroids;

    private SpatialParts(double cell, Dictionary<(int, long), int> cells, Dictionary<int, (double, double, double)[]> centroids)
    {
        this.cell = cell;
        this.cells = cells;
        this.centroids = centroids;
    }

    /// <summary>The codes split, each with its number of parts.</summary>
    public IReadOnlyDictionary<int, int> SplitCodes => centroids.ToDictionary(kv => kv.Key, kv => kv.Value.Length);
    public bool IsEmpty => centroids.Count == 0;
    /// <summary>The grid's cell size in scene units (0 when nothing could be measured).</summary>
    public double CellSize => cell;

    /// <summary>The embedding bits of a (possibly split) code.</summary>
    public static int BaseCode(int code) => code & BaseMask;
    /// <summary>The part of a code (0: unsplit, or the largest part).</summary>
    public static int Part(int code) => code >>> PartShift;
    /// <summary>Hamming distance between the embedding bits of two codes (the part bits say where, not what).</summary>
    public static int Distance(int a, int b) => BitOperations.PopCount((uint)((a ^ b) & BaseMask));

    /// <summary>
    /// The parts of a model: <paramref name="means"/> [N*3], <paramref name="opacityLogits"/> [N], <paramref name="codes"/>
    /// [N] its Gaussians' codes (<see cref="EmbeddingDecoder.DecodeGaussians"/>).
    /// </summary>
    public static SpatialParts Build(float[] means, float[] opacityLogits, int[] codes, SpatialSplitOptions? options = null)
    {
        options = (options ?? SpatialSplitOptions.Default).Validate();
        int n = codes.Length;
        if (means.Length != 3L * n || opacityLogits.Length != n)
            throw new ArgumentException($"SpatialParts: {means.Length / 3} means and {opacityLogits.Length} opacities for {n} codes.");
        if (codes.Any(c => c < 0 || c > BaseMask)) return None; // embeddings too wide to leave room for part bits
        var used = OccupancyGrid.Opaque(means, opacityLogits, options.MinOpacity);
        if (used.Count < 2 * options.MinGaussians) return None;
        double size = OccupancyGrid.CellSize(means, used, options.LinkFraction);
        if (!(size > 0) || !double.IsFinite(size)) return None;

        var cellsOut = new Dictionary<(int, long), int>();
        var centroidsOut = new Dictionary<int, (double, double, double)[]>();
        foreach (var group in used.GroupBy(i => codes[i]))
        {
            var members = group.ToArray();
            if (members.Length < 2 * options.MinGaussians) continue;
            // Occupied cells and their Gaussians; components over the 26-neighbourhood.
            var cellOf = new Dictionary<long, int>(); // cell -> index
            var cellCount = new List<int>();
            var cellKeys = new List<long>();
            var memberCell = new int[members.Length];
            for (int m = 0; m < members.Length; m++)
            {
                long key = OccupancyGrid.Key(means, members[m], size);
                if (!cellOf.TryGetValue(key, out int ci))
                {
                    cellOf[key] = ci = cellKeys.Count;
                    cellKeys.Add(key);
                    cellCount.Add(0);
                }
                cellCount[ci]++;
                memberCell[m] = ci;
            }
            var pieces = OccupancyGrid.Pieces(cellKeys, cellOf, cellCount); // by size
            int big = pieces.TakeWhile(p => p.Count >= options.MinGaussians && p.Count >= options.MinShare * members.Length).Count();
            big = Math.Min(big, MaxParts + 1);
            if (big < 2) continue;
            // Centroids of the parts, from their Gaussians.
            var pieceOf = new int[cellKeys.Count];
            for (int p = 0; p < pieces.Count; p++) foreach (var ci in pieces[p].Cells) pieceOf[ci] = p;
            var sums = new (double X, double Y, double Z, int N)[pieces.Count];
            for (int m = 0; m < members.Length; m++)
            {
                int p = pieceOf[memberCell[m]], i = members[m];
                sums[p] = (sums[p].X + means[3 * i], sums[p].Y + means[3 * i + 1], sums[p].Z + means[3 * i + 2], sums[p].N + 1);
            }
            var centre = sums.Select(s => (s.X / s.N, s.Y / s.N, s.Z / s.N)).ToArray();
            var parts = centre[..big];
            // Every piece's cells map to a part: the big ones to themselves, the small ones to the nearest big one.
            for (int p = 0; p < pieces.Count; p++)
            {
                int part = p < big ? p : Nearest(parts, centre[p]);
                foreach (var ci in pieces[p].Cells) cellsOut[(group.Key, cellKeys[ci])] = part;
            }
            centroidsOut[group.Key] = parts;
        }
        return new SpatialParts(size, cellsOut, centroidsOut);
    }

    /// <summary>The part of split code <paramref name="code"/> at a point: the part of the nearest occupied cell within
    /// two cells, else the part whose centroid is nearest.</summary>
    public int PartAt(int code, double x, double y, double z)
    {
        if (!centroids.TryGetValue(code, out var parts)) return 0;
        if (!double.IsFinite(x) || !double.IsFinite(y) || !double.IsFinite(z)) return 0;
        long cx = OccupancyGrid.Coordinate(x, cell), cy = OccupancyGrid.Coordinate(y, cell), cz = OccupancyGrid.Coordinate(z, cell);
        for (int r = 0; r <= SearchRings; r++)
        {
            int best = -1;
            double bestDistance = double.MaxValue;
            for (long dx = -r; dx <= r; dx++)
            for (long dy = -r; dy <= r; dy++)
            for (long dz = -r; dz <= r; dz++)
            {
                if (Math.Max(Math.Abs(dx), Math.Max(Math.Abs(dy), Math.Abs(dz))) != r) continue; // the shell of ring r
                if (!cells.TryGetValue((code, OccupancyGrid.Pack(cx + dx, cy + dy, cz + dz)), out int part)) continue;
                double ex = (cx + dx + 0.5) * cell - x, ey = (cy + dy + 0.5) * cell - y, ez = (cz + dz + 0.5) * cell - z;
                double d = ex * ex + ey * ey + ez * ez;
                if (d < bestDistance || (d == bestDistance && part < best)) (best, bestDistance) = (part, d);
            }
            if (best >= 0) return best;
        }
        return Nearest(parts, (x, y, z));
    }

    /// <summary>The Gaussians' codes with the part bits of split codes set (a new array; <paramref name="means"/> [N*3]).</summary>
    public int[] ExtendGaussians(int[] codes, float[] means)
    {
        if (means.Length != 3L * codes.Length) throw new ArgumentException($"SpatialParts: {means.Length / 3} means for {codes.Length} codes.", nameof(means));
        var result = (int[])codes.Clone();
        if (IsEmpty) return result;
        for (int i = 0; i < codes.Length; i++)
            if (centroids.ContainsKey(codes[i]))
                result[i] = codes[i] | PartAt(codes[i], means[3 * i], means[3 * i + 1], means[3 * i + 2]) << PartShift;
        return result;
    }

    /// <summary>A view's pixel codes with the part bits of split codes set, in place: each such pixel at the point its
    /// depth (<paramref name="depth"/> sum w z and <paramref name="alpha"/>, row-major [H*W] as rendered) puts it at.</summary>
    public void ExtendPixels(int[] codes, float[] depth, float[] alpha, Camera camera)
    {
        int n = camera.Width * camera.Height;
        if (codes.Length != n || depth.Length != n || alpha.Length != n)
            throw new ArgumentException($"SpatialParts: {codes.Length} codes, {depth.Length} depths and {alpha.Length} alphas for a {camera.Width}x{camera.Height} view.");
        if (IsEmpty) return;
        for (int i = 0; i < n; i++)
        {
            int c = codes[i];
            if (!centroids.ContainsKey(c) || !(alpha[i] > 1e-4f)) continue;
            var (x, y, z) = camera.Unproject(i % camera.Width, i / camera.Width, depth[i] / alpha[i]);
            codes[i] = c | PartAt(c, x, y, z) << PartShift;
        }
    }

    private static int Nearest((double X, double Y, double Z)[] parts, (double X, double Y, double Z) p)
    {
        int best = 0;
        double bestDistance = double.MaxValue;
        for (int k = 0; k < parts.Length; k++)
        {
            double dx = parts[k].X - p.X, dy = parts[k].Y - p.Y, dz = parts[k].Z - p.Z, d = dx * dx + dy * dy + dz * dz;
            if (d < bestDistance) (best, bestDistance) = (k, d);
        }
        return best;
    }

}
