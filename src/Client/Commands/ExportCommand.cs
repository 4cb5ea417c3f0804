namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Export;

/// <summary>
/// `uniclift export RESULT_DIR (--object ID --out object.ply | --all --out DIR | --list | --embeddings OUT.npy)`: one
/// instance's Gaussians as a standalone graphdeco PLY, every instance's (the background's too) as one PLY each in a
/// folder, a table of the instances (Gaussian count, bounding box, views where each is largest), or the per-Gaussian
/// embeddings [N, d] float32 plus instance ids [N] int32 as NPY files.
/// </summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("result") { Description = "Segmentation result folder (holds labels.ply and instance/)." };
        var obj = new Option<int?>("--object") { Description = "Instance id to export (see --list)." };
        var output = new Option<string?>("--out") { Description = "Output PLY for --object; output folder (new or empty) for --all." };
        var all = new Option<bool>("--all") { Description = "Every instance as a PLY of its own (instance_<id>.ply, the background as background.ply) and instances.json into --out DIR." };
        var list = new Option<bool>("--list") { Description = "List the instances with Gaussian counts, bounding boxes and largest views." };
        var emb = new Option<string?>("--embeddings") { Description = "Write per-Gaussian embeddings [N,d] float32 to this .npy (and instance ids to <name>_instances.npy)." };
        var cmd = new Command("export", "Export from a segmentation result: one object or every object as PLYs, the instance list, or the embeddings as NPY.");
        cmd.Arguments.Add(dir);
        foreach (var o in new Option[] { obj, all, output, list, emb }) cmd.Options.Add(o);
        CommandAction.Set(cmd, (pr, console) => Run(pr.GetValue(dir)!, pr.GetValue(obj), pr.GetValue(output), pr.GetValue(list), pr.GetValue(emb), console, pr.GetValue(all)));
        return cmd;
    }

    /// <summary>Whether <paramref name="path"/> is one of the files of result folder <paramref name="resultDir"/> that
    /// decoding again, `view`, `report` and `export` read (model.ply, labels.ply, training.json, metrics.json), or one of
    /// <paramref name="alsoOwn"/>: a file a command must not write over.</summary>
    internal static bool IsResultFile(string resultDir, string path, params string[] alsoOwn) =>
        new[] { Compute.Segmentation.TrainedGaussians.FileName, ResultExport.LabelsFile, Compute.Segmentation.TrainingSummary.FileName,
                Compute.Segmentation.SceneSegmentation.MetricsFile }.Concat(alsoOwn)
            .Any(f => string.Equals(Path.GetFullPath(path).TrimEnd('/'), Path.GetFullPath(Path.Combine(resultDir, f)), StringComparison.Ordinal));

    internal static int Run(string dir, int? obj, string? output, bool list, string? embeddings, CommandConsole console, bool all = false)
    {
        int modes = (obj is null ? 0 : 1) + (list ? 1 : 0) + (embeddings is null ? 0 : 1) + (all ? 1 : 0);
        if (modes != 1) throw new ArgumentException("Give exactly one of --object ID (with --out FILE.ply), --all (with --out DIR), --list, --embeddings FILE.npy.");
        if (all)
        {
            if (output is null) throw new ArgumentException("--all needs --out DIR (a new or empty folder).");
            // A new or empty folder only (ExportAll): the result folder itself, say, would mix the PLYs with its own files.
            var target = Client.BatchConsole.OutputFolder(output);
            var written = ResultExport.ExportAll(dir, target);
            console.OutWriter.WriteLine($"Wrote {written.Count(w => w.Id != 0)} instances and the background ({written.Sum(w => w.Gaussians)} Gaussians) " +
                $"to {target}: {string.Join(", ", written.Take(4).Select(w => Path.GetFileName(w.File)))}{(written.Count > 4 ? ", ..." : "")}, instances.json");
            return ExitCodes.Ok;
        }
        foreach (var (file, option) in new[] { (output, "--out"), (embeddings, "--embeddings") })
            if (file is not null && Directory.Exists(file)) throw new ArgumentException($"{option} {file} is a directory; name the file to write.");
        if (obj is int id)
        {
            if (output is null) throw new ArgumentException("--object needs --out FILE.ply.");
            // The result's own files are what decoding again, `view` and `report` read: one object's PLY written over
            // model.ply or labels.ply lost the trained model (exit 0).
            if (IsResultFile(dir, output, "report.html"))
                throw new ArgumentException($"--out {output} is the result's own {Path.GetFileName(output)}; name another file to write.");
            int n = ResultExport.ExportInstance(dir, id, output);
            console.OutWriter.WriteLine($"Wrote {n} Gaussians of instance {id} to {output}");
            return ExitCodes.Ok;
        }
        if (embeddings is not null)
        {
            var r = ResultExport.ExportEmbeddings(dir, embeddings);
            console.OutWriter.WriteLine($"Wrote embeddings [{r.Count},{r.Dim}] float32 to {r.Embeddings} and instance ids [{r.Count}] int32 to {r.Instances}");
            return ExitCodes.Ok;
        }
        var items = ResultExport.ListInstances(dir);
        var t = new Table().AddColumn("instance").AddColumn("Gaussians").AddColumn("min (x, y, z)").AddColumn("max (x, y, z)").AddColumn("largest in views (pixels)");
        string V(float[] v) => float.IsNaN(v[0]) ? "-" : string.Join(", ", v.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)));
        foreach (var s in items)
            t.AddRow(s.Id == 0 ? "0 (background)" : s.Id.ToString(CultureInfo.InvariantCulture), s.Gaussians.ToString(CultureInfo.InvariantCulture),
                V(s.Min), V(s.Max), Markup.Escape(string.Join(", ", s.LargestViews.Select(x => $"{x.View} ({x.Pixels})"))));
        console.Out.Write(t);
        console.OutWriter.WriteLine($"{items.Count(s => s.Id != 0)} instances, {items.Sum(s => s.Gaussians)} Gaussians");
        return ExitCodes.Ok;
    }
}
