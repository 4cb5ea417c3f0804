namespace UniCLift.Grains.Telemetry;

using System.Diagnostics.Metrics;

/// <summary>Loss components of one training iteration; NaN marks a component not computed in that iteration.</summary>
public readonly record struct LossComponents(double Render, double Cluster, double Triplet, double Smooth3d)
{
    public static LossComponents None => new(double.NaN, double.NaN, double.NaN, double.NaN);
}

/// <summary>How many scenes the coordinator knows in each status (cluster-wide, as the coordinator sees it).</summary>
public readonly record struct SceneStatusCounts(int Queued, int Training, int Done, int Failed, int Cancelled);

/// <summary>
/// The project's metrics: one <see cref="Meter"/> named "UniCLift" per process (<see cref="Shared"/>, also
/// registered in DI by <c>AddUniCLiftMetrics</c>). Grains call the Record*/Set* methods; every method is thread-safe.
/// </summary>
/// <remarks>
/// Prometheus names (the exporter turns dots into underscores and appends unit and <c>_total</c> suffixes):
/// <list type="bullet">
/// <item><c>uniclift_training_iterations_total</c> counter (no scene tag: a counter's series never go away).</item>
/// <item><c>uniclift_training_iteration_rate_per_second</c> gauge: this silo's iterations per second, summed over its trainings.</item>
/// <item><c>uniclift_training_loss{scene,term}</c> gauge: last loss value, term = render|cluster|triplet|smooth3d (not
/// <c>component</c>: a Prometheus that labels its targets by the pods' component would rename it exported_component).</item>
/// <item><c>uniclift_scene_gaussians{scene}</c> gauge: Gaussians of each scene training on this silo.</item>
/// <item><c>uniclift_checkpoint_write_duration_seconds</c>, <c>uniclift_checkpoint_size_bytes</c> histograms (the
/// background write of a checkpoint file and its size).</item>
/// <item><c>uniclift_checkpoint_snapshot_duration_seconds</c> histogram: time the training thread was blocked to take a
/// checkpoint's in-memory snapshot.</item>
/// <item><c>uniclift_checkpoint_failures_total</c> counter: checkpoint writes that failed (a full disk, for one).</item>
/// <item><c>uniclift_training_resumes_total</c> counter: trainings resumed from a checkpoint.</item>
/// <item><c>uniclift_scenes{status}</c> gauge, status = queued|training|done|failed|cancelled: scenes of the batches whose
/// coordinator is active on this silo (summed over them; sum over silos for the cluster).</item>
/// <item><c>uniclift_training_slots{state}</c> gauge, state = used|free (this silo).</item>
/// <item><c>uniclift_queue_depth</c> gauge: scenes of those batches waiting for a training slot (status queued).</item>
/// <item><c>uniclift_scene_retries_total</c> counter: failed scenes restarted by their coordinator.</item>
/// <item><c>uniclift_batch_duration_seconds</c>, <c>uniclift_decode_duration_seconds</c> histograms.</item>
/// <item><c>uniclift_scene_pq</c> histogram (0..100) of PQ^scene of finished scenes.</item>
/// <item><c>uniclift_device_in_use{device}</c> gauge = 1 for the torch device this silo trains on.</item>
/// <item><c>uniclift_device_broken{device}</c> gauge = 1 once that device failed its check (the silo takes no scenes).</item>
/// <item><c>uniclift_scene_iteration_rate_per_second{scene}</c> gauge: iterations per second of each scene training on this silo.</item>
/// <item><c>uniclift_device_memory_bytes{device,kind}</c> gauge, kind = used|total: the CUDA device's memory (CUDA silos only).</item>
/// </list>
/// The counters are observable (cumulative totals read at collection), so they are exported from the start with
/// 0; histograms appear once something was recorded.
/// Cardinality: the <c>scene</c> tag is only used for scenes currently training on this silo (bounded by
/// TrainingSlots). Their gauge series disappear after <see cref="RemoveScene"/>, which the training grain must call
/// when training ends (done, failed or cancelled). Counters and histograms carry no scene tag, because the
/// exporter keeps a counter's series for the life of the process.
/// PQ is a histogram rather than a last-value gauge so that every finished scene counts, not only the last one
/// before a scrape: average PQ is <c>rate(sum)/rate(count)</c> and quantiles come from the buckets.
/// </remarks>
public sealed class UniCLiftMetrics
{
    public const string MeterName = "UniCLift";

