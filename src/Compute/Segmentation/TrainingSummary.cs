namespace UniCLift.Compute.Segmentation;

using System.Text.Json;
using System.Text.Json.Nodes;
using UniCLift.Compute.IO;
using UniCLift.Compute.Training;

/// <summary>How a scene was trained, for metrics.json (written next to model.ply as training.json by the cluster).
/// <see cref="Settings"/>: the training options that differ from the mode's defaults, as <c>--set</c> takes them
/// (<see cref="TrainingOptionOverrides.Differences"/>); null in a summary written before it was recorded.</summary>
public sealed record TrainingSummary(string Mode, int Iterations, double Seconds, JsonArray? LossCurve, IReadOnlyList<string>? Settings = null)
{
    public const string FileName = "training.json";

    public static TrainingSummary Of(SceneTrainer trainer, double seconds, IReadOnlyList<TrainingStepReport>? curve) =>
        new(trainer.Options.Mode.ToString().ToLowerInvariant(), trainer.CurrentStep, seconds,
            curve is null ? null : SceneSegmentation.LossCurveSummary(curve), TrainingOptionOverrides.Differences(trainer.Options));

    /// <summary>Whether the training counted the masks' stuff segments as background (its <c>StuffAsBackground</c>
    /// setting; the default, true, when the summary records none), which decoding follows unless told otherwise.</summary>
    public bool StuffAsBackground =>
        TrainingOptionOverrides.Apply(new TrainingOptions(), Settings?.Where(s => s.StartsWith(nameof(TrainingOptions.StuffAsBackground) + "=", StringComparison.OrdinalIgnoreCase)))
            .StuffAsBackground;

    /// <summary>The settings as a JSON array (null when not recorded).</summary>
    public JsonArray? SettingsJson() => Settings is null ? null : new JsonArray(Settings.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());

    public void Write(string path) => AtomicFile.WriteAllText(path, new JsonObject
    {
        ["mode"] = Mode,
        ["iterations"] = Iterations,
        ["seconds"] = Math.Round(Seconds, 2),
        ["settings"] = SettingsJson(),
        ["loss_curve"] = LossCurve?.DeepClone(),
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    public static TrainingSummary Read(string path)
    {
        try
        {
            var o = JsonNode.Parse(DataFile.ReadAllText(path))?.AsObject() ?? throw new InvalidDataException($"{path}: empty.");
            return new TrainingSummary(
                o["mode"]?.GetValue<string>() ?? throw new InvalidDataException($"{path}: no 'mode'."),
                o["iterations"]?.GetValue<int>() ?? throw new InvalidDataException($"{path}: no 'iterations'."),
                o["seconds"]?.GetValue<double>() ?? 0,
                o["loss_curve"]?.AsArray().DeepClone().AsArray(),
                o["settings"]?.AsArray().Select(n => n?.GetValue<string>() ?? throw new InvalidDataException($"{path}: an empty entry in 'settings'.")).ToList());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a training summary ({e.Message}).", e);
        }
    }
}
