namespace UniCLift.Client.Terminal;

using System.CommandLine;
using Spectre.Console;

/// <summary>Exit codes every `uniclift` command uses.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>An unexpected failure (a bug or the environment); System.CommandLine prints the exception.</summary>
    public const int Failure = 1;
    /// <summary>The user's input is wrong: bad path, malformed file, invalid value. One red line says what.</summary>
    public const int UserError = 2;
    /// <summary>Stopped by SIGINT (Ctrl-C): 128 + 2, as a shell reports a process that SIGINT ended.</summary>
    public const int Interrupted = 130;
    /// <summary>Stopped by SIGTERM: 128 + 15.</summary>
    public const int Terminated = 143;

    /// <summary>The exit code of a command stopped by <paramref name="signal"/> (SIGINT or SIGTERM).</summary>
    public static int For(System.Runtime.InteropServices.PosixSignal signal) =>
        signal == System.Runtime.InteropServices.PosixSignal.SIGTERM ? Terminated : Interrupted;
}

/// <summary>
/// Where a command writes, bound to the invocation's writers (so tests can capture them): <see cref="Out"/> is a Spectre
/// console on standard output (tables, markup), <see cref="OutWriter"/> the raw writer for machine-readable output
/// (JSON), <see cref="ErrorWriter"/> standard error for warnings and errors (one line each, coloured only on a terminal
/// without NO_COLOR). Output that is not a terminal gets no ANSI codes, so captured or piped text is plain.
/// </summary>
/// <remarks>
/// This folder is src/Client/Console but the namespace is UniCLift.Client.Terminal: a namespace named Console would
/// shadow System.Console in every file under UniCLift.Client.
/// </remarks>
public sealed class CommandConsole
{
    public CommandConsole(TextWriter output, TextWriter error)
    {
        OutWriter = output;
        ErrorWriter = error;
        Out = Create(output, IsTerminal(output));
        errorColours = IsTerminal(error) && Environment.GetEnvironmentVariable("NO_COLOR") is null;
    }

    public IAnsiConsole Out { get; }
    public TextWriter OutWriter { get; }
    public TextWriter ErrorWriter { get; }
    private readonly bool errorColours;

    public static CommandConsole For(ParseResult parseResult) =>
        new(parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error);

    /// <summary>One red line on standard error.</summary>
    public void Error(string message) => Line("31", "error: " + message);

    /// <summary>One yellow line on standard error (stdout stays clean for --json).</summary>
    public void Warn(string message) => Line("33", "warning: " + message);

    /// <summary>
    /// Exceptions a user causes map to <see cref="ExitCodes.UserError"/>; null for anything else (left to propagate).
    /// </summary>
    public static int? ExitCodeFor(Exception ex) => ex switch
    {
        InvalidDataException or FileNotFoundException or DirectoryNotFoundException or ArgumentException => ExitCodes.UserError,
        // No GPU, driver, CUDA libtorch or NVRTC, or a kernel that would not compile: the environment, said in one line.
        UniCLift.Compute.Cuda.CudaException => ExitCodes.Failure,
        _ => null,
    };

    // Written by hand rather than through Spectre, which wraps long lines at the console width: a message is one line.
    private void Line(string ansiColour, string text)
    {
        text = text.ReplaceLineEndings(" ");
        ErrorWriter.WriteLine(errorColours ? $"\u001b[{ansiColour}m{text}\u001b[0m" : text);
    }

    private static bool IsTerminal(TextWriter w) =>
        (ReferenceEquals(w, System.Console.Out) && !System.Console.IsOutputRedirected) ||
        (ReferenceEquals(w, System.Console.Error) && !System.Console.IsErrorRedirected);

    private static IAnsiConsole Create(TextWriter writer, bool terminal) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
    });
}
