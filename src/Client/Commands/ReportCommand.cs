namespace UniCLift.Client.Commands;

using System.CommandLine;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Reports;

/// <summary>`uniclift report RESULT_DIR... --out report.html [--views 4]`: one self-contained HTML page (images embedded) over the results.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var dirs = new Argument<string[]>("results") { Description = "Segmentation result folders (from `uniclift segment`).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "HTML file to write.", DefaultValueFactory = _ => "report.html" };
        var views = new Option<int>("--views") { Description = "Views shown per scene.", DefaultValueFactory = _ => 4 };
        var cmd = new Command("report", "Write a static HTML report (views, metrics, loss curves, a 3D viewer) that opens from disk without a server.");
        cmd.Arguments.Add(dirs);
        cmd.Options.Add(output);
        cmd.Options.Add(views);
        CommandAction.Set(cmd, (pr, console) =>
        {
            int v = pr.GetValue(views);
            if (v < 1) throw new ArgumentException($"--views must be at least 1, got {v}.");
            var outPath = pr.GetValue(output)!;
            var results = pr.GetValue(dirs)!;
            // A folder was an IOException (exit 1); a result's own model.ply or labels.ply was overwritten with the page (exit 0).
            if (Directory.Exists(outPath)) throw new ArgumentException($"--out {outPath} is a directory; name the HTML file to write.");
            if (results.FirstOrDefault(r => ExportCommand.IsResultFile(r, outPath)) is { } owner)
                throw new ArgumentException($"--out {outPath} is the result's own {Path.GetFileName(outPath)} (in {owner}); name another file to write.");
            BatchReport.Write(results, outPath, Viewer.ViewerAssets.WithViewer(new ReportOptions { ViewsPerScene = v }, results.Length));
            console.OutWriter.WriteLine($"Wrote {Path.GetFullPath(outPath)}");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
