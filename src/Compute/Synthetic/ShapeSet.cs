namespace UniCLift.Compute.Synthetic;

/// <summary>Which objects stand in the room.</summary>
public enum ShapeSet
{
    /// <summary>Convex primitives on the floor: sphere, box, cylinder, cone, capsule.</summary>
    Basic,
    /// <summary>Basic plus thin (poles, slabs), concave (tables on four legs, L-shaped blocks) and stacked objects
    /// (one object standing on a box, slab or table top).</summary>
    Wide,
}
