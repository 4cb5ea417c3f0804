namespace UniCLift.Client.Terminal;

using System.CommandLine;

/// <summary>
/// Sets a command's action so that every command reports user errors the same way: an exception that
/// <see cref="CommandConsole.ExitCodeFor"/> maps (InvalidDataException, FileNotFoundException,
/// DirectoryNotFoundException, ArgumentException) becomes one red line on standard error and exit code 2; other
/// exceptions propagate (System.CommandLine prints them, exit code 1). Usage:
/// <code>CommandAction.Set(command, (parseResult, console, ct) => RunAsync(...));</code>
/// The asynchronous form's token is cancelled by SIGINT / SIGTERM (<see cref="Interruption"/>); the command stops by
/// throwing OperationCanceledException, which becomes one line and <see cref="ExitCodes.Interrupted"/> (Cli.RunAsync
/// turns that into 143 for SIGTERM).
/// </summary>
public static class CommandAction
{
    public static void Set(Command command, Func<ParseResult, CommandConsole, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parseResult, ct) =>
        {
            var console = CommandConsole.For(parseResult);
            try
            {
                return await body(parseResult, console, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                console.Error("interrupted.");
                return ExitCodes.Interrupted;
            }
            catch (Exception ex) when (CommandConsole.ExitCodeFor(ex) is int code)
            {
                console.Error(ex.Message);
                return code;
            }
        });

    public static void Set(Command command, Func<ParseResult, CommandConsole, int> body) =>
        command.SetAction(parseResult =>
        {
            var console = CommandConsole.For(parseResult);
            try
            {
                return body(parseResult, console);
            }
            catch (Exception ex) when (CommandConsole.ExitCodeFor(ex) is int code)
            {
                console.Error(ex.Message);
                return code;
            }
        });
}
