namespace UniCLift.Client.Commands;

using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using TorchSharp;
using UniCLift.Client.Terminal;
using UniCLift.Compute;
using UniCLift.Compute.Cuda;
using UniCLift.Compute.Rendering;
using static TorchSharp.torch;

/// <summary>`bench raster --device cuda`: the CUDA backend on the same scene as the CPU benchmark. Totals are wall
/// times of whole calls closed by a device synchronise (so they include the host's launch overhead and the one
/// read-back of the pair count), after warm-up, median of the repeats. The stage split comes from separate runs that
/// synchronise after every stage.</summary>
internal static class BenchRasterCuda
{
    public static int Run(BenchRasterCommand.Options o, Device dev, CommandConsole console)
    {
        CudaRuntime.EnsureAvailable(dev.index);
        using var outer = torch.NewDisposeScope();
        var (cam, cpu) = BenchRasterCommand.Scene(o);
        Tensor Up(Tensor t) => t.detach().to(dev).requires_grad_(true);
        var g = cpu.Map(Up);
        var target = torch.rand(new long[] { o.Height, o.Width, 3 }, device: dev);
        var settings = new RasterSettings(ShDegree: o.ShDegree);
        using var rast = new GaussianRasterizer();
        var leaves = new[] { g.Means, g.LogScales, g.Quats, g.OpacityLogits, g.Sh }.Concat(g.Features is null ? [] : [g.Features]).ToArray();
        int index = Compute.Cuda.CudaRuntime.Ordinal(dev);
        long before = CudaRuntime.Memory(index).Used;

        double Forward()
        {
            using var scope = torch.NewDisposeScope();
            using var ng = torch.no_grad();
            torch.cuda.synchronize();
            long t = Stopwatch.GetTimestamp();
            rast.Render(g, cam, settings);
            torch.cuda.synchronize();
            return Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }
        double ForwardBackward(out double lossMs)
        {
            using var scope = torch.NewDisposeScope();
            torch.cuda.synchronize();
            long t = Stopwatch.GetTimestamp();
            var r = rast.Render(g, cam, settings);
            long tl = Stopwatch.GetTimestamp();
            var loss = (r.Rgb - target).abs().mean();
            if (r.Features is not null) loss = loss.add(r.Features.sigmoid().mean(), Scalars.Of(0.1));
            if (rast.ProfileStages) torch.cuda.synchronize();
            lossMs = Stopwatch.GetElapsedTime(tl).TotalMilliseconds;
            loss.backward();
            torch.cuda.synchronize();
            double ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            foreach (var l in leaves) l.grad?.zero_();
            return ms;
        }

        for (int i = 0; i < o.Warmup; i++) { Forward(); ForwardBackward(out _); }
        var fwd = new List<double>(); var fwdBwd = new List<double>();
        for (int i = 0; i < o.Repeats; i++) { fwd.Add(Forward()); fwdBwd.Add(ForwardBackward(out _)); }
        // Stage split (synchronising runs).
        rast.ProfileStages = true;
        var stages = new List<(RasterStats S, double Loss, double Total)>();
        for (int i = 0; i < o.Repeats; i++)
        {
            double total = ForwardBackward(out double lossMs);
            stages.Add((rast.LastStats, lossMs, total));
        }
        rast.ProfileStages = false;
        long peak = CudaRuntime.Memory(index).Used; // device-wide, torch's cache included: an upper bound

        static double Med(IEnumerable<double> xs) { var a = xs.OrderBy(x => x).ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]); }
        static double P90(List<double> xs) { var a = xs.OrderBy(x => x).ToArray(); return a[Math.Max(0, (int)Math.Ceiling(0.9 * a.Length) - 1)]; }
        double M(Func<(RasterStats S, double Loss, double Total), double> f) => Med(stages.Select(f));
        double proj = M(s => s.S.ProjectionMs), bin = M(s => s.S.BinningMs), bf = M(s => s.S.BlendForwardMs), bb = M(s => s.S.BlendBackwardMs),
            pb = M(s => s.S.ProjectionBackwardMs), loss = M(s => s.Loss), tot = M(s => s.Total);
        double rest = tot - proj - bin - bf - bb - pb;
        double fwdMs = Med(fwd), fwdBwdMs = Med(fwdBwd);
        var last = stages[^1].S;
        long pairs = last.Pairs, blends = last.Blends;
        double pixels = (double)o.Width * o.Height;
        // Bytes the blend forward stages per list entry (id, mean, conic + opacity, colour + depth, D features).
        double stagedBytes = pairs * (4.0 + 8 + 16 + 16 + 4.0 * o.Channels);
        string name = DeviceName(dev);
        if (o.Json)
        {
            console.OutWriter.WriteLine(JsonSerializer.Serialize(new
            {
                device = dev.ToString(), gpu = name, gaussians = o.Gaussians, width = o.Width, height = o.Height, channels = o.Channels, sh_degree = o.ShDegree,
                repeats = o.Repeats, warmup = o.Warmup, fwd_ms = fwdMs, fwd_bwd_ms = fwdBwdMs,
                fwd_min_ms = fwd.Min(), fwd_p90_ms = P90(fwd), fwd_bwd_min_ms = fwdBwd.Min(), fwd_bwd_p90_ms = P90(fwdBwd),
                projection_ms = proj, binning_ms = bin, blend_fwd_ms = bf, blend_bwd_ms = bb, projection_bwd_ms = pb, loss_ms = loss, other_ms = rest,
                pairs, blends, blends_per_second = blends / (bf / 1000.0), walked_per_pixel = blends / pixels,
                blend_fwd_staged_gb_per_s = stagedBytes / (bf / 1000.0) / 1e9, memory_in_use_mb = peak / 1048576.0, memory_before_mb = before / 1048576.0,
            }));
        }
        else
        {
            var table = new Table().AddColumn("stage (synchronised runs)").AddColumn(new TableColumn("median ms").RightAligned());
            table.AddRow("projection forward (+ tile rectangles)", $"{proj:F3}");
            table.AddRow("intersection + sort (pair count read back)", $"{bin:F3}");
            table.AddRow("blend forward", $"{bf:F3}");
            table.AddRow("blend backward", $"{bb:F3}");
            table.AddRow("projection backward", $"{pb:F3}");
            table.AddRow("the rest (loss, autograd, zeroing grads)", $"{rest:F3}");
            table.AddRow("forward + backward, synchronised stages", $"{tot:F3}");
            var con = console.Out;
            con.MarkupLine(Markup.Escape($"{o.Gaussians} Gaussians, {o.Width}x{o.Height}, D={o.Channels}, SH {o.ShDegree}, {dev} ({name}); " +
                $"{pairs} tile pairs, {blends} list entries walked ({blends / pixels:F1} per pixel), {blends / (bf / 1000.0) / 1e9:F1} G/s in the blend forward"));
            con.MarkupLine(Markup.Escape($"blend forward stages {stagedBytes / 1e6:F1} MB of Gaussians from global memory ({stagedBytes / (bf / 1000.0) / 1e9:F0} GB/s); " +
                $"GPU memory in use after the runs {peak / 1048576.0:F0} MiB (device-wide, torch's cache included; {before / 1048576.0:F0} MiB before)"));
            con.Write(table);
            console.OutWriter.WriteLine($"spread over {o.Repeats} runs after {o.Warmup} warm-up runs: forward min {fwd.Min():F3} / p90 {P90(fwd):F3} ms, forward + backward min {fwdBwd.Min():F3} / p90 {P90(fwdBwd):F3} ms");
            console.OutWriter.WriteLine($"fwd_ms={fwdMs:F3} fwd_bwd_ms={fwdBwdMs:F3} device={dev}");
        }
        return ExitCodes.Ok;
    }

    private static string DeviceName(Device dev)
    {
        try { return CudaRuntime.DeviceName(CudaRuntime.Ordinal(dev)); }
        catch (CudaException) { return "?"; }
    }
}
