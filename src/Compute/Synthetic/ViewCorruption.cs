namespace UniCLift.Compute.Synthetic;

/// <summary>What the mask corruption did in one view (in ground-truth instance ids).</summary>
public sealed record ViewCorruption(
    string View,
    IReadOnlyList<int[]> Merged,
    IReadOnlyList<int> Split,
    IReadOnlyList<int> Missed,
    int Spurious,
    int Dropped,
    int AdjacentPairs,
    int BackgroundPieces = 0)
{
    public static ViewCorruption Empty(string view) => new(view, [], [], [], 0, 0, 0);
}
