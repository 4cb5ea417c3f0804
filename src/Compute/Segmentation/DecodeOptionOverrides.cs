namespace UniCLift.Compute.Segmentation;

using System.Reflection;

/// <summary>
/// "Name=Value" settings of <see cref="DecodeOptions"/> (<c>--decode</c>), as <see cref="Training.TrainingOptionOverrides"/>
/// are of the training options: decoding is a threshold and a few rules on a trained model, so a result can be decoded
/// again under other rules in seconds, without training again. Names are case-insensitive:
/// <list type="bullet">
/// <item>the codebook's knobs by their names (<c>SurfaceSpread</c>, <c>MergeAbsorbedFraction</c>, ...; also as
/// <c>Codebook.SurfaceSpread</c>);</item>
/// <item><c>Blend</c>, <c>GaussianCodes</c>, <c>StuffAsBackground</c>, <c>Overlays</c>;</item>
/// <item><c>SpatialSplit</c>, <c>Cleanup</c> and <c>Strays</c> (true / false: the spatial split, the fragment cleanup and
/// the stray Gaussians' relabelling on or off), and their knobs as <c>SpatialSplit.LinkFraction</c>,
/// <c>Cleanup.MinFraction</c>, <c>Strays.MinShare</c>, ... (an error while that stage is off).</item>
/// </list>
/// </summary>
public static class DecodeOptionOverrides
{
    private const string Kind = "Decode option";
    private const string CodebookGroup = nameof(DecodeOptions.Codebook);

    /// <summary>A stage that can be off (its options null): its name, its options' defaults, how to read and replace them.</summary>
    private sealed record Stage(string Name, object Default, Func<DecodeOptions, object?> Get, Func<DecodeOptions, object?, DecodeOptions> With);

    private static readonly Stage[] Stages =
    [
        new(nameof(DecodeOptions.SpatialSplit), SpatialSplitOptions.Default, o => o.SpatialSplit, (o, v) => o with { SpatialSplit = (SpatialSplitOptions?)v }),
        new(nameof(DecodeOptions.Cleanup), FragmentOptions.Default, o => o.Cleanup, (o, v) => o with { Cleanup = (FragmentOptions?)v }),
        new(nameof(DecodeOptions.Strays), StrayOptions.Default, o => o.Strays, (o, v) => o with { Strays = (StrayOptions?)v }),
    ];

    /// <summary>One settable knob: its name, the property, the stage it belongs to (null: always on), and how to read
    /// and replace the record that holds it.</summary>
    private sealed record Knob(string Name, PropertyInfo Property, Stage? Stage, Func<DecodeOptions, object?> Owner, Func<DecodeOptions, object, DecodeOptions> WithOwner);

    private static readonly IReadOnlyList<Knob> Knobs = BuildKnobs();

    /// <summary>Every name <see cref="Apply"/> takes for a knob (a codebook knob also as <c>Codebook.Name</c>).</summary>
    private static readonly Dictionary<string, Knob> ByName = BuildByName();

    private static List<Knob> BuildKnobs()
    {
        var knobs = new List<Knob>();
        foreach (var p in OptionText.Scalars(typeof(DecodeOptions)))
            knobs.Add(new Knob(p.Name, p, null, o => o, (_, owner) => (DecodeOptions)owner));
        foreach (var p in OptionText.Scalars(typeof(CodebookOptions)))
            knobs.Add(new Knob(p.Name, p, null, o => o.Codebook, (o, owner) => o with { Codebook = (CodebookOptions)owner }));
        foreach (var stage in Stages)
            foreach (var p in OptionText.Scalars(stage.Default.GetType()))
                knobs.Add(new Knob($"{stage.Name}.{p.Name}", p, stage, stage.Get, stage.With));
        return knobs;
    }

    private static Dictionary<string, Knob> BuildByName()
    {
        var byName = new Dictionary<string, Knob>(StringComparer.OrdinalIgnoreCase);
        foreach (var k in Knobs)
        {
            byName[k.Name] = k;
            if (k.Property.DeclaringType == typeof(CodebookOptions)) byName[$"{CodebookGroup}.{k.Name}"] = k;
        }
        return byName;
    }

    /// <summary>Every name <see cref="Apply"/> takes with its value in <paramref name="options"/> (a stage that is off
    /// shows as <c>SpatialSplit=false</c> alone), for help texts.</summary>
    public static IReadOnlyList<string> Describe(DecodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var lines = new List<string>();
        foreach (var k in Knobs)
        {
            if (k.Owner(options) is { } owner) lines.Add($"{k.Name}={OptionText.Format(k.Property.GetValue(owner))}");
        }
        foreach (var stage in Stages) lines.Add($"{stage.Name}={OptionText.Format(stage.Get(options) is not null)}");
        return lines;
    }

    /// <summary>
    /// The settings in which <paramref name="options"/> differs from <paramref name="baseline"/> (default: a fresh
    /// <see cref="DecodeOptions"/>), as "Name=Value" lines that <see cref="Apply"/> takes back onto that baseline: what a
    /// result was decoded with, for metrics.json.
    /// </summary>
    public static IReadOnlyList<string> Differences(DecodeOptions options, DecodeOptions? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        baseline ??= new DecodeOptions();
        var lines = new List<string>();
        foreach (var stage in Stages)
            if (stage.Get(options) is not null != stage.Get(baseline) is not null) lines.Add($"{stage.Name}={OptionText.Format(stage.Get(options) is not null)}");
        foreach (var k in Knobs)
        {
            if (k.Owner(options) is not { } owner) continue;
            // A stage turned on here is compared with its defaults: the line above turns it on, these set it.
            var baseOwner = k.Owner(baseline) ?? k.Stage!.Default;
            string value = OptionText.Format(k.Property.GetValue(owner)), was = OptionText.Format(k.Property.GetValue(baseOwner));
            if (value != was) lines.Add($"{k.Name}={value}");
        }
        return lines;
    }

    /// <summary>A copy of <paramref name="options"/> with every "Name=Value" applied in order, validated
    /// (<see cref="DecodeOptions.Validate"/>): an unknown name or a bad value is an <see cref="ArgumentException"/> naming it.</summary>
    public static DecodeOptions Apply(DecodeOptions options, IEnumerable<string>? settings)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (settings is null) return options.Validate();
        var result = options;
        foreach (var setting in settings)
        {
            var (name, text) = OptionText.Split(setting, Kind);
            if (Stages.FirstOrDefault(st => string.Equals(name, st.Name, StringComparison.OrdinalIgnoreCase)) is { } stage)
            {
                bool on = (bool)OptionText.Parse(typeof(bool), stage.Name, text, Kind);
                result = stage.With(result, on ? stage.Get(result) ?? stage.Default : null);
                continue;
            }
            if (!ByName.TryGetValue(name, out var knob))
                throw new ArgumentException($"Unknown decode option '{name}'. Known: {string.Join(", ", Knobs.Select(k => k.Name).Concat(Stages.Select(st => st.Name)).Order(StringComparer.Ordinal))}.");
            var owner = knob.Owner(result)
                ?? throw new ArgumentException($"Decode option {knob.Name}: that stage is off ({knob.Name[..knob.Name.IndexOf('.')]}=false).");
            var copy = OptionText.Copy(owner);
            knob.Property.SetValue(copy, OptionText.Parse(knob.Property.PropertyType, knob.Name, text, Kind));
            result = knob.WithOwner(result, copy);
        }
        return result.Validate();
    }
}
