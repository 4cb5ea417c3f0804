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
        // input like any other: System.CommandLine prints what is wrong and the usage, the exit code is 2, not its 1.
        if (parse.Errors.Count > 0)
            return parse.Invoke(configuration) == ExitCodes.Ok ? ExitCodes.Ok : ExitCodes.UserError;
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
