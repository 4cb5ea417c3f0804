namespace UniCLift.Client;

using System.CommandLine;

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
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var root = Build();
        return await root.Parse(args).InvokeAsync();
    }
}
