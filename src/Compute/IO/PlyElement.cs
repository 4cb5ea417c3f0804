namespace UniCLift.Compute.IO;

/// <summary>An element (vertex, face, ...): its row count, declared properties and the scalar columns read.</summary>
public sealed class PlyElement
{
    public string Name { get; }
    public int Count { get; }
    /// <summary>Every declared property, lists included, in header order.</summary>
    public IReadOnlyList<PlyProperty> Properties { get; }
    /// <summary>Scalar columns in header order (list properties are skipped on read and cannot be written).</summary>
    public IReadOnlyList<PlyColumn> Columns { get; }

    public PlyElement(string name, int count, IReadOnlyList<PlyProperty> properties, IReadOnlyList<PlyColumn> columns)
    {
        Name = name;
        Count = count;
        Properties = properties;
        Columns = columns;
    }

    /// <summary>An element to write, made of scalar columns that all have the same length.</summary>
    public PlyElement(string name, IReadOnlyList<PlyColumn> columns)
        : this(name, columns.Count == 0 ? 0 : columns[0].Count, columns.Select(c => new PlyProperty(c.Name, c.Type)).ToList(), columns)
    {
        foreach (var c in columns)
            if (c.Count != Count) throw new ArgumentException($"PLY element '{name}': column '{c.Name}' has {c.Count} values, '{columns[0].Name}' has {Count}.");
    }

    public bool Has(string property) => Columns.Any(c => c.Name == property);

    public PlyColumn? Find(string property) => Columns.FirstOrDefault(c => c.Name == property);

    public PlyColumn Column(string property) =>
        Find(property) ?? throw new KeyNotFoundException($"PLY element '{Name}' has no scalar property '{property}'.");
}
