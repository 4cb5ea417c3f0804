namespace UniCLift.Client.Terminal;

using System.CommandLine;
using UniCLift.Compute;

/// <summary>
/// Sets a command's action so that every command ends the same way: it writes through a <see cref="CommandConsole"/>
/// on the invocation's writers and returns an <see cref="ExitCodes"/> value; an exception becomes one red line on
/// standard error (<see cref="FailurePolicy.Describe"/>) and <see cref="ExitCodes.For(Exception)"/>: 2 for bad input,
/// 1 otherwise. Usage:
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
            catch (Exception ex)
            {
                return Fail(console, ex);
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
            catch (Exception ex)
            {
                return Fail(console, ex);
            }
        });

    /// <summary>The one place a command's exception becomes its error line and exit code.</summary>
    internal static int Fail(CommandConsole console, Exception ex)
    {
        console.Error(FailurePolicy.Describe(ex));
        return ExitCodes.For(ex);
    }
}
