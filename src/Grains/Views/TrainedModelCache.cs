namespace UniCLift.Grains.Views;

using UniCLift.Compute.Rendering;
using UniCLift.Compute.Segmentation;
using static TorchSharp.torch;

/// <summary>
/// The trained models this silo's view grains decode from, read once per file version and shared: the views of a
/// scene that land on one silo render from one copy, and from one copy of its tensors per device (<see cref="Lease"/>:
/// on a GPU silo the model goes up to the GPU once, not once per view). Keeps the few most recently used (a decoding
/// pass touches one batch group at a time); an evicted model's tensors are released when its last lease ends.
/// Thread-safe.
/// </summary>
public sealed class TrainedModelCache(int capacity = 4)
{
    private readonly object gate = new();
    private readonly LinkedList<Entry> entries = new();

    private sealed class Entry(string key, string path)
    {
        public readonly string Key = key;
        public readonly Lazy<TrainedGaussians> Model = new(() => TrainedGaussians.Read(path));
        /// <summary>The model's codes split by where their Gaussians lie, per split options, made by the first view that asks.</summary>
        public readonly Dictionary<(SpatialSplitOptions, GaussianCodes), Lazy<SpatialParts>> Parts = new();
        /// <summary>Tensors per device ("cpu", "cuda:0"), made by the first lease there.</summary>
        public readonly Dictionary<string, Lazy<GaussianTensors>> Tensors = new();
        public int Leases;
        public bool Evicted;
    }

    /// <summary>Models whose tensors are held on some device (for tests and metrics).</summary>
    public int HeldTensorSets
    {
        get { lock (gate) return entries.Concat(retired).Sum(e => e.Tensors.Values.Count(t => t.IsValueCreated)); }
    }

    // Evicted entries whose tensors wait for their last lease.
    private readonly List<Entry> retired = new();

    public TrainedGaussians Get(string path) => Model(Find(path, lease: false));

    /// <summary>The spatial parts of the model at <paramref name="path"/> (<see cref="SpatialParts"/> with
    /// <paramref name="options"/>, from the Gaussians' <paramref name="codes"/>), computed once per cached model, options
    /// and codes: every view of it on this silo splits its codes alike.</summary>
    public SpatialParts Parts(string path, SpatialSplitOptions options, GaussianCodes codes = GaussianCodes.Views)
    {
        ArgumentNullException.ThrowIfNull(options);
        var entry = Find(path, lease: false);
        var model = Model(entry);
        Lazy<SpatialParts>? parts;
        lock (gate)
            if (!entry.Parts.TryGetValue((options, codes), out parts))
                entry.Parts[(options, codes)] = parts = new Lazy<SpatialParts>(() => model.SpatialParts(model.GaussianCodes(codes), options));
        return parts.Value;
    }

    /// <summary>The model at <paramref name="path"/> with its tensors on <paramref name="device"/>, shared with every
    /// other lease of that model there; dispose the lease when the render is done. The tensors are read-only.</summary>
    public ModelLease Lease(string path, Device device)
    {
        var entry = Find(path, lease: true);
        try
        {
            var model = Model(entry);
            Lazy<GaussianTensors> tensors;
            lock (gate)
            {
                var key = device.ToString();
                if (!entry.Tensors.TryGetValue(key, out tensors!))
                    entry.Tensors[key] = tensors = new Lazy<GaussianTensors>(() => model.Tensors(device).Map(t => t.DetachFromDisposeScope()));
            }
            GaussianTensors g;
            try { g = tensors.Value; }
            catch
            {
                // A failed upload is tried again by the next lease; a lease that shared it removes it only if it is still
                // the entry (another may have replaced it with an upload that worked).
                lock (gate)
                    if (entry.Tensors.TryGetValue(device.ToString(), out var current) && ReferenceEquals(current, tensors))
                        entry.Tensors.Remove(device.ToString());
                throw;
            }
            return new ModelLease(this, entry, model, g);
        }
        catch
        {
            Release(entry);
            throw;
        }
    }

    private Entry Find(string path, bool lease)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"trained model '{path}' does not exist; was the scene trained?", path);
        var key = $"{info.FullName}|{info.LastWriteTimeUtc.Ticks}|{info.Length}";
        lock (gate)
        {
            var node = entries.First;
            while (node is not null && node.Value.Key != key) node = node.Next;
            if (node is not null) entries.Remove(node);
            else node = new LinkedListNode<Entry>(new Entry(key, path));
            entries.AddFirst(node);
            if (lease) node.Value.Leases++;
            while (entries.Count > Math.Max(1, capacity))
            {
                var last = entries.Last!.Value;
                entries.RemoveLast();
                Retire(last);
            }
            return node.Value;
        }
    }

    private TrainedGaussians Model(Entry entry)
    {
        try { return entry.Model.Value; }
        catch
        {
            lock (gate)
            {
                // A failed read is not cached: the next call tries the file again.
                for (var n = entries.First; n is not null; n = n.Next)
                    if (ReferenceEquals(n.Value, entry)) { entries.Remove(n); Retire(entry); break; }
            }
            throw;
        }
    }

    /// <summary>Under the gate: an entry leaves the cache; its tensors go now, or with its last lease.</summary>
    private void Retire(Entry entry)
    {
        entry.Evicted = true;
        if (entry.Leases == 0) DisposeTensors(entry);
        else retired.Add(entry);
    }

    private void Release(Entry entry)
    {
        lock (gate)
        {
            entry.Leases--;
            if (entry.Evicted && entry.Leases == 0)
            {
                retired.Remove(entry);
                DisposeTensors(entry);
            }
        }
    }

    private static void DisposeTensors(Entry entry)
    {
        foreach (var t in entry.Tensors.Values)
            if (t.IsValueCreated)
            {
                var g = t.Value;
                foreach (var x in new[] { g.Means, g.LogScales, g.Quats, g.OpacityLogits, g.Sh, g.Features }) x?.Dispose();
            }
        entry.Tensors.Clear();
    }

    /// <summary>A model and its tensors on one device, held until disposed.</summary>
    public sealed class ModelLease : IDisposable
    {
        private TrainedModelCache? _cache;
        private readonly Entry _entry;

        internal ModelLease(TrainedModelCache cache, object entry, TrainedGaussians model, GaussianTensors tensors)
        {
            _cache = cache; _entry = (Entry)entry; Model = model; Tensors = tensors;
        }

        public TrainedGaussians Model { get; }
        public GaussianTensors Tensors { get; }

        public void Dispose()
        {
            var cache = Interlocked.Exchange(ref _cache, null);
            cache?.Release(_entry);
        }
    }
}
