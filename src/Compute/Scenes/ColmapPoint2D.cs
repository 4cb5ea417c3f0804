namespace UniCLift.Compute.Scenes;

/// <summary>A 2D feature of an image: position and the 3D point it observes (-1: none).</summary>
public readonly record struct ColmapPoint2D(double X, double Y, long Point3DId);
