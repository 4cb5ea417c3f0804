namespace UniCLift.Compute.Segmentation;

using System.Text.Json;
using System.Text.Json.Nodes;
using UniCLift.Compute.IO;
using UniCLift.Compute.Training;

/// <summary>How a scene was trained, for metrics.json (written next to model.ply as training.json by the cluster).</summary>
public sealed record TrainingSummary(string Mode, int Iterations, double Seconds, JsonArray? LossCurve)
{
    public const string FileName = "training.json";

    public static TrainingSummary Of(SceneTrainer trainer, double seconds, IReadOnlyList<TrainingStepReport>? curve) =>
        new(trainer.Options.Mode.ToString().ToLowerInvariant(), trainer.CurrentStep, seconds,
            curve is null ? null : SceneSegmentation.LossCurveSummary(curve));

    public void Write(string path) => AtomicFile.WriteAllText(path, new JsonObject
    {
        ["mode"] = Mode,
        ["iterations"] = Iterations,
        ["seconds"] = Math.Round(Seconds, 2),
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
                o["loss_curve"]?.AsArray().DeepClone().AsArray());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: not a training summary ({e.Message}).", e);
        }
    }
}
