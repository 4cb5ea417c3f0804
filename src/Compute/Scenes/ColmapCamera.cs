namespace UniCLift.Compute.Scenes;

/// <summary>A COLMAP camera as stored: id, model id (see <see cref="ColmapModels"/>), size and the model's parameters.</summary>
public sealed record ColmapCamera(int Id, int ModelId, long Width, long Height, double[] Params);
