namespace UniCLift.Grains.Views;

using UniCLift.Compute.Scenes;

/// <summary>
/// Boundary pixels of a predicted instance mask: pixels with a 4-neighbour carrying a different mask id. For each,
/// the neighbours across the boundary are listed, so a trainer draws hard triplets (anchor and positive inside a
/// segment at its boundary, negative just across it) from plain arrays without asking the view grain per step.
/// </summary>
public static class BoundaryIndexBuilder
{
    public static BoundaryIndex Build(LabelMap mask)
    {
        int w = mask.Width, h = mask.Height;
        var labels = mask.Labels;
        if (labels.Length != w * h)
            throw new ArgumentException($"mask has {labels.Length} labels, expected {w}x{h} = {w * h}.");
        var pixels = new List<int>();
        var starts = new List<int> { 0 };
        var across = new List<int>();
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x, id = labels[i], before = across.Count;
                if (x > 0 && labels[i - 1] != id) across.Add(i - 1);
                if (x < w - 1 && labels[i + 1] != id) across.Add(i + 1);
                if (y > 0 && labels[i - w] != id) across.Add(i - w);
                if (y < h - 1 && labels[i + w] != id) across.Add(i + w);
                if (across.Count == before) continue;
                pixels.Add(i);
                starts.Add(across.Count);
            }
        }
        return new BoundaryIndex(w, h, labels, pixels.ToArray(), starts.ToArray(), across.ToArray());
    }
}
