namespace UniCLift.Compute.Training;

using System.Reflection;

/// <summary>
/// "Name=Value" settings of <see cref="TrainingOptions"/>' scalar properties (numbers, booleans, enums), so the
/// method's open points can be set from a command line without a flag per knob. Names are case-insensitive.
/// </summary>
public static class TrainingOptionOverrides
{
    /// <summary>The settable property names with their current values, for help texts and error messages.</summary>
    public static IReadOnlyList<string> Describe(TrainingOptions options) =>
        Settable().Select(p => $"{p.Name}={Format(p.GetValue(options))}").ToList();

    /// <summary>
    /// The settings in which <paramref name="options"/> differs from the defaults of its mode, as "Name=Value" lines
    /// that <see cref="Apply"/> (and <c>--set</c>) take back; the iteration count, which a summary names on its own,
    /// is left out. What a result was trained with, for training.json and metrics.json.
    /// </summary>
    public static IReadOnlyList<string> Differences(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var defaults = TrainingOptions.From(options.Mode, options.Iterations);
        return Settable().Where(p => p.Name != nameof(TrainingOptions.Iterations))
            .Select(p => (p.Name, Value: Format(p.GetValue(options)), Default: Format(p.GetValue(defaults))))
            .Where(d => d.Value != d.Default).Select(d => $"{d.Name}={d.Value}").ToList();
    }

    /// <summary>Returns a copy of <paramref name="options"/> with every "Name=Value" applied in order (not validated:
    /// <see cref="TrainingOptions.Validate"/> does that at the edge and in the trainer).</summary>
    public static TrainingOptions Apply(TrainingOptions options, IEnumerable<string>? settings)
    {
        if (settings is null) return options;
        var props = Settable().ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        var result = options with { };
        foreach (var setting in settings)
        {
            var (name, text) = OptionText.Split(setting, Kind);
            if (!props.TryGetValue(name, out var prop))
                throw new ArgumentException($"Unknown training option '{name}'. Known: {string.Join(", ", props.Keys.Order(StringComparer.Ordinal))}.");
            // The record's init accessor is an ordinary setter to reflection; 'with' above made the copy it writes to.
            prop.SetValue(result, OptionText.Parse(prop.PropertyType, prop.Name, text, Kind));
        }
        return result;
    }

    private const string Kind = "Training option";

    private static IEnumerable<PropertyInfo> Settable() =>
        OptionText.Scalars(typeof(TrainingOptions)).Where(p => p.Name != nameof(TrainingOptions.Mode));

    private static string Format(object? v) => OptionText.Format(v);
}
