namespace UniCLift.Grains;

using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

/// <summary>Grain state that carries the stamp of the write that stored it (<see cref="StateWrites"/>).</summary>
public interface IStampedState
{
    /// <summary>Set before every write to a value of that write's own; another activation's write carries another.</summary>
    string? WriteStamp { get; set; }
}

/// <summary>Grain state writes that survive Redis faults: the loss of the stored record (Redis restarted empty or
/// flushed), and a write that timed out (Redis paused or slow) but landed later.</summary>
internal static class StateWrites
{
    /// <summary>Per state, the stamps of its writes that failed without an answer (a timeout) since its last write that
    /// succeeded: any of them may have landed after all.</summary>
    private static readonly ConditionalWeakTable<object, HashSet<string>> Unanswered = new();

    /// <summary>
    /// Writes the state. Orleans' Redis grain storage refuses a write whose ETag does not match the stored one with
    /// <see cref="InconsistentStateException"/>; left to the runtime, that exception deactivates the grain, and the
    /// next activation starts from what is stored (nothing, when the record is gone), so what this activation knew
    /// would be lost. Two such refusals are not conflicts and are handled here, writing the state held in memory
    /// again and returning true:
    /// the record is gone (a vanished key has no ETag), or the stored record is one of this state's own writes that
    /// failed without an answer (Redis paused: the client gave up after its timeout, Redis ran the write when it woke,
    /// so the stored ETag is one this activation never saw); each write's stamp (<see cref="IStampedState"/>) tells
    /// which. Any other refusal is a real conflict (another activation wrote the record: after a partition, a stale
    /// activation whose writes had timed out must not write over the live one's): the stored state is loaded and the
    /// exception rethrown.
    /// </summary>
    public static async Task<bool> WriteSurvivingLossAsync<T>(this IPersistentState<T> state, ILogger log, string what) where T : IStampedState
    {
        var stamp = Guid.NewGuid().ToString("N");
        state.State.WriteStamp = stamp;
        try
        {
            await state.WriteStateAsync();
            Unanswered.Remove(state);
            return false;
        }
        catch (InconsistentStateException e)
        {
            var unanswered = Unanswered.TryGetValue(state, out var stamps) ? stamps : null;
            var held = state.State;
            await state.ReadStateAsync(); // takes the stored ETag, or clears it when the record is gone
            bool gone = !state.RecordExists;
            bool ours = !gone && state.State.WriteStamp is { } stored && unanswered?.Contains(stored) == true;
            if (!gone && !ours)
            {
                log.LogWarning(e, "{What}: the stored state was changed elsewhere; loaded it", what);
                throw;
            }
            state.State = held;
            await state.WriteStateAsync();
            Unanswered.Remove(state);
            log.LogWarning(gone
                ? "{What}: the stored state was gone (Redis restarted empty or flushed?); wrote it again from memory"
                : "{What}: the stored state was written by an earlier write that timed out (Redis paused or slow?); wrote it again from memory", what);
            return true;
        }
        catch (Exception)
        {
            Unanswered.GetOrCreateValue(state).Add(stamp);
            throw;
        }
    }
}
