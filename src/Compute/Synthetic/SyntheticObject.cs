namespace UniCLift.Compute.Synthetic;

/// <summary>
/// One object standing on the floor (z = 0, z up) or, when <paramref name="StandsOn"/> is not 0, on top of that
/// object. Centre is the centre of its bounding box (world metres); Size is the full bounding-box extent in its own
/// frame (x, y, z); Yaw rotates it about the vertical axis (radians). Radius/height per shape: sphere radius =
/// Size.X/2; cylinder, cone, capsule, pole radius = Size.X/2, height = Size.Z.
/// </summary>
public sealed record SyntheticObject(
    int InstanceId,
    ShapeKind Shape,
    int SemanticClass,
    double[] Centre,
    double[] Size,
    double Yaw,
    byte[] Colour,
    string Texture,
    int StandsOn = 0);
