namespace UniCLift.Client.Terminal;

using System.CommandLine;

/// <summary>
/// Sets a command's action so that every command reports user errors the same way: an exception that
/// <see cref="CommandConsole.ExitCodeFor"/> maps (InvalidDataException, FileNotFoundException,
/// DirectoryNotFoundException, ArgumentException) becomes one red line on standard error and exit code 2; other
/// exceptions propagate (System.CommandLine prints them, exit code 1). Usage:
/// <code>CommandAction.Set(command, (parseResult, console, ct) => RunAsync(...));</code>
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
