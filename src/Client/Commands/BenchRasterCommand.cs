namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using TorchSharp;
using UniCLift.Client.Terminal;
using UniCLift.Compute;
using UniCLift.Compute.Rendering;
using static TorchSharp.torch;

/// <summary>`uniclift bench raster`: times the Gaussian rasteriser's forward and forward+backward on a generated scene.</summary>
public static class BenchRasterCommand
{
    public static Command Create()
    {
        var gaussians = new Option<int>("--gaussians") { Description = "Number of Gaussians.", DefaultValueFactory = _ => 8000 };
        var width = new Option<int>("--width") { Description = "Image width in pixels.", DefaultValueFactory = _ => 200 };
        var height = new Option<int>("--height") { Description = "Image height in pixels.", DefaultValueFactory = _ => 150 };
        var channels = new Option<int>("--channels") { Description = "Feature channels D (0 = colour only).", DefaultValueFactory = _ => 12 };
        var shDegree = new Option<int>("--sh-degree") { Description = "SH degree 0..3.", DefaultValueFactory = _ => 3 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs (median reported) after the warm-up runs.", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup")
        {
            Description = "Untimed runs first. .NET compiles a method fully optimised only after about 30 calls, so fewer measure part-unoptimised code, not what a training run spends its time in.",
            DefaultValueFactory = _ => 40,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the table." };
        var kernel = new Option<BlendKernel?>("--kernel") { Description = "Blend kernels: Scalar, Avx2 or Avx512 (default: the widest the CPU accelerates)." };
        var torchThreads = new Option<int>("--torch-threads")
        {
            Description = "libtorch intra-op threads (the rasteriser kernels use the .NET pool; 1 avoids OpenMP spin-waiting against them).",
            DefaultValueFactory = _ => 1,
        };
        var device = new Option<string>("--device")
        {
            Description = "cpu, cuda or cuda:N: the tensors' device, which picks the rasteriser's backend (CUDA: kernels compiled by NVRTC, timed with a synchronise).",
            DefaultValueFactory = _ => "cpu",
        };
        var cmd = new Command("raster", "Time rasteriser forward and forward+backward (RGB + D feature channels) on random Gaussians.")
        {
            gaussians, width, height, channels, shDegree, repeats, warmup, json, torchThreads, kernel, device,
        };
        // Through CommandAction: a bad value is one line naming it and exit code 2, not a stack trace.
        CommandAction.Set(cmd, (parse, console) =>
        {
            var o = new Options(parse.GetValue(gaussians), parse.GetValue(width), parse.GetValue(height), parse.GetValue(channels),
                parse.GetValue(shDegree), parse.GetValue(repeats), parse.GetValue(json), parse.GetValue(torchThreads), parse.GetValue(kernel),
                parse.GetValue(warmup), parse.GetValue(device) ?? "cpu");
            return Run(o, console);
        });
        return cmd;
    }

    /// <summary>One timed forward+backward: stage wall times (ms), counts, stage CPU times (ms).</summary>
    private sealed record Sample(double Proj, double Bin, double Fwd, double FwdGlue, double Loss, double Bwd, double Red, double BwdGlue,
        double ProjBwd, double Other, long Blends, int Pairs, double ProjCpu, double BinCpu, double FwdCpu, double BwdCpu, double RedCpu, double ProjBwdCpu);

    internal sealed record Options(int Gaussians, int Width, int Height, int Channels, int ShDegree, int Repeats, bool Json, int TorchThreads, BlendKernel? Kernel = null,
        int Warmup = 40, string Device = "cpu");

    /// <summary>The benchmark's camera and random Gaussians (CPU leaves), the same for every device.</summary>
    internal static (UniCLift.Compute.Scenes.Camera Camera, GaussianTensors Gaussians) Scene(Options o)
    {
        var cam = SyntheticGaussians.LookAt(o.Width, o.Height, 60, (0, 0, -5), (0, 0, 0));
        // Footprints: sigma 1..10 px at 640 px wide, scaled with the image, so 3-sigma radii span a few to tens of px.
        double scale = o.Width / 640.0;
        var g = SyntheticGaussians.Random(cam, o.Gaussians, o.ShDegree, o.Channels, seed: 1,
            minPx: Math.Max(0.7, 1.5 * scale), maxPx: Math.Max(3, 12 * scale), zNear: 2, zFar: 8, opacityLogitMean: 0.5);
        return (cam, g);
    }

    internal const int MaxGaussians = 10_000_000, MaxSide = 8192;

    internal static int Run(Options o, CommandConsole console)
    {
        // Upper bounds: 70000x70000 (more pixels than an int counts) crashed the process with a segmentation fault, and
        // 2e9 Gaussians was an OverflowException (exit 1) sizing their parameter arrays. 8192 is make-scene's largest side.
        if (o.Gaussians <= 0 || o.Gaussians > MaxGaussians) throw new ArgumentException($"--gaussians {o.Gaussians} must be in 1..{MaxGaussians}.");
        if (o.Width <= 0 || o.Height <= 0 || o.Width > MaxSide || o.Height > MaxSide)
            throw new ArgumentException($"--width/--height {o.Width}x{o.Height} must each be in 1..{MaxSide}.");
        if (o.Channels < 0) throw new ArgumentException($"--channels {o.Channels} must be >= 0.");
        if (o.ShDegree < 0 || o.ShDegree > 3) throw new ArgumentException($"--sh-degree {o.ShDegree} must be in 0..3.");
        if (o.Repeats <= 0) throw new ArgumentException($"--repeats {o.Repeats} must be positive.");
        if (o.Warmup < 0) throw new ArgumentException($"--warmup {o.Warmup} must be >= 0.");
        if (o.TorchThreads <= 0) throw new ArgumentException($"--torch-threads {o.TorchThreads} must be positive.");
        var dev = Compute.Cuda.CudaRuntime.ParseDevice(o.Device);
        if (dev.type == DeviceType.CUDA && o.Kernel is not null) throw new ArgumentException("--kernel picks CPU blend kernels; it does not apply with --device cuda.");
        TorchRuntime.EnsureInitialised();
        torch.set_num_threads(o.TorchThreads);
        if (dev.type == DeviceType.CUDA) return BenchRasterCuda.Run(o, dev, console);
        using var outer = torch.NewDisposeScope();
        var (cam, g) = Scene(o);
        var target = torch.rand(o.Height, o.Width, 3);
        var settings = new RasterSettings(ShDegree: o.ShDegree);
        using var rast = new GaussianRasterizer();
        if (o.Kernel is { } k) rast.Kernel = k;
        var leaves = new[] { g.Means, g.LogScales, g.Quats, g.OpacityLogits, g.Sh }.Concat(g.Features is null ? [] : [g.Features]).ToArray();

        var fwd = new List<double>(); var fwdBwd = new List<double>(); var cpu = new List<double>();
        var proc = Process.GetCurrentProcess();
        var stats = new List<Sample>();
        RasterStats.MeasureCpu = true;
        int warm = o.Warmup;
        for (int i = 0; i < o.Repeats + warm; i++)
        {
            using (var scope = torch.NewDisposeScope())
            using (torch.no_grad())
            {
                var t = Stopwatch.GetTimestamp();
                var r = rast.Render(g, cam, settings);
                if (i >= warm) fwd.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
            using (var scope = torch.NewDisposeScope())
            {
                proc.Refresh();
                var c0 = proc.TotalProcessorTime;
                var t = Stopwatch.GetTimestamp();
                var r = rast.Render(g, cam, settings);
                var tLoss = Stopwatch.GetTimestamp();
                var loss = (r.Rgb - target).abs().mean();
                if (r.Features is not null) loss = loss.add(r.Features.sigmoid().mean(), Scalars.Of(0.1));
                double lossMs = Stopwatch.GetElapsedTime(tLoss).TotalMilliseconds;
                loss.backward();
                double ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                proc.Refresh();
                if (i >= warm) cpu.Add((proc.TotalProcessorTime - c0).TotalMilliseconds);
                var s = rast.LastStats;
                if (i >= warm)
                {
                    fwdBwd.Add(ms);
                    double known = s.RenderMs + lossMs + s.BlendBackwardMs + s.ReduceMs + s.BackwardGlueMs + s.ProjectionBackwardMs;
                    stats.Add(new Sample(s.ProjectionMs, s.BinningMs, s.BlendForwardMs, s.RenderMs - s.ProjectionMs - s.BinningMs - s.BlendForwardMs,
                        lossMs, s.BlendBackwardMs, s.ReduceMs, s.BackwardGlueMs, s.ProjectionBackwardMs, ms - known,
                        s.Blends, s.Pairs, s.ProjectionCpuMs, s.BinningCpuMs, s.BlendForwardCpuMs, s.BlendBackwardCpuMs, s.ReduceCpuMs, s.ProjectionBackwardCpuMs));
                }
                foreach (var l in leaves) l.grad?.zero_();
            }
        }
        double Med(IEnumerable<double> xs) { var a = xs.OrderBy(x => x).ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]); }
        // The spread, because a shared machine's speed drifts: the fastest run and the 90th percentile (nearest rank).
        static double P90(List<double> xs) { var a = xs.OrderBy(x => x).ToArray(); return a[Math.Max(0, (int)Math.Ceiling(0.9 * a.Length) - 1)]; }
        double M(Func<Sample, double> f) => Med(stats.Select(f));
        double fwdMs = Med(fwd), fwdBwdMs = Med(fwdBwd);
        long blends = stats[0].Blends;
        var ls = rast.LastStats;
        double pixels = (double)o.Width * o.Height;
        double blendsPerSecond = blends / (M(s => s.Fwd) / 1000.0);
        if (o.Json)
        {
            console.OutWriter.WriteLine(JsonSerializer.Serialize(new
            {
                gaussians = o.Gaussians, width = o.Width, height = o.Height, channels = o.Channels, sh_degree = o.ShDegree,
                threads = Environment.ProcessorCount, kernel = rast.Kernel.ToString(), repeats = o.Repeats, warmup = o.Warmup,
                fwd_ms = fwdMs, fwd_bwd_ms = fwdBwdMs, fwd_bwd_cpu_ms = Med(cpu),
                fwd_min_ms = fwd.Min(), fwd_p90_ms = P90(fwd), fwd_bwd_min_ms = fwdBwd.Min(), fwd_bwd_p90_ms = P90(fwdBwd),
                projection_ms = M(s => s.Proj), binning_ms = M(s => s.Bin),
                blend_fwd_ms = M(s => s.Fwd), forward_glue_ms = M(s => s.FwdGlue), loss_ms = M(s => s.Loss),
                blend_bwd_ms = M(s => s.Bwd), reduce_ms = M(s => s.Red), backward_glue_ms = M(s => s.BwdGlue),
                projection_bwd_ms = M(s => s.ProjBwd), other_ms = M(s => s.Other),
                projection_cpu_ms = M(s => s.ProjCpu), binning_cpu_ms = M(s => s.BinCpu),
                blend_fwd_cpu_ms = M(s => s.FwdCpu), blend_bwd_cpu_ms = M(s => s.BwdCpu), reduce_cpu_ms = M(s => s.RedCpu),
                projection_bwd_cpu_ms = M(s => s.ProjBwdCpu),
                pairs = stats[0].Pairs, blends, blends_per_second = blendsPerSecond,
                walked_per_pixel = blends / pixels, blended_per_pixel = ls.Contributions / pixels,
                row_candidates = ls.ChunkCandidates, chunk_vector_evals = ls.VectorEvals,
            }));
        }
        else
        {
            var table = new Table().AddColumn("stage (fwd+bwd run)").AddColumn(new TableColumn("median ms").RightAligned()).AddColumn(new TableColumn("CPU ms").RightAligned());
            table.AddRow("projection forward", $"{M(s => s.Proj):F2}", $"{M(s => s.ProjCpu):F2}");
            table.AddRow("tile binning + sort", $"{M(s => s.Bin):F2}", $"{M(s => s.BinCpu):F2}");
            table.AddRow("blend forward", $"{M(s => s.Fwd):F2}", $"{M(s => s.FwdCpu):F2}");
            table.AddRow("forward glue (packing, autograd nodes)", $"{M(s => s.FwdGlue):F2}", "");
            table.AddRow("loss forward (bench's torch ops)", $"{M(s => s.Loss):F2}", "");
            table.AddRow("blend backward", $"{M(s => s.Bwd):F2}", $"{M(s => s.BwdCpu):F2}");
            table.AddRow("gradient reduction", $"{M(s => s.Red):F2}", $"{M(s => s.RedCpu):F2}");
            table.AddRow("rasteriser backward glue", $"{M(s => s.BwdGlue):F2}", "");
            table.AddRow("projection backward", $"{M(s => s.ProjBwd):F2}", $"{M(s => s.ProjBwdCpu):F2}");
            table.AddRow("other (loss backward, autograd engine)", $"{M(s => s.Other):F2}", "");
            table.AddRow("forward (no grad, total)", $"{fwdMs:F2}", "");
            table.AddRow("forward + backward (total)", $"{fwdBwdMs:F2}", $"{Med(cpu):F2}");
            var con = console.Out;
            con.MarkupLine($"{o.Gaussians} Gaussians, {o.Width}x{o.Height}, D={o.Channels}, SH {o.ShDegree}, {Environment.ProcessorCount} threads, {rast.Kernel} kernels; " +
                $"{stats[0].Pairs} tile pairs, {blends} blends ({blendsPerSecond / 1e6:F1} M/s forward)");
            con.MarkupLine($"per pixel: {blends / pixels:F1} list entries walked, {ls.Contributions / pixels:F1} blended (alpha >= 1/255); " +
                "ellipse culling: " + (rast.Kernel == BlendKernel.Avx512
                    ? $"{ls.ChunkCandidates} (tile row, Gaussian) pairs whose support meets the row, {ls.VectorEvals} of them evaluated (16 px each) before the row saturates"
                    : $"{ls.ChunkCandidates} (row, Gaussian) interval tests, {ls.VectorEvals} (8-px chunk, Gaussian) vector evaluations"));
            con.Write(table);
            console.OutWriter.WriteLine($"spread over {o.Repeats} runs after {o.Warmup} warm-up runs: forward min {fwd.Min():F2} / p90 {P90(fwd):F2} ms, forward + backward min {fwdBwd.Min():F2} / p90 {P90(fwdBwd):F2} ms");
            console.OutWriter.WriteLine($"fwd_ms={fwdMs:F2} fwd_bwd_ms={fwdBwdMs:F2} fwd_bwd_cpu_ms={Med(cpu):F2}");
        }
        return ExitCodes.Ok;
    }
}
