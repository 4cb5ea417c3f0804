namespace UniCLift.Client;

using System.CommandLine;
using UniCLift.Client.Terminal;

/// <summary>Builds the `uniclift` command tree. Each command lives in its own file under Commands/ and exposes
/// <c>public static Command Create()</c>; register it here, one line each.</summary>
public static class Cli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("UniCLift: lift inconsistent 2D instance masks into consistent 3D instances (UniC-Lift on 3D Gaussian Splatting).");
        // Commands (one line each):
        root.Subcommands.Add(Commands.SubmitCommand.Create());
        root.Subcommands.Add(Commands.StatusCommand.Create());
        root.Subcommands.Add(Commands.WatchCommand.Create());
        root.Subcommands.Add(Commands.CancelCommand.Create());
        root.Subcommands.Add(Commands.ResultsCommand.Create());
        root.Subcommands.Add(Commands.SegmentCommand.Create());
        root.Subcommands.Add(Commands.DemoCommand.Create());
        root.Subcommands.Add(Commands.EvalCommand.Create());
        root.Subcommands.Add(Commands.MakeSceneCommand.Create());
        root.Subcommands.Add(Commands.InfoCommand.Create());
        root.Subcommands.Add(Commands.BenchCommand.Create());
        root.Subcommands.Add(Commands.ExportCommand.Create());
        root.Subcommands.Add(Commands.ReportCommand.Create());
        root.Subcommands.Add(Commands.CheckCommand.Create());
        root.Subcommands.Add(Commands.ViewCommand.Create());
        Terminal.OptionValues.Apply(root);
        return root;
    }

    /// <summary>What a command line that does not parse gets: one line on <paramref name="error"/>, `error: ` and
    /// System.CommandLine's messages, then which `--help` shows the usage (it printed the whole usage after them, dozens
    /// of lines that hid the one that mattered); exit code 2.</summary>
    internal static int ReportParseErrors(System.CommandLine.ParseResult parse, TextWriter error)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, r.Parent is null ? "uniclift" : r.Command.Name);
        // One line: a list of allowed values ("Must be one of:" and a value a line) is said on it too.
        var messages = parse.Errors.Select(e => System.Text.RegularExpressions.Regex.Replace(e.Message.Trim(), @"\s*\n\s*", " ")).Distinct()
            .Select(m => m.EndsWith('.') ? m : m + ".").ToList();
        // "Unrecognized command or argument 'x'." says it; "Required command was not provided." beside it is noise.
        if (messages.Count > 1) messages.RemoveAll(m => m == "Required command was not provided.");
        error.WriteLine($"error: {string.Join(" ", messages)} (`{string.Join(' ', names)} --help` shows the usage.)");
        return ExitCodes.UserError;
    }

    /// <summary>
    /// Parses and runs a command. Asynchronous commands (those that run long: they take a CancellationToken) stop on
    /// SIGINT / SIGTERM through <see cref="Interruption"/> and then exit 130 / 143; synchronous ones keep the
    /// system's default, which ends the process at once.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var parse = Build().Parse(args);
        // System.CommandLine's own signal handling would give up on the command after a timeout and return while the
        // embedded silo is still stopping and files are being written; the Interruption below is the one handler.
        var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null };
        // A command line that does not parse (unknown option, missing argument, a value a validator refuses) is bad
        // input like any other: one line saying what is wrong and where the usage is, exit code 2.
        // `uniclift` alone: the usage, as before (what someone typing the name wants to see).
        if (args.Length == 0)
        {
            Build().Parse(["--help"]).Invoke(configuration);
            return ExitCodes.UserError;
        }
        if (parse.Errors.Count > 0) return ReportParseErrors(parse, configuration.Error);
        if (parse.Action is not System.CommandLine.Invocation.AsynchronousCommandLineAction)
            return parse.Invoke(configuration);
        using var interruption = Interruption.Listen(configuration.Error);
        int code = await parse.InvokeAsync(configuration, interruption.Token);
        // A background write (a view's label map, a decoding pass's labels.ply) may still be running after a stop: let
        // it finish rather than leave its temporary file behind.
        Compute.IO.AtomicFile.WaitForPendingWrites(TimeSpan.FromSeconds(10));
        // Stopped by a signal and not finished: say which signal (a command that finished anyway keeps its code).
        return interruption.ExitCode is int interrupted && code != ExitCodes.Ok ? interrupted : code;
    }
}
