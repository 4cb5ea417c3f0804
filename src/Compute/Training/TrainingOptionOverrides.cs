namespace UniCLift.Compute.Training;

using System.Globalization;
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
            int eq = setting.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"Training option '{setting}' is not of the form Name=Value.");
            string name = setting[..eq].Trim(), text = setting[(eq + 1)..].Trim();
            if (!props.TryGetValue(name, out var prop))
                throw new ArgumentException($"Unknown training option '{name}'. Known: {string.Join(", ", props.Keys.Order(StringComparer.Ordinal))}.");
            // The record's init accessor is an ordinary setter to reflection; 'with' above made the copy it writes to.
            prop.SetValue(result, Parse(prop, text));
        }
        return result;
    }

    private static IEnumerable<PropertyInfo> Settable() =>
        typeof(TrainingOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.SetMethod!.IsPublic && IsScalar(p.PropertyType) && p.Name != nameof(TrainingOptions.Mode))
            .OrderBy(p => p.MetadataToken);

    private static bool IsScalar(Type t) =>
        t.IsEnum || t == typeof(int) || t == typeof(long) || t == typeof(ulong) || t == typeof(double) || t == typeof(float) || t == typeof(bool);

    private static object Parse(PropertyInfo prop, string text)
    {
        var t = prop.PropertyType;
        try
        {
            if (t.IsEnum)
            {
                if (Enum.TryParse(t, text, ignoreCase: true, out var e) && Enum.IsDefined(t, e!) && !char.IsDigit(text[0]) && text[0] != '-') return e!;
                throw new FormatException($"expected one of {string.Join(", ", Enum.GetNames(t))}");
            }
            if (t == typeof(bool)) return bool.Parse(text);
            return Convert.ChangeType(text, t, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidCastException)
        {
            throw new ArgumentException($"Training option {prop.Name}: '{text}' is not a valid {t.Name} ({ex.Message}).");
        }
    }

    private static string Format(object? v) => v switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        null => "",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };
}
