namespace UniCLift.Grains.Views;

using UniCLift.Compute.Segmentation;

/// <summary>
/// The trained models this silo's view grains decode from, read once per file version and shared: the views of a
/// scene that land on one silo render from one copy. Keeps the few most recently used (a decoding pass touches one
/// batch group at a time). Thread-safe; entries are immutable arrays.
/// </summary>
public sealed class TrainedModelCache(int capacity = 4)
{
    private readonly object gate = new();
    private readonly LinkedList<(string Key, Lazy<TrainedGaussians> Model)> entries = new();

    public TrainedGaussians Get(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"trained model '{path}' does not exist; was the scene trained?", path);
        var key = $"{info.FullName}|{info.LastWriteTimeUtc.Ticks}|{info.Length}";
        Lazy<TrainedGaussians> model;
        lock (gate)
        {
            var node = entries.First;
            while (node is not null && node.Value.Key != key) node = node.Next;
            if (node is not null) entries.Remove(node);
            else node = new LinkedListNode<(string, Lazy<TrainedGaussians>)>((key, new Lazy<TrainedGaussians>(() => TrainedGaussians.Read(path))));
            entries.AddFirst(node);
            while (entries.Count > Math.Max(1, capacity)) entries.RemoveLast();
            model = node.Value.Model;
        }
        try { return model.Value; }
        catch
        {
            lock (gate)
            {
                // A failed read is not cached: the next call tries the file again.
                for (var n = entries.First; n is not null; n = n.Next)
                    if (ReferenceEquals(n.Value.Model, model)) { entries.Remove(n); break; }
            }
            throw;
        }
    }
}
