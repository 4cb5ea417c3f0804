namespace UniCLift.Silo;

using System.Globalization;
using System.Reflection;
using UniCLift.Compute;
using UniCLift.Grains.Hosting;

/// <summary>
/// Checks the configuration section "UniCLift" of the silo program before it is bound (SiloBuilderExtensions binds it
/// and checks some ranges itself): every number, true/false and duration must parse, and the values the silo would
/// otherwise accept silently or fail on only at start (a port out of range, an unknown device, a checkpoint directory
/// that is a file, an empty id) are refused. Each problem is one line naming the setting and its value.
/// </summary>
public static class SiloOptionsCheck
{
    private static string Key(string name) => $"{UniCLiftSiloOptions.Section}:{name}";

    /// <summary>Throws <see cref="SiloOptionsException"/> naming every problem <see cref="Problems"/> finds.</summary>
    public static void Check(IConfiguration configuration)
    {
        var problems = Problems(configuration);
        if (problems.Count > 0) throw new SiloOptionsException(string.Join("; ", problems));
    }

    /// <summary>What is wrong with the silo's settings, one entry per setting; empty when nothing is.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        var section = configuration.GetSection(UniCLiftSiloOptions.Section);
        var problems = new List<string>();
        var malformed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        // What the binder cannot convert (it would throw "Failed to convert configuration value ... to type 'System.Int32'").
        foreach (var property in typeof(UniCLiftSiloOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite || section[property.Name] is not { } value) continue;
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            bool nullable = type != property.PropertyType;
            if (nullable && value.Length == 0) continue; // the binder leaves an empty nullable unset
            string? problem = null;
            if (type == typeof(TimeSpan))
            {
                if (!TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _))
                    problem = $"{Key(property.Name)}: '{value}' is not a duration such as 00:00:20 (hh:mm:ss) or 7.00:00:00 (days.hh:mm:ss)";
            }
            else if (OptionText.IsScalar(type))
            {
                // The words the console's options and --set use ("is not a whole number.", "is out of range (...)").
                try { OptionText.Parse(type, Key(property.Name), value.Trim(), kind: ""); }
                catch (ArgumentException e) { problem = e.Message.TrimEnd('.'); }
            }
            if (problem is null) continue;
            problems.Add(problem);
            malformed.Add(property.Name);
        }

        // Ranges SiloBuilderExtensions does not check: values it would take silently, or that fail only as the silo starts.
        int? Int(string name) => !malformed.Contains(name) && section[name] is { } v && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : null;
        TimeSpan? Duration(string name) => !malformed.Contains(name) && section[name] is { } v && TimeSpan.TryParse(v, CultureInfo.InvariantCulture, out var t) ? t : null;

        foreach (var name in new[] { nameof(UniCLiftSiloOptions.SiloPort), nameof(UniCLiftSiloOptions.GatewayPort) })
            if (Int(name) is { } port and (< 1 or > 65535)) problems.Add($"{Key(name)}: '{port}' is not a port (1 to 65535)");
        foreach (var name in new[] { nameof(UniCLiftSiloOptions.CheckpointsToKeep), nameof(UniCLiftSiloOptions.DecodeGroupSize) })
            if (Int(name) is { } n and < 1) problems.Add($"{Key(name)}: '{n}' must be at least 1");
        foreach (var name in new[] { nameof(UniCLiftSiloOptions.SupervisionInterval), nameof(UniCLiftSiloOptions.ReminderPeriod) })
            if (Duration(name) is { } t && t <= TimeSpan.Zero) problems.Add($"{Key(name)}: '{section[name]}' must be a positive duration");

        if (section[nameof(UniCLiftSiloOptions.Device)] is { } device && !Compute.Cuda.CudaRuntime.TryParseDeviceName(device, out _))
            problems.Add($"{Key(nameof(UniCLiftSiloOptions.Device))}: '{device}' is not one of cpu, cuda, cuda:N");
        foreach (var name in new[] { nameof(UniCLiftSiloOptions.ClusterId), nameof(UniCLiftSiloOptions.ServiceId), nameof(UniCLiftSiloOptions.CheckpointDirectory) })
            if (section[name] is { } v && string.IsNullOrWhiteSpace(v)) problems.Add($"{Key(name)} is empty");
        if (section[nameof(UniCLiftSiloOptions.CheckpointDirectory)] is { Length: > 0 } checkpoints && File.Exists(checkpoints))
            problems.Add($"{Key(nameof(UniCLiftSiloOptions.CheckpointDirectory))}: '{checkpoints}' is a file, not a directory");
        return problems;
    }
}
