namespace UniCLift.Compute.Metrics;

/// <summary>What evaluating a prediction of a scene found: the figures plus bookkeeping for reports.</summary>
public sealed record SceneEvaluation(
    PanopticResult Result, PanopticProtocol Protocol, string Split, int Frames, IReadOnlyList<string> MissingFrames, bool Robust, int Resize);
