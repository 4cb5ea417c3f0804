namespace UniCLift.Compute.Synthetic;

/// <summary>Object shapes; each is its own semantic ("thing") class.</summary>
public enum ShapeKind { Sphere, Box, Cylinder, Cone, Capsule }
