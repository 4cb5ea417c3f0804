namespace UniCLift.Compute;

/// <summary>
/// The one rule for what an exception means to a user and how to say it, shared by the console (exit code and error
/// line) and the grains (a scene's failure reason). Bad input (a missing or malformed file, an invalid value, an unknown
/// name or id) is something the user can fix: its message names the file or value and is shown alone. A missing piece of
/// the environment (<see cref="EnvironmentException"/>: no GPU, driver, CUDA libtorch or NVRTC; no cluster at the
/// address given) and a write the file system refused (<see cref="IO.CannotWriteException"/>: a full disk, a read-only
/// file system) are said in one line of their own, as is a file the process may not open (.NET's "Access to the path
/// '...' is denied."). Anything else is a failure
/// that the message alone may not explain, so its type goes in front.
/// </summary>
public static class FailurePolicy
{
    /// <summary>Whether <paramref name="e"/> is the user's input being wrong (exit code 2 in the console). An argument out of
    /// range that a library threw (an index into an empty tensor inside TorchSharp, a Substring in the runtime) is this
    /// program's fault, not the input's: it is reported with its type, as a failure (a degree-0 model read back once
    /// failed "Specified argument was out of the range of valid values" as if the scene were bad).</summary>
    public static bool IsBadInput(Exception e) => Unwrap(e) switch
    {
        ArgumentOutOfRangeException range => ThrownHere(range),
        var inner => inner is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or KeyNotFoundException,
    };

    /// <summary>Whether a UniCLift assembly threw <paramref name="e"/> (its own checks), not a library it called; one never
    /// thrown (made to be reported) counts as its own.</summary>
    private static bool ThrownHere(Exception e) =>
        e.TargetSite?.DeclaringType?.Assembly.GetName().Name is not { } name
        || name.StartsWith("UniCLift", StringComparison.Ordinal) || name == "uniclift";

    /// <summary>One line saying what went wrong: the message for bad input and the environment, "Type: message" otherwise.</summary>
    public static string Describe(Exception e)
    {
        var inner = Unwrap(e);
        var text = IsBadInput(inner) || inner is EnvironmentException or IO.CannotWriteException or UnauthorizedAccessException ? Message(inner) : $"{inner.GetType().Name}: {inner.Message}";
        if (e is AggregateException { InnerExceptions.Count: > 1 } all) text += $" (and {all.InnerExceptions.Count - 1} more alike)";
        return text.ReplaceLineEndings(" ");
    }

    /// <summary>The message without the " (Parameter 'TestEvery')" .NET appends to an argument exception's: our messages
    /// name the value themselves, and the property's name is no option a user typed.</summary>
    private static string Message(Exception e) =>
        e is ArgumentException { ParamName: { Length: > 0 } name } && e.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
            ? e.Message[..^$" (Parameter '{name}')".Length]
            : e.Message;

    /// <summary>An exception's message on one line without the stack trace some carry inside it (Orleans' rejections
    /// quote their inner exception's "   at Orleans.Runtime..." frames).</summary>
    public static string WithoutStackTrace(string message)
    {
        var frame = System.Text.RegularExpressions.Regex.Match(message, @"\s+at [\w.`<>\[\],]+\(");
        return (frame.Success ? message[..frame.Index] : message).ReplaceLineEndings(" ").Trim();
    }

    /// <summary>What a parallel loop or a task wrapped (a view's image that fails to load inside Parallel.For arrives as an
    /// AggregateException): its first inner exception, itself unwrapped.</summary>
    public static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is AggregateException { InnerExceptions.Count: > 0 } a) e = a.InnerExceptions[0];
            else if (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) e = inner;
            else return e;
        }
    }
}