    private static readonly double[] ShortSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
    private static readonly double[] LongSeconds = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800];
    private static readonly double[] SizeBytes = [1e5, 1e6, 5e6, 1e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 2e9, 4e9];
    private static readonly double[] PqBuckets = [5, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 100];

    internal Meter Meter { get; }
    private readonly object _gate = new();
    private readonly Dictionary<string, SceneState> _scenes = new(StringComparer.Ordinal);
    private SceneStatusCounts? _statusCounts;
    private int? _queueDepth;
    private readonly Dictionary<string, SceneStatusCounts> _batches = new(StringComparer.Ordinal);
    private int _slotsUsed;
    private int _slotsTotal;
    private string? _device;
    private bool _deviceBroken;

    // Counters are observable over these totals, so that each is exported from the first scrape on (0 until counted)
    // instead of appearing only once first incremented: a query or test does not depend on the event having happened.
    private long _iterations;
    private long _resumes;
    private long _retries;
    private long _checkpointFailures;
    private readonly Histogram<double> _checkpointDuration;
    private readonly Histogram<double> _checkpointSize;
    private readonly Histogram<double> _checkpointSnapshot;
    private readonly Histogram<double> _batchDuration;
    private readonly Histogram<double> _decodeDuration;
    private readonly Histogram<double> _pq;

    private sealed class SceneState
    {
        public double ItersPerSec;
        public long Gaussians = -1;
        public LossComponents Losses = LossComponents.None;
    }

    /// <summary>
    /// The process-wide instance on the process-wide "UniCLift" meter. Deliberately not one meter per host
    /// (IMeterFactory): OpenTelemetry listens by meter name across the process, so several hosts' same-named meters
    /// merge into one stream anyway, and disposing one of them stops the stream for every host
    /// (opentelemetry-dotnet#6412). One silo runs per process in a cluster; in a test process with several
    /// silos they share these metrics.
    /// </summary>
    public static UniCLiftMetrics Shared { get; } = new(new Meter(MeterName));

    /// <summary>An instance on its own meter, for tests that must not share <see cref="Shared"/> (give it another name).</summary>
    internal UniCLiftMetrics(Meter meter)
    {
        Meter = meter;
        meter.CreateObservableCounter("uniclift.training.iterations", () => Interlocked.Read(ref _iterations), "{iteration}", "Training iterations completed.");
        meter.CreateObservableCounter("uniclift.training.resumes", () => Interlocked.Read(ref _resumes), "{resume}", "Trainings resumed from a checkpoint.");
        meter.CreateObservableCounter("uniclift.scene.retries", () => Interlocked.Read(ref _retries), "{retry}", "Failed scenes restarted by their coordinator.");
        meter.CreateObservableCounter("uniclift.checkpoint.failures", () => Interlocked.Read(ref _checkpointFailures), "{failure}",
            "Checkpoint writes that failed (the previous checkpoint stays; training goes on).");
        _checkpointDuration = meter.CreateHistogram("uniclift.checkpoint.write.duration", "s", "Time to write one checkpoint file (in the background).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ShortSeconds });
        _checkpointSize = meter.CreateHistogram("uniclift.checkpoint.size", "By", "Size of one written checkpoint.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SizeBytes });
        _checkpointSnapshot = meter.CreateHistogram("uniclift.checkpoint.snapshot.duration", "s",
            "Time the training thread was blocked to snapshot one checkpoint into memory.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ShortSeconds });
        _batchDuration = meter.CreateHistogram("uniclift.batch.duration", "s",
            "Time from a batch's submission until its last scene finished.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LongSeconds });
        _decodeDuration = meter.CreateHistogram("uniclift.decode.duration", "s",
            "Time to decode a trained scene's embeddings into instance labels.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ShortSeconds });
        _pq = meter.CreateHistogram("uniclift.scene.pq", "1", "PQ^scene (0..100) of finished scenes.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PqBuckets });

        meter.CreateObservableGauge("uniclift.training.iteration_rate", ObserveIterationRate, "{iteration}/s",
            "Training iterations per second on this silo, summed over its trainings.");
        meter.CreateObservableGauge("uniclift.training.loss", ObserveLosses, null, "Last loss value per scene and loss term.");
        meter.CreateObservableGauge("uniclift.scene.gaussians", ObserveGaussians, "{gaussian}", "Gaussians of each scene training on this silo.");
        meter.CreateObservableGauge("uniclift.scenes", ObserveSceneStatus, "{scene}", "Scenes by status, as the coordinator sees them.");
        meter.CreateObservableGauge("uniclift.training.slots", ObserveSlots, "{slot}", "Training slots of this silo by state (used, free).");
        meter.CreateObservableGauge("uniclift.queue.depth", ObserveQueueDepth, "{scene}", "Scenes waiting for a training slot.");
        meter.CreateObservableGauge("uniclift.device.in_use", ObserveDevice, null, "1 for the torch device this silo trains on.");
        meter.CreateObservableGauge("uniclift.device.broken", ObserveDeviceBroken, null, "1 when this silo's device failed its check (it takes no scenes), else 0.");
        meter.CreateObservableGauge("uniclift.scene.iteration_rate", ObserveSceneRates, "{iteration}/s", "Iterations per second of each scene training on this silo.");
        meter.CreateObservableGauge("uniclift.device.memory", ObserveDeviceMemory, "By", "GPU memory of this silo's CUDA device, used (device-wide, torch's cache included) and total.");
    }

    /// <summary>Adds <paramref name="count"/> finished iterations of <paramref name="scene"/> and keeps its current rate and losses.</summary>
    public void RecordIteration(string scene, long count, double itersPerSec, LossComponents losses)
    {
        ArgumentException.ThrowIfNullOrEmpty(scene);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > 0) Interlocked.Add(ref _iterations, count);
        lock (_gate)
        {
            var s = GetOrAdd(scene);
            s.ItersPerSec = double.IsFinite(itersPerSec) && itersPerSec >= 0 ? itersPerSec : 0;
            s.Losses = losses;
        }
    }

    /// <summary>Current number of Gaussians of a scene training on this silo (changes with densification).</summary>
    public void SetGaussians(string scene, long gaussians)
    {
        ArgumentException.ThrowIfNullOrEmpty(scene);
        ArgumentOutOfRangeException.ThrowIfNegative(gaussians);
        lock (_gate) GetOrAdd(scene).Gaussians = gaussians;
    }

    /// <summary>Stops reporting the per-scene gauges of a scene: call when its training ends on this silo, however it ends.</summary>
    public void RemoveScene(string scene)
    {
        lock (_gate) _scenes.Remove(scene);
    }

    public void RecordCheckpoint(TimeSpan duration, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        _checkpointDuration.Record(duration.TotalSeconds);
        _checkpointSize.Record(bytes);
    }

    /// <summary>Time the training thread spent serialising a checkpoint into memory (before its background write).</summary>
    public void RecordCheckpointSnapshot(TimeSpan duration) => _checkpointSnapshot.Record(duration.TotalSeconds);

    /// <summary>A checkpoint write failed (the scene goes on from its previous checkpoint).</summary>
    public void RecordCheckpointFailure() => Interlocked.Increment(ref _checkpointFailures);

    public void RecordResume() => Interlocked.Increment(ref _resumes);

    public void RecordRetry() => Interlocked.Increment(ref _retries);

    /// <summary>
    /// The scene counts of one batch, set by its coordinator whenever it supervised its scenes. Scenes by status and
    /// queue depth report the sum over the batches set here (plus <see cref="SetSceneStatusCounts"/>, if used), so
    /// several coordinators on one silo add up instead of overwriting each other.
    /// </summary>
    public void SetBatchStatus(string batchId, SceneStatusCounts counts)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        lock (_gate) _batches[batchId] = counts;
    }

    /// <summary>Stops counting a batch: its coordinator deactivates (on a silo that is not its home any more, or idle).</summary>
    public void RemoveBatch(string batchId)
    {
        lock (_gate) _batches.Remove(batchId);
    }

    /// <summary>Set by the coordinator whenever its counts change.</summary>
    public void SetSceneStatusCounts(SceneStatusCounts counts)
    {
        lock (_gate) _statusCounts = counts;
    }

    /// <summary>Set by the coordinator; call <see cref="ClearCoordinatorGauges"/> when it deactivates so that a silo the coordinator left does not report stale values.</summary>
    public void SetQueueDepth(int depth)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        lock (_gate) _queueDepth = depth;
    }

    /// <summary>Stops reporting scenes-by-status and queue depth on this silo.</summary>
    public void ClearCoordinatorGauges()
    {
        lock (_gate)
        {
            _statusCounts = null;
            _queueDepth = null;
            _batches.Clear();
        }
    }

    /// <summary>This silo's training slots: <paramref name="used"/> of <paramref name="total"/>.</summary>
    public void SetSlots(int used, int total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        if (used < 0 || used > total) throw new ArgumentOutOfRangeException(nameof(used), used, $"Used slots must be within 0..{total}.");
        lock (_gate)
        {
            _slotsUsed = used;
            _slotsTotal = total;
        }
    }

    /// <summary>The torch device this silo trains on ("cpu", "cuda", "cuda:1"), or null for none (non-compute silo).</summary>
    public void SetDevice(string? device)
    {
        lock (_gate) _device = string.IsNullOrWhiteSpace(device) ? null : device;
    }

    /// <summary>The device failed its check: the silo takes no more scenes, so its slots count as none free.</summary>
    public void SetDeviceBroken()
    {
        lock (_gate) _deviceBroken = true;
    }

    public void RecordBatch(TimeSpan duration) => _batchDuration.Record(duration.TotalSeconds);

    public void RecordDecode(TimeSpan duration) => _decodeDuration.Record(duration.TotalSeconds);

    /// <summary>PQ^scene of a finished scene, in percent (0..100).</summary>
    public void RecordPq(double pq)
    {
        if (!double.IsFinite(pq) || pq < 0 || pq > 100)
            throw new ArgumentOutOfRangeException(nameof(pq), pq, "PQ^scene is a percentage in 0..100.");
        _pq.Record(pq);
    }

    private SceneState GetOrAdd(string scene)
    {
        if (!_scenes.TryGetValue(scene, out var s)) _scenes[scene] = s = new SceneState();
        return s;
    }

    // Observable callbacks run on the exporter's collection thread: snapshot under the lock, yield outside it.
    private Measurement<double> ObserveIterationRate()
    {
        lock (_gate) return new Measurement<double>(_scenes.Values.Sum(s => s.ItersPerSec));
    }

    private IEnumerable<Measurement<double>> ObserveLosses()
    {
        var list = new List<Measurement<double>>();
        lock (_gate)
        {
            foreach (var (scene, s) in _scenes)
            {
                Add(list, scene, "render", s.Losses.Render);
                Add(list, scene, "cluster", s.Losses.Cluster);
                Add(list, scene, "triplet", s.Losses.Triplet);
                Add(list, scene, "smooth3d", s.Losses.Smooth3d);
            }
        }
        return list;

        static void Add(List<Measurement<double>> list, string scene, string term, double value)
        {
            if (double.IsFinite(value))
                list.Add(new Measurement<double>(value, new("scene", scene), new("term", term)));
        }
    }

    private IEnumerable<Measurement<long>> ObserveGaussians()
    {
        lock (_gate)
            return _scenes.Where(kv => kv.Value.Gaussians >= 0)
                .Select(kv => new Measurement<long>(kv.Value.Gaussians, new KeyValuePair<string, object?>("scene", kv.Key)))
                .ToList();
    }

    private IEnumerable<Measurement<int>> ObserveSceneStatus()
    {
        SceneStatusCounts c;
        lock (_gate)
        {
            if (_statusCounts is null && _batches.Count == 0) return [];
            c = SumCountsLocked();
        }
        return
        [
            new(c.Queued, new KeyValuePair<string, object?>("status", "queued")),
            new(c.Training, new KeyValuePair<string, object?>("status", "training")),
            new(c.Done, new KeyValuePair<string, object?>("status", "done")),
            new(c.Failed, new KeyValuePair<string, object?>("status", "failed")),
            new(c.Cancelled, new KeyValuePair<string, object?>("status", "cancelled")),
        ];
    }

    private IEnumerable<Measurement<int>> ObserveSlots()
    {
        int used, total;
        bool broken;
        lock (_gate) (used, total, broken) = (_slotsUsed, _slotsTotal, _deviceBroken);
        return
        [
            new(used, new KeyValuePair<string, object?>("state", "used")),
            new(broken ? 0 : total - used, new KeyValuePair<string, object?>("state", "free")),
        ];
    }

    private IEnumerable<Measurement<int>> ObserveQueueDepth()
    {
        lock (_gate)
        {
            if (_queueDepth is { } d) return [new Measurement<int>(d)];
            return _batches.Count > 0 ? [new Measurement<int>(SumCountsLocked().Queued)] : [];
        }
    }

    private SceneStatusCounts SumCountsLocked()
    {
        var c = _statusCounts ?? default;
        foreach (var b in _batches.Values)
            c = new SceneStatusCounts(c.Queued + b.Queued, c.Training + b.Training, c.Done + b.Done, c.Failed + b.Failed, c.Cancelled + b.Cancelled);
        return c;
    }

    private IEnumerable<Measurement<double>> ObserveSceneRates()
    {
        lock (_gate)
            return _scenes.Select(kv => new Measurement<double>(kv.Value.ItersPerSec, new KeyValuePair<string, object?>("scene", kv.Key))).ToList();
    }

    /// <summary>Read from the driver at each scrape (a cheap query, no torch call, no synchronisation of the training stream).</summary>
    private IEnumerable<Measurement<long>> ObserveDeviceMemory()
    {
        string? device;
        lock (_gate) device = _device;
        if (device is null || !device.StartsWith("cuda", StringComparison.OrdinalIgnoreCase)) return [];
        try
        {
            int ordinal = Compute.Cuda.CudaRuntime.Ordinal(Compute.Cuda.CudaRuntime.ParseDevice(device));
            var (used, total) = Compute.Cuda.CudaRuntime.Memory(ordinal);
            return
            [
                new Measurement<long>(used, new("device", device), new("kind", "used")),
                new Measurement<long>(total, new("device", device), new("kind", "total")),
            ];
        }
        catch (Exception e) when (e is Compute.Cuda.CudaException or DllNotFoundException or EntryPointNotFoundException or ArgumentException)
        {
            return []; // no driver or no such device: the silo's start-up check has said so already
        }
    }

    private IEnumerable<Measurement<int>> ObserveDevice()
    {
        lock (_gate) return _device is { } d ? [new Measurement<int>(1, new KeyValuePair<string, object?>("device", d))] : [];
    }

    private IEnumerable<Measurement<int>> ObserveDeviceBroken()
    {
        lock (_gate) return _device is { } d ? [new Measurement<int>(_deviceBroken ? 1 : 0, new KeyValuePair<string, object?>("device", d))] : [];
    }
}
