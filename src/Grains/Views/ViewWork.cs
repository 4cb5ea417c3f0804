namespace UniCLift.Grains.Views;

/// <summary>
/// Runs view grains' pixel work (rendering, code statistics, label writing) on the thread pool, at
/// most <paramref name="concurrency"/> at a time per silo: the rasteriser already uses every core per view, so a
/// pass fanning out dozens of views queues them here in order instead of time-slicing them all at once.
/// </summary>
public sealed class ViewWork(int concurrency)
{
    private readonly SemaphoreSlim gate = new(Math.Max(1, concurrency));

    public async Task<T> RunAsync<T>(Func<T> work)
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try { return await Task.Run(work).ConfigureAwait(false); }
        finally { gate.Release(); }
    }
}
