namespace UniCLift.Compute.IO;

/// <summary>A property as declared in the header. List properties have <see cref="ListCountType"/> set.</summary>
public sealed record PlyProperty(string Name, PlyType Type, PlyType? ListCountType = null)
{
    public bool IsList => ListCountType is not null;
}
