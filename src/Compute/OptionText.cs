namespace UniCLift.Compute;

using System.Globalization;
using System.Reflection;

/// <summary>
/// The text form of an options record's scalar knobs (numbers, booleans, enums), as "Name=Value" settings take them
/// (<see cref="Training.TrainingOptionOverrides"/>, <see cref="Segmentation.DecodeOptionOverrides"/>): one parser and
/// one formatter, so a value written into a result (its settings) reads back as the same value.
/// </summary>
public static class OptionText
{
    public static bool IsScalar(Type t) =>
        t.IsEnum || t == typeof(int) || t == typeof(long) || t == typeof(ulong) || t == typeof(double) || t == typeof(float) || t == typeof(bool);

    /// <summary>Splits "Name=Value" (both trimmed); <paramref name="kind"/> names the options in the error ("Training option").</summary>
    public static (string Name, string Value) Split(string setting, string kind)
    {
        ArgumentNullException.ThrowIfNull(setting);
        int eq = setting.IndexOf('=');
        if (eq <= 0) throw new ArgumentException($"{kind} '{setting}' is not of the form Name=Value.");
        return (setting[..eq].Trim(), setting[(eq + 1)..].Trim());
    }

    /// <summary>The value of <paramref name="text"/> as <paramref name="type"/>; an error names the option and the text
    /// ("{kind} {name}: 'text' is not a whole number.", or without the kind when it is empty).</summary>
    public static object Parse(Type type, string name, string text, string kind)
    {
        try
        {
            if (type.IsEnum)
            {
                if (text.Length > 0 && Enum.TryParse(type, text, ignoreCase: true, out var e) && Enum.IsDefined(type, e!) && !char.IsDigit(text[0]) && text[0] != '-') return e!;
                throw new FormatException();
            }
            if (type == typeof(bool)) return bool.Parse(text);
            return Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"{Named(kind, name)}: '{text}' is out of range ({Range(type)}).");
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException)
        {
            throw new ArgumentException($"{Named(kind, name)}: '{text}' is not {Expected(type)}.");
        }
    }

    private static string Named(string kind, string name) => kind.Length == 0 ? name : $"{kind} {name}";

    /// <summary>What a value of <paramref name="type"/> looks like, in words, for an error (no .NET type names: "Int32"
    /// means nothing to someone typing --set on a command line).</summary>
    private static string Expected(Type type) =>
        type == typeof(bool) ? "true or false"
        : type == typeof(double) || type == typeof(float) ? "a number"
        : type == typeof(ulong) ? "a whole number >= 0"
        : type == typeof(int) || type == typeof(long) ? "a whole number"
        : type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type))}"
        : $"a value of type {type.Name}";

    // Only the whole numbers overflow: a float or double too large parses as infinity, which the options' checks refuse.
    private static string Range(Type type) =>
        type == typeof(int) ? $"{int.MinValue} to {int.MaxValue}"
        : type == typeof(long) ? $"{long.MinValue} to {long.MaxValue}"
        : $"0 to {ulong.MaxValue}";

    public static string Format(object? v) => v switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        null => "",
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>The public settable scalar properties of <paramref name="type"/> in declaration order.</summary>
    public static IEnumerable<PropertyInfo> Scalars(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.SetMethod!.IsPublic && IsScalar(p.PropertyType))
            .OrderBy(p => p.MetadataToken);

    /// <summary>A copy of a record (its compiler-made clone, found on its runtime type): reflection then writes the copy's
    /// init-only properties.</summary>
    public static object Copy(object record) =>
        (record.GetType().GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance)
            ?? throw new ArgumentException($"{record.GetType().Name} is not a record.", nameof(record))).Invoke(record, null)!;
}
