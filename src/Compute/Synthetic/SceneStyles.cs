namespace UniCLift.Compute.Synthetic;

/// <summary>
/// Named generator styles: presets over <see cref="SyntheticSceneOptions"/> that each change one thing a real scene
/// or segmenter does differently from the classic room, plus <c>mixed</c> with all of them. Benchmarks report every
/// style, so a figure says something about scenes the method was not tuned on.
/// </summary>
public static class SceneStyles
{
    /// <summary>Style name and what it changes, in the order benchmarks list them.</summary>
    public static readonly IReadOnlyList<(string Name, string Description)> All =
    [
        ("classic", "convex shapes, varied colours, matte, one orbit, Mask2Former-style masks"),
        ("clutter", "thin (poles, boards), concave (tables, L-blocks) and stacked objects in similar colours, many plain"),
        ("glossy", "view-dependent white highlights on most objects"),
        ("far", "test views off the training orbit: closer in, higher up, looking down"),
        ("sam", "SAM-style masks: objects in parts, the floor and walls in pieces, small objects missed"),
        ("mixed", "clutter + glossy + far + sam"),
    ];

    public static IEnumerable<string> Names => All.Select(s => s.Name);

    /// <summary>The options with the style applied (seed, size, views and the rest unchanged).</summary>
    /// <exception cref="ArgumentException">An unknown style, naming it and the known ones.</exception>
    public static SyntheticSceneOptions Apply(string style, SyntheticSceneOptions o) => style.ToLowerInvariant() switch
    {
        "classic" => o,
        "clutter" => o with { Shapes = ShapeSet.Wide, Palette = Palette.Similar },
        "glossy" => o with { Specular = 0.7 },
        "far" => o with { CameraPath = CameraPath.FarTest },
        "sam" => o with { Corruption = CorruptionLevel.Sam },
        "mixed" => o with { Shapes = ShapeSet.Wide, Palette = Palette.Similar, Specular = 0.7, CameraPath = CameraPath.FarTest, Corruption = CorruptionLevel.Sam },
        _ => throw new ArgumentException($"style '{style}': expected one of {string.Join(", ", Names)}.", nameof(style)),
    };
}
