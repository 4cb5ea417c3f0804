namespace UniCLift.Grains.Scenes;

using UniCLift.Grains.Telemetry;

/// <summary>
/// Per-silo limit on concurrent trainings (UniCLiftSiloOptions.TrainingSlots, one per GPU). Waiters are served in
/// FIFO order; <see cref="Peak"/> records the most slots ever held at once, so tests and metrics can check the limit.
/// </summary>
public sealed class TrainingSlots
{
    private readonly object gate = new();
    private readonly LinkedList<TaskCompletionSource<IDisposable>> waiters = new();
    private readonly UniCLiftMetrics? metrics;
    private int active, peak, granted, peakWaiting;

    /// <param name="capacity">Trainings at once; 0 on a silo that does not compute (no scene is ever placed there).</param>
    /// <param name="metrics">Receives used/free slots on every change (null: not reported).</param>
    public TrainingSlots(int capacity, UniCLiftMetrics? metrics = null)
    {
        if (capacity < 0) throw new ArgumentException($"TrainingSlots must be at least 0, got {capacity}.");
        Capacity = capacity;
        this.metrics = metrics;
        metrics?.SetSlots(0, capacity);
    }

    public int Capacity { get; }
    public int Active { get { lock (gate) return active; } }
    public int Peak { get { lock (gate) return peak; } }
    public int Waiting { get { lock (gate) return waiters.Count; } }
    public int TotalGranted { get { lock (gate) return granted; } }
    /// <summary>The most runs ever waiting for a slot at once (0: no scene ever queued behind another here).</summary>
    public int PeakWaiting { get { lock (gate) return peakWaiting; } }

    /// <summary>Waits for a slot; dispose the result to give it back.</summary>
    public async Task<IDisposable> AcquireAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TaskCompletionSource<IDisposable> tcs;
        LinkedListNode<TaskCompletionSource<IDisposable>> node;
        lock (gate)
        {
            if (active < Capacity && waiters.Count == 0)
                return GrantLocked();
            tcs = new TaskCompletionSource<IDisposable>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = waiters.AddLast(tcs);
            peakWaiting = Math.Max(peakWaiting, waiters.Count);
            // Queue depth is the coordinator's (scenes Queued, cluster-wide as it sees them), not this silo's waiters.
        }
        using var registration = cancellationToken.Register(() =>
        {
            lock (gate)
            {
                if (node.List is null) return; // already granted: the caller owns the lease
                waiters.Remove(node);
            }
            tcs.TrySetCanceled(cancellationToken);
        });
        return await tcs.Task.ConfigureAwait(false);
    }

    private Lease GrantLocked()
    {
        active++;
        granted++;
        peak = Math.Max(peak, active);
        metrics?.SetSlots(active, Capacity);
        return new Lease(this);
    }

    private void Release()
    {
        TaskCompletionSource<IDisposable>? next = null;
        Lease? lease = null;
        lock (gate)
        {
            active--;
            if (waiters.First is { } first)
            {
                waiters.RemoveFirst();
                next = first.Value;
                lease = GrantLocked();
            }
            metrics?.SetSlots(active, Capacity);
        }
        if (next is not null && !next.TrySetResult(lease!))
            lease!.Dispose(); // the waiter was cancelled in between: pass the slot on
    }

    private sealed class Lease(TrainingSlots owner) : IDisposable
    {
        private int disposed;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0) owner.Release();
        }
    }
}
