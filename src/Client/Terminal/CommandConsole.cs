namespace UniCLift.Client.Terminal;

using System.CommandLine;
using Spectre.Console;

/// <summary>
/// Where a command writes, bound to the invocation's writers (so tests can capture them): <see cref="Out"/> is a Spectre
/// console on standard output (tables, markup), <see cref="OutWriter"/> the raw writer for machine-readable output
/// (JSON), <see cref="ErrorWriter"/> standard error for warnings and errors (one line each, coloured only on a terminal
/// without NO_COLOR). Output that is not a terminal gets no ANSI codes, so captured or piped text is plain.
/// </summary>
/// <remarks>
/// The folder and namespace are called Terminal, not Console: a namespace named Console would shadow System.Console in
/// every file under UniCLift.Client.
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

    /// <summary>One uncoloured progress line on standard error ("uniclift: ..."): what the command does besides its
    /// output, e.g. that it waits for a batch or cancelled one.</summary>
    public void Note(string message) => ErrorWriter.WriteLine("uniclift: " + message.ReplaceLineEndings(" "));

    // Written by hand rather than through Spectre, which wraps long lines at the console width: a message is one line.
    private void Line(string ansiColour, string text)
    {
        text = text.ReplaceLineEndings(" ");
        ErrorWriter.WriteLine(errorColours ? $"\u001b[{ansiColour}m{text}\u001b[0m" : text);
    }

    private static bool IsTerminal(TextWriter w) =>
        (ReferenceEquals(w, System.Console.Out) && !System.Console.IsOutputRedirected) ||
        (ReferenceEquals(w, System.Console.Error) && !System.Console.IsErrorRedirected);

    /// <summary>The width of output that is not a terminal (a log, a pipe, a file): wide enough that a table row (a
    /// batch summary with its output paths) stays one line instead of wrapping at Spectre's default of 80 columns.
    /// Tables take their natural width, so a narrow table stays narrow.</summary>
    public const int PlainWidth = 400;

    private static IAnsiConsole Create(TextWriter writer, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            // Live displays (a batch's progress bars) only on a terminal; anything else gets plain lines.
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal) console.Profile.Width = PlainWidth;
        return console;
    }
}
