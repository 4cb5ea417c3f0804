namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics.Metrics;
using UniCLift.Grains.Telemetry;

/// <summary>Exact values of the gauges, read with a MeterListener from an instance on its own meter (not the shared one).</summary>
public sealed class UniCLiftMetricsTests : IDisposable
{
    private readonly Meter _meter = new("UniCLift.Tests." + Guid.NewGuid().ToString("N"));
    private readonly UniCLiftMetrics _metrics;

    public UniCLiftMetricsTests() => _metrics = new UniCLiftMetrics(_meter);

    public void Dispose() => _meter.Dispose();

    /// <summary>One observation of every observable instrument: (instrument, "k=v,k=v") -> value.</summary>
    private Dictionary<(string, string), double> Observe()
    {
        var seen = new Dictionary<(string, string), double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (ReferenceEquals(i.Meter, _meter)) l.EnableMeasurementEvents(i); };
        void On(Instrument i, double v, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var key = string.Join(",", tags.ToArray().OrderBy(t => t.Key).Select(t => $"{t.Key}={t.Value}"));
            // Counters and histograms report on the recording threads, which may still be running.
            lock (seen) seen[(i.Name, key)] = v;
        }
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => On(i, v, t));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => On(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => On(i, v, t));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public void GaugesReportWhatWasSetAndForgetRemovedScenes()
    {
        _metrics.SetSlots(1, 3);
        _metrics.SetDevice("cuda:1");
        _metrics.RecordIteration("a", 5, 2.0, new LossComponents(1, 2, 3, double.NaN));
        _metrics.RecordIteration("b", 5, 3.5, LossComponents.None);
        _metrics.SetGaussians("a", 100);
        _metrics.SetSceneStatusCounts(new SceneStatusCounts(4, 1, 2, 1, 0));
        _metrics.SetQueueDepth(4);

        var o = Observe();
        Assert.Equal(1, o[("uniclift.training.slots", "state=used")]);
        Assert.Equal(2, o[("uniclift.training.slots", "state=free")]);
        Assert.Equal(1, o[("uniclift.device.in_use", "device=cuda:1")]);
        Assert.Equal(0, o[("uniclift.device.broken", "device=cuda:1")]);
        new UniCLift.Grains.Scenes.ComputeDevice(_metrics).MarkBroken("CUDA is not available to libtorch");
        var broken = Observe();
        Assert.Equal(1, broken[("uniclift.device.broken", "device=cuda:1")]);
        Assert.Equal(0, broken[("uniclift.training.slots", "state=free")]);
        Assert.Equal(1, broken[("uniclift.training.slots", "state=used")]);
        Assert.Equal(5.5, o[("uniclift.training.iteration_rate", "")]);
        Assert.Equal(3, o[("uniclift.training.loss", "scene=a,term=triplet")]);
        Assert.False(o.ContainsKey(("uniclift.training.loss", "scene=a,term=smooth3d")));
        Assert.DoesNotContain(o.Keys, k => k.Item1 == "uniclift.training.loss" && k.Item2.Contains("scene=b"));
        Assert.Equal(100, o[("uniclift.scene.gaussians", "scene=a")]);
        Assert.False(o.ContainsKey(("uniclift.scene.gaussians", "scene=b"))); // never set: not reported as 0
        Assert.Equal(1, o[("uniclift.scenes", "status=failed")]);
        Assert.Equal(4, o[("uniclift.queue.depth", "")]);

        _metrics.RemoveScene("a");
        _metrics.ClearCoordinatorGauges();
        _metrics.SetDevice(null);
        o = Observe();
        Assert.Equal(3.5, o[("uniclift.training.iteration_rate", "")]);
        Assert.DoesNotContain(o.Keys, k => k.Item2.Contains("scene=a"));
        Assert.DoesNotContain(o.Keys, k => k.Item1 is "uniclift.scenes" or "uniclift.queue.depth" or "uniclift.device.in_use");
    }

    [Fact]
    public void CountersAreReportedFromTheStartAndCountEveryEvent()
    {
        // Before anything happened: every counter is there with 0, so an exporter publishes it from its first scrape.
        var o = Observe();
        foreach (var counter in new[] { "uniclift.training.iterations", "uniclift.training.resumes", "uniclift.scene.retries" })
            Assert.Equal(0, o[(counter, "")]);

        _metrics.RecordIteration("a", 3, 1, LossComponents.None);
        _metrics.RecordIteration("a", 0, 1, LossComponents.None);
        _metrics.RecordResume();
        _metrics.RecordResume();
        _metrics.RecordRetry();
        o = Observe();
        Assert.Equal(3, o[("uniclift.training.iterations", "")]);
        Assert.Equal(2, o[("uniclift.training.resumes", "")]);
        Assert.Equal(1, o[("uniclift.scene.retries", "")]);
    }

    [Fact]
    public async Task ConcurrentUpdatesFromManyThreadsStayConsistent()
    {
        var scenes = Enumerable.Range(0, 8).Select(i => $"s{i}").ToArray();
        var work = scenes.Select(s => Task.Run(() =>
        {
            for (int k = 0; k < 500; k++)
            {
                _metrics.RecordIteration(s, 1, 1.0, new LossComponents(k, k, k, k));
                _metrics.SetGaussians(s, k);
                if (k % 50 == 0) Observe(); // collection concurrent with updates must not throw
            }
        })).ToArray();
        await Task.WhenAll(work);

        var o = Observe();
        Assert.Equal(8 * 500, o[("uniclift.training.iterations", "")]);
        Assert.Equal(8.0, o[("uniclift.training.iteration_rate", "")]);
        foreach (var s in scenes) Assert.Equal(499, o[("uniclift.scene.gaussians", $"scene={s}")]);
    }

    [Fact]
    public void RejectsValuesThatCannotBeRight()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _metrics.RecordPq(101));
        Assert.Throws<ArgumentOutOfRangeException>(() => _metrics.RecordPq(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => _metrics.SetSlots(3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => _metrics.SetQueueDepth(-1));
        Assert.Throws<ArgumentException>(() => _metrics.RecordIteration("", 1, 1, LossComponents.None));
    }
}
