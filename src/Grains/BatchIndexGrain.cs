namespace UniCLift.Grains;

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UniCLift.Grains.Hosting;

[GenerateSerializer, Alias("UniCLift.BatchIndexState")]
public sealed class BatchIndexState : IStampedState
{
    /// <summary>Batch ids, oldest first.</summary>
    [Id(0)] public List<string> Batches { get; set; } = [];
    /// <summary>When each batch was indexed. A batch indexed by a build before 2026-12 has none: its retention time
    /// starts when this build first sees it.</summary>
    [Id(1)] public Dictionary<string, DateTime> IndexedUtc { get; set; } = [];
    /// <summary>The stamp of the write that stored this state (<see cref="IStampedState"/>).</summary>
    [Id(2)] public string? WriteStamp { get; set; }
}

/// <summary>
/// The batches submitted, oldest first (persisted), within <see cref="UniCLiftSiloOptions.BatchesToKeep"/> and
/// <see cref="UniCLiftSiloOptions.BatchRetention"/>: a batch that falls out is forgotten (its summary and its scenes'
/// state deleted); a batch still running stays until it finishes.
/// </summary>
public sealed class BatchIndexGrain(
    [PersistentState("batches", "uniclift")] IPersistentState<BatchIndexState> state,
    IOptions<UniCLiftSiloOptions> options,
    TimeProvider clock,
    ILogger<BatchIndexGrain> log) : Grain, IBatchIndexGrain
{
    public async Task Add(string batchId)
    {
        if (state.State.Batches.Contains(batchId)) return;
        state.State.Batches.Add(batchId);
        state.State.IndexedUtc[batchId] = clock.GetUtcNow().UtcDateTime;
        await Prune();
        await state.WriteSurvivingLossAsync(log, "Batch index");
    }

    public async Task<IReadOnlyList<string>> List()
    {
        if (await Prune()) await state.WriteSurvivingLossAsync(log, "Batch index");
        return state.State.Batches.ToList();
    }

    /// <summary>Forgets the batches beyond the count or older than the retention, oldest first; true if any changed.</summary>
    private async Task<bool> Prune()
    {
        var s = state.State;
        var now = clock.GetUtcNow().UtcDateTime;
        bool changed = false;
        foreach (var id in s.Batches.Where(id => !s.IndexedUtc.ContainsKey(id)))
        {
            s.IndexedUtc[id] = now;
            changed = true;
        }
        var oldest = now - options.Value.BatchRetention;
        int excess = s.Batches.Count - options.Value.BatchesToKeep;
        var candidates = s.Batches.Where((id, i) => i < excess || s.IndexedUtc[id] < oldest).ToList();
        foreach (var id in candidates)
        {
            bool forgotten;
            try { forgotten = await GrainFactory.GetGrain<ICoordinatorGrain>(id).Forget(); }
            catch (Exception e)
            {
                log.LogWarning(e, "Batch index: batch {Batch} not forgotten now; tried again later", id);
                continue;
            }
            if (!forgotten) continue; // still running
            s.Batches.Remove(id);
            s.IndexedUtc.Remove(id);
            changed = true;
        }
        return changed;
    }
}
