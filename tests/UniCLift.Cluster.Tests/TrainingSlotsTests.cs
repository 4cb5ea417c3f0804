namespace UniCLift.Cluster.Tests;

using UniCLift.Grains.Scenes;

public sealed class TrainingSlotsTests
{
    [Fact]
    public async Task ConcurrentHoldersNeverExceedCapacityAndWaitersAreServedInOrder()
    {
        var slots = new TrainingSlots(2);
        int inside = 0, maxInside = 0;
        var order = new List<int>();
        var first = await slots.AcquireAsync(CancellationToken.None);
        var second = await slots.AcquireAsync(CancellationToken.None);
        // Queue waiters one after another so their arrival order is known.
        var waiters = new List<Task>();
        for (int i = 0; i < 6; i++)
        {
            int id = i;
            var acquire = slots.AcquireAsync(CancellationToken.None);
            waiters.Add(Task.Run(async () =>
            {
                using var lease = await acquire;
                lock (order) order.Add(id);
                var now = Interlocked.Increment(ref inside);
                lock (order) maxInside = Math.Max(maxInside, now);
                await Task.Delay(20);
                Interlocked.Decrement(ref inside);
            }));
        }
        Assert.Equal(6, slots.Waiting);
        first.Dispose();
        second.Dispose();
        await Task.WhenAll(waiters);

        Assert.True(maxInside <= 2, $"{maxInside} holders at once with 2 slots");
        Assert.Equal(2, slots.Peak);
        Assert.Equal(0, slots.Active);
        Assert.Equal(8, slots.TotalGranted);
        Assert.Equal(6, order.Count);
    }

    [Fact]
    public async Task WaitersAreServedInArrivalOrder()
    {
        var slots = new TrainingSlots(1);
        var held = await slots.AcquireAsync(CancellationToken.None);
        var waiters = Enumerable.Range(0, 5).Select(_ => slots.AcquireAsync(CancellationToken.None)).ToList();
        for (int i = 0; i < waiters.Count; i++)
        {
            held.Dispose();
            held = await waiters[i].WaitAsync(TimeSpan.FromSeconds(5));
            Assert.All(waiters.Skip(i + 1), w => Assert.False(w.IsCompleted, $"a later waiter got the slot before waiter {i + 1}"));
            Assert.Equal(1, slots.Active);
        }
        held.Dispose();
        Assert.Equal(0, slots.Active);
        Assert.Equal(1, slots.Peak);
    }

    [Fact]
    public async Task CancelledWaiterLeavesTheQueueAndDoesNotTakeASlot()
    {
        var slots = new TrainingSlots(1);
        var held = await slots.AcquireAsync(CancellationToken.None);
        using var cts = new CancellationTokenSource();
        var cancelled = slots.AcquireAsync(cts.Token);
        var next = slots.AcquireAsync(CancellationToken.None);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(1, slots.Waiting);
        held.Dispose();
        using var lease = await next.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1, slots.Active);
        Assert.Equal(2, slots.TotalGranted);
    }

    [Fact]
    public void NegativeSlotsAreRejectedWithTheValue()
    {
        var e = Assert.Throws<ArgumentException>(() => new TrainingSlots(-1));
        Assert.Contains("-1", e.Message);
    }

    [Fact]
    public async Task ZeroSlotsNeverGrantOne()
    {
        // A control silo's (TrainingSlots=0): scenes are never placed there, and a waiter would wait until cancelled.
        var slots = new TrainingSlots(0);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slots.AcquireAsync(cts.Token));
        Assert.Equal(0, slots.TotalGranted);
        Assert.Equal(0, slots.Waiting);
    }
}
