namespace UniCLift.Grains.Scenes;

/// <summary>
/// When a training's periodic checkpoint falls due: <see cref="Interval"/> iterations after the previous one started, and
/// no sooner than <see cref="MinTime"/> after it. The iterations bound the work a failure can lose where steps are slow
/// (a CPU: 200 iterations of a 60-view 320x240 scene take about 40 s); the time keeps a fast device training (a GPU:
/// 200 iterations in about a second, a paper-scale checkpoint of a few hundred MB) from spending its time and its
/// disk on checkpoints.
/// </summary>
public readonly record struct CheckpointCadence(int Interval, TimeSpan MinTime)
{
    /// <summary>Whether a checkpoint is due <paramref name="steps"/> iterations and <paramref name="elapsed"/> after the
    /// previous one started (or the run did).</summary>
    public bool IsDue(int steps, TimeSpan elapsed) => steps >= Math.Max(1, Interval) && elapsed >= MinTime;
}
