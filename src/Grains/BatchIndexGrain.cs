namespace UniCLift.Grains;

[GenerateSerializer, Alias("UniCLift.BatchIndexState")]
public sealed class BatchIndexState
{
    [Id(0)] public List<string> Batches { get; set; } = [];
}

/// <summary>Every batch id ever submitted, oldest first (persisted).</summary>
public sealed class BatchIndexGrain([PersistentState("batches", "uniclift")] IPersistentState<BatchIndexState> state) : Grain, IBatchIndexGrain
{
    public async Task Add(string batchId)
    {
        if (state.State.Batches.Contains(batchId)) return;
        state.State.Batches.Add(batchId);
        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<string>> List() => Task.FromResult<IReadOnlyList<string>>(state.State.Batches.ToList());
}
