namespace UniCLift.Compute.Synthetic;

/// <summary>Object shapes; each is its own semantic ("thing") class. The first five are the basic convex set; pole and
/// slab are thin, table (a top on four legs) and L-block are concave and made of several parts.</summary>
public enum ShapeKind { Sphere, Box, Cylinder, Cone, Capsule, Pole, Slab, Table, LBlock }
