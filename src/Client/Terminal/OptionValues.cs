namespace UniCLift.Client.Terminal;

using System.CommandLine;
using System.CommandLine.Parsing;
using System.Reflection;
using UniCLift.Compute;

/// <summary>
/// Parsers for the command line's typed options (numbers, enums) whose errors say what was expected in words:
/// System.CommandLine's own say "Cannot parse argument 'abc' for option '--iterations' as expected type
/// 'System.Nullable`1[System.Int32]'". The words are <see cref="OptionText"/>'s, as `--set` and `--decode` values give.
/// </summary>
public static class OptionValues
{
    private static readonly MethodInfo UseTextParser = typeof(OptionValues).GetMethod(nameof(UseOptionText), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Gives every number or enum option of <paramref name="command"/> and its subcommands that has no parser of
    /// its own the <see cref="OptionText"/> parser (flags keep System.CommandLine's: they take no value).</summary>
    public static void Apply(Command command)
    {
        foreach (var option in command.Options)
        {
            var scalar = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
            if (scalar != typeof(bool) && OptionText.IsScalar(scalar))
                UseTextParser.MakeGenericMethod(option.ValueType).Invoke(null, [option, scalar]);
        }
        foreach (var sub in command.Subcommands) Apply(sub);
    }

    /// <summary>Makes <paramref name="option"/> refuse a value outside <paramref name="min"/>..<paramref name="max"/>,
    /// in the same parser that reads it (a validator would read the value again, and throw on a word).</summary>
    public static Option<int> InRange(this Option<int> option, int min, int max)
    {
        option.CustomParser = result =>
        {
            if (!TryRead(option, result, typeof(int), out int value)) return default;
            if (value < min || value > max) result.AddError($"{option.Name} must be in {min}..{max} (got {value}).");
            return value;
        };
        return option;
    }

    /// <summary><see cref="InRange(Option{int}, int, int)"/> for an option whose absence means a default worked out later.</summary>
    public static Option<int?> InRange(this Option<int?> option, int min, int max)
    {
        option.CustomParser = result =>
        {
            if (!TryRead(option, result, typeof(int), out int value)) return null;
            if (value < min || value > max) result.AddError($"{option.Name} must be in {min}..{max} (got {value}).");
            return value;
        };
        return option;
    }

    private static void UseOptionText<T>(Option<T> option, Type scalar)
    {
        if (option.CustomParser is null)
            option.CustomParser = result => TryRead(option, result, scalar, out T value) ? value : default;
    }

    private static bool TryRead<T>(Option option, ArgumentResult result, Type scalar, out T value)
    {
        value = default!;
        // Arity is exactly one for these options: System.CommandLine reports a missing or second value itself.
        if (result.Tokens.Count != 1) return false;
        try
        {
            value = (T)OptionText.Parse(scalar, option.Name, result.Tokens[0].Value, "Option");
            return true;
        }
        catch (ArgumentException e)
        {
            result.AddError(e.Message);
            return false;
        }
    }
}
