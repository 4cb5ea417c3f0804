namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Globalization;
using UniCLift.Client.Terminal;
using UniCLift.Client.Viewer;

/// <summary>
/// `uniclift view RESULT_DIR [--port N] [--host 127.0.0.1]`: serves a local page with the segmented Gaussians in a
/// real Gaussian-splat renderer (colour by RGB or instance, isolate / hide instances, the training cameras). Runs
/// until Ctrl-C (exit 130) or SIGTERM (143).
/// </summary>
public static class ViewCommand
{
    public const int DefaultPort = 8765;

    public static Command Create()
    {
        var dir = new Argument<string>("result") { Description = "Segmentation result folder (holds labels.ply, or model.ply before decoding)." };
        var port = new Option<int>("--port") { Description = $"Port to listen on (0: any free port).", DefaultValueFactory = _ => DefaultPort };
        var host = new Option<string>("--host") { Description = "Address to bind; loopback by default (use an ssh port-forward to view from another machine).", DefaultValueFactory = _ => "127.0.0.1" };
        var max = new Option<int>("--max-gaussians") { Description = "Send at most this many Gaussians to the browser (evenly subsampled).", DefaultValueFactory = _ => 2_000_000 };
        var cmd = new Command("view", "Open a result in a local 3D viewer (Gaussian splats coloured by RGB or instance, the training cameras); Ctrl-C stops it.");
        cmd.Arguments.Add(dir);
        foreach (var o in new Option[] { port, host, max }) cmd.Options.Add(o);
        CommandAction.Set(cmd, (pr, console, ct) => RunAsync(pr.GetValue(dir)!, pr.GetValue(host)!, pr.GetValue(port), pr.GetValue(max), console, ct));
        return cmd;
    }

    internal static async Task<int> RunAsync(string dir, string host, int port, int maxGaussians, CommandConsole console, CancellationToken ct)
    {
        if (maxGaussians < 1) throw new ArgumentException($"--max-gaussians must be at least 1, got {maxGaussians}.");
        var data = ViewerPayload.Build(dir, maxGaussians);
        await using var server = ViewerServer.Start(data, host, port);
        var o = console.OutWriter;
        o.WriteLine($"result     {data.ResultDirectory}");
        o.WriteLine($"showing    {Path.GetFileName(data.Source)}: {data.Shown.ToString("N0", CultureInfo.InvariantCulture)} of {data.Total.ToString("N0", CultureInfo.InvariantCulture)} Gaussians, " +
                    $"{data.Instances.Count(i => i.Id != 0)} instances, {data.Cameras} training cameras");
        if (data.Note is not null) console.Warn(data.Note);
        if (!ViewerServer.IsLoopback(host))
            console.Warn($"listening on {host}, not loopback: anyone who can reach this machine's port {server.Port} can read this result.");
        o.WriteLine($"viewer     {server.Url}   (Ctrl-C stops it)");
        o.Flush();
        // Serve until SIGINT / SIGTERM; CommandAction turns the cancellation into exit 130 (Cli.RunAsync: 143 for SIGTERM).
        await Task.Delay(Timeout.Infinite, ct);
        return ExitCodes.Ok;
    }
}
