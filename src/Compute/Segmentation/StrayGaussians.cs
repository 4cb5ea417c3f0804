namespace UniCLift.Compute.Segmentation;

/// <summary>Options of <see cref="StrayGaussians"/>.</summary>
public sealed record StrayOptions
{
    public static readonly StrayOptions Default = new();

    /// <summary>Cell size of the grid an instance's Gaussians are connected on, as a share of the scene's size (as
    /// <see cref="SpatialSplitOptions.LinkFraction"/>, the same grid by default).</summary>
    public double LinkFraction { get; init; } = 0.03;
    /// <summary>A piece of an instance stays with it when it holds at least this many of its Gaussians...</summary>
    public int MinGaussians { get; init; } = 20;
    /// <summary>...and at least this share of them (an instance's largest piece always stays).</summary>
    public double MinShare { get; init; } = 0.05;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first knob out of range; returns this.</summary>
    public StrayOptions Validate()
    {
        if (!(LinkFraction > 0 && LinkFraction < 1)) throw new ArgumentException($"Strays.LinkFraction must lie in (0, 1), got {LinkFraction}.");
        if (MinGaussians < 1) throw new ArgumentException($"Strays.MinGaussians must be at least 1, got {MinGaussians}.");
        if (!(MinShare >= 0 && MinShare < 1)) throw new ArgumentException($"Strays.MinShare must lie in [0, 1), got {MinShare}.");
        return this;
    }
}

/// <summary>
/// Gaussians labelled with an instance far from it. The label of a Gaussian is its embedding's code, and a few
/// Gaussians elsewhere in the scene end up with an object's code: floor under the object's edge in views whose masks
/// spilled onto it, floaters that few views see. The pixels are not the worse for them (they are covered or faint),
/// but an exported object carries them, and its bounding box spans the room: in the demo scene 4 to 8% of each
/// object's Gaussians lay more than 1 m from it. Here each instance's Gaussians are grouped into connected pieces on
/// an occupancy grid (the one <see cref="SpatialParts"/> uses); its largest piece, and any other of a sizeable share,
/// are the object. A smaller piece apart from them takes the label most Gaussians around it have (in its cells and
/// the cells touching them), or the background's (0) in empty space. The background's own pieces are left as they
/// are: a floor and walls seen in patches are one label. Deterministic, a function of the model and its labels.
/// </summary>
public static class StrayGaussians
{
    /// <summary>Used for the scene's size only: faint Gaussians (under this opacity) do not measure it.</summary>
    private const double SizeOpacity = 0.1;

    /// <summary>The instance ids <paramref name="ids"/> [N] of Gaussians at <paramref name="means"/> [N*3] with stray
    /// pieces relabelled (a new array; <paramref name="opacityLogits"/> [N] measure the scene's size).</summary>
    public static int[] Clean(float[] means, float[] opacityLogits, int[] ids, StrayOptions? options = null)
    {
        options = (options ?? StrayOptions.Default).Validate();
        int n = ids.Length;
        if (means.Length != 3L * n || opacityLogits.Length != n)
            throw new ArgumentException($"StrayGaussians: {means.Length / 3} means and {opacityLogits.Length} opacities for {n} labels.");
        var result = (int[])ids.Clone();
        double size = OccupancyGrid.CellSize(means, OccupancyGrid.Opaque(means, opacityLogits, SizeOpacity), options.LinkFraction);
        if (!(size > 0) || !double.IsFinite(size)) return result;

        // (cell, label, count) for every occupied cell, sorted by cell then label; a cell's entries are a run.
        var pairs = new List<(long Cell, int Label)>(n);
        for (int i = 0; i < n; i++)
            if (OccupancyGrid.Finite(means, i)) pairs.Add((OccupancyGrid.Key(means, i, size), ids[i]));
        if (pairs.Count == 0) return result;
        pairs.Sort();
        var entries = new List<(long Cell, int Label, int Count)>();
        foreach (var p in pairs)
        {
            if (entries.Count > 0 && entries[^1].Cell == p.Cell && entries[^1].Label == p.Label) entries[^1] = (p.Cell, p.Label, entries[^1].Count + 1);
            else entries.Add((p.Cell, p.Label, 1));
        }
        var cellStart = new Dictionary<long, int>(); // cell -> its first entry
        for (int e = 0; e < entries.Count; e++) cellStart.TryAdd(entries[e].Cell, e);

        // Per instance: its cells, their pieces; the cells of pieces too small to stay, with their new label.
        var relabel = new Dictionary<(long Cell, int Label), int>();
        foreach (var group in Enumerable.Range(0, entries.Count).Where(e => entries[e].Label != 0).GroupBy(e => entries[e].Label))
        {
            int label = group.Key;
            var cells = group.Select(e => entries[e].Cell).ToList();
            var counts = group.Select(e => entries[e].Count).ToList();
            var index = new Dictionary<long, int>(cells.Count);
            for (int c = 0; c < cells.Count; c++) index[cells[c]] = c;
            var pieces = OccupancyGrid.Pieces(cells, index, counts); // largest first
            if (pieces.Count < 2) continue;
            int total = counts.Sum();
            foreach (var piece in pieces.Skip(1))
            {
                if (piece.Count >= options.MinGaussians && piece.Count >= options.MinShare * total) continue;
                // Votes of the other labels' Gaussians in the piece's cells and around them (each cell once).
                var near = new HashSet<long>();
                foreach (var c in piece.Cells)
                {
                    near.Add(cells[c]);
                    foreach (var nb in OccupancyGrid.Around(cells[c])) near.Add(nb);
                }
                var votes = new Dictionary<int, int>();
                foreach (var cell in near)
                {
                    if (!cellStart.TryGetValue(cell, out int e)) continue;
                    for (; e < entries.Count && entries[e].Cell == cell; e++)
                        if (entries[e].Label != label) votes[entries[e].Label] = votes.GetValueOrDefault(entries[e].Label) + entries[e].Count;
                }
                int to = votes.Count == 0 ? 0 : votes.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
                foreach (var c in piece.Cells) relabel[(cells[c], label)] = to;
            }
        }
        if (relabel.Count == 0) return result;
        for (int i = 0; i < n; i++)
            if (ids[i] != 0 && OccupancyGrid.Finite(means, i) && relabel.TryGetValue((OccupancyGrid.Key(means, i, size), ids[i]), out int to))
                result[i] = to;
        return result;
    }
}
