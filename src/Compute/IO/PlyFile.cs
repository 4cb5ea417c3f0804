namespace UniCLift.Compute.IO;

/// <summary>A whole PLY file: format, comments and elements in file order.</summary>
public sealed class PlyFile
{
    public PlyFormat Format { get; init; } = PlyFormat.BinaryLittleEndian;
    public List<string> Comments { get; init; } = [];
    public List<PlyElement> Elements { get; init; } = [];
    /// <summary>Where the file was read from (for error messages); null for files built in memory.</summary>
    public string? Source { get; init; }

    public PlyElement? Find(string element) => Elements.FirstOrDefault(e => e.Name == element);

    public PlyElement Element(string element) =>
        Find(element) ?? throw new InvalidDataException($"{Source ?? "PLY"}: no element '{element}' (has {string.Join(", ", Elements.Select(e => e.Name))}).");
}
