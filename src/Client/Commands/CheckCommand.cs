namespace UniCLift.Client.Commands;

using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using TorchSharp;
using UniCLift.Client.Terminal;
using UniCLift.Compute;
using UniCLift.Compute.Cuda;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Rendering.Cuda;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>`uniclift check gpu` (the CUDA rasteriser against the CPU one, on a GPU, or with --emulate under the CPU
/// kernel emulator) and `uniclift check kernels` (compile every CUDA kernel variant with NVRTC and report registers and
/// spills; needs no GPU).</summary>
public static class CheckCommand
{
    /// <summary>Where a check runs the CUDA kernels: a CUDA device, or the CPU under <see cref="KernelEmulator"/> in one
    /// of its schedules. <see cref="Enter"/> brackets the code whose kernels run there.</summary>
    internal sealed record KernelTarget(Device Device, bool Emulated, int Schedule = 0)
    {
        public static KernelTarget Cpu { get; } = new(CPU, false);
        public static KernelTarget Emulator(int schedule) => new(CPU, true, schedule);
        public IDisposable Enter() => Emulated ? KernelEmulator.Activate(Schedule) : new NoScope();
        public bool Cuda => Device.type == DeviceType.CUDA;
        private sealed class NoScope : IDisposable { public void Dispose() { } }
    }

    public static Command Create()
    {
        var check = new Command("check", "Self-checks of the compute backends.");
        check.Subcommands.Add(Gpu());
        check.Subcommands.Add(Kernels());
        return check;
    }

    /// <summary>Feature channel counts the checks cover.</summary>
    internal static readonly int[] CheckedChannels = [0, 3, 12, 32, 40];

    private static Command Kernels()
    {
        var arch = new Option<string>("--arch") { Description = "Comma-separated real architectures to compile for.", DefaultValueFactory = _ => "sm_80,sm_90" };
        var cmd = new Command("kernels", "Compile every CUDA kernel variant with NVRTC (no GPU needed) and print registers, spills and shared memory per kernel.") { arch };
        CommandAction.Set(cmd, (parse, console) =>
        {
            var archs = (parse.GetValue(arch) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var a in archs)
                if (!a.StartsWith("sm_") || !int.TryParse(a[3..], out _)) throw new ArgumentException($"--arch {a}: expected sm_NN, e.g. sm_90.");
            var (maj, min) = Nvrtc.Version;
            console.OutWriter.WriteLine($"NVRTC {maj}.{min} ({Nvrtc.LibraryPath})");
            // Every embedded source, every variant the program compiles: the rasteriser per channel count and
            // feature-geometry flag, the optimiser once.
            var jobs = new List<(string File, string D, string FeatGeo, IReadOnlyDictionary<string, string> Defines)>();
            foreach (int d in CheckedChannels)
                foreach (bool fg in d > 0 ? new[] { false, true } : [false])
                    jobs.Add((CudaRasterizer.Source, d.ToString(), fg ? "yes" : "no", CudaRasterizer.Defines(d, fg)));
            jobs.Add((Compute.Training.GaussianAdam.FusedKernelSource, "-", "-", KernelSources.NoDefines));
            jobs.Add((Compute.Losses.FusedSsim.Source, "-", "-", Compute.Losses.FusedSsim.Defines()));
            jobs.Add((Compute.Losses.FusedClusterStats.Source, "-", "-", KernelSources.NoDefines));
            jobs.Add((Compute.Losses.TripletSampler.Source, "-", "-", KernelSources.NoDefines));
            var missing = KernelSources.All().Except(jobs.Select(j => j.File)).ToList();
            if (missing.Count > 0) throw new InvalidOperationException($"check kernels does not compile {string.Join(", ", missing)}: add it here.");
            // Plain fixed-width lines (not a Spectre table): the report goes to CI logs, which wrap tables at 80 columns.
            console.OutWriter.WriteLine($"{"arch",-6} {"source",-13} {"D",3} {"feat geo",-8} {"kernel",-17} {"registers",9} {"spill st/ld B",13} {"stack B",7} {"static smem B",13}");
            int variants = 0;
            foreach (var a in archs)
                foreach (var (file, d, fg, defines) in jobs)
                {
                    var compiled = Nvrtc.Compile(KernelSources.Read(file), file, CudaModule.Options($"--gpu-architecture={a}", defines, verbose: true));
                    var res = Nvrtc.ParseResources(compiled.Log);
                    if (res.Count == 0) throw new InvalidOperationException($"NVRTC gave no ptxas report for {file} on {a}, D={d}:\n{compiled.Log}");
                    foreach (var r in res.OrderBy(r => r.Kernel, StringComparer.Ordinal))
                    {
                        console.OutWriter.WriteLine($"{a,-6} {file,-13} {d,3} {fg,-8} {r.Kernel,-17} {r.Registers,9} {$"{r.SpillStoreBytes}/{r.SpillLoadBytes}",13} {r.StackBytes,7} {r.SharedBytes,13}");
                        // The hosts decide on a shared memory opt-in counting this much static shared memory per kernel.
                        if (r.SharedBytes > KernelHost.StaticSharedAllowance)
                            throw new InvalidOperationException($"{file} {r.Kernel} (D={d}, {a}) has {r.SharedBytes} bytes of static shared memory, over the {KernelHost.StaticSharedAllowance} the launches allow for (KernelHost.StaticSharedAllowance).");
                    }
                    variants++;
                }
            // A compile error must reach the user with NVRTC's log (file, line, message).
            try
            {
                Nvrtc.Compile("extern \"C\" __global__ void broken() { undeclared_name = 1; }", "broken.cu", CudaModule.Options($"--gpu-architecture={archs[0]}", KernelSources.NoDefines));
                throw new InvalidOperationException("NVRTC compiled a kernel with an error in it.");
            }
            catch (CudaException e) when (e.Message.Contains("broken.cu(1)") && e.Message.Contains("undeclared_name")) { }
            console.OutWriter.WriteLine($"compiled {variants} variants of {string.Join(", ", jobs.Select(j => j.File).Distinct())} for {string.Join(", ", archs)}: ok; a compile error reports NVRTC's log: ok");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static Command Gpu()
    {
        var device = new Option<string>("--device") { Description = "The CUDA device (cuda or cuda:N).", DefaultValueFactory = _ => "cuda" };
        var emulate = new Option<bool>("--emulate") { Description = "Run the kernels on the CPU under the kernel emulator (g++; no GPU needed) instead of on a CUDA device." };
        var schedule = new Option<int>("--schedule") { Description = "With --emulate: 0 runs threads and blocks in increasing order, 1 in decreasing order.", DefaultValueFactory = _ => 0 };
        var cmd = new Command("gpu", "Compare every output and gradient of the CUDA rasteriser with the CPU rasteriser on random scenes (SH 3, Gaussians behind the camera, empty and crowded tiles, transparent pixels, D = 0/3/12/32/40), the fused kernels with what they replace, checkpoints across devices, and steady memory.") { device, emulate, schedule };
        CommandAction.Set(cmd, (parse, console) =>
        {
            KernelTarget target;
            if (parse.GetValue(emulate))
            {
                int s = parse.GetValue(schedule);
                if (s is not (0 or 1)) throw new ArgumentException($"--schedule must be 0 or 1, got {s}.");
                if (KernelEmulator.Problem() is { } why) throw new CudaException(why);
                target = KernelTarget.Emulator(s);
                console.OutWriter.WriteLine($"CUDA kernels under the CPU emulator ({KernelEmulator.Compiler}), schedule {s}, {DateTime.UtcNow:yyyy-MM-dd}: not a GPU");
            }
            else
            {
                var dev = CudaRuntime.ParseDevice(parse.GetValue(device) ?? "cuda");
                if (dev.type != DeviceType.CUDA) throw new ArgumentException("check gpu needs a CUDA device (cuda or cuda:N), or --emulate.");
                int index = Compute.Cuda.CudaRuntime.Ordinal(dev);
                CudaRuntime.EnsureAvailable(index);
                console.OutWriter.WriteLine($"{CudaRuntime.DeviceName(index)} (sm_{CudaRuntime.Architecture(index)}), NVRTC {Nvrtc.Version.Major}.{Nvrtc.Version.Minor}, {DateTime.UtcNow:yyyy-MM-dd}");
                target = new KernelTarget(dev, false);
            }
            bool ok = Run(target, console);
            console.OutWriter.WriteLine(!ok ? "check gpu: FAILED (see the rows marked FAIL)"
                : target.Emulated ? "check gpu --emulate: every output and gradient within its limit; tensors steady over steps (the kernels ran under the CPU emulator, not on a GPU)"
                : "check gpu: every output and gradient within its limit; tensors and GPU memory steady over steps");
            return ok ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return cmd;
    }

    /// <summary>Every check of `check gpu` on a target; true when all pass.</summary>
    internal static bool Run(KernelTarget target, CommandConsole console)
    {
        bool ok = true;
        var table = console.OutWriter;
        table.WriteLine($"{"case",-62} {"tensor",-24} {"rel. err.",10} {"limit",6}");
        foreach (var c in Cases(target.Emulated))
            ok &= Compare(c, target, table);
        ok &= Fused(target, table);
        ok &= Resume(target, table);
        // Under the emulator, a 64x48 view of 300 Gaussians from step 3 to 13: the host's tensors are what it checks there.
        ok &= target.Emulated ? Steady(target, console, 300, 64, 48, from: 3, to: 13) : Steady(target, console);
        return ok;
    }

    /// <summary>The fused kernels against the TorchSharp chains they replace, on this device: the same self-checks a
    /// training process runs before it uses them (<see cref="FusedKernels"/>), here forced and reported.</summary>
    internal static bool Fused(KernelTarget target, TextWriter table)
    {
        bool ok = true;
        foreach (var (what, limit, check) in new (string, string, Func<Device, string?>)[]
                 {
                     ("fused Adam (optim.cu) vs unfused, 4 steps, 300001x3", "1e-5", Compute.Training.GaussianAdam.SelfCheck),
                     ("fused SSIM (ssim.cu) vs conv2d, 83x61 + 130x97", "1e-4", Compute.Losses.FusedSsim.SelfCheck),
                     ("triplets (triplets.cu) vs host sampler, 6 draws", "equal", Compute.Losses.TripletSampler.SelfCheck),
                     ("L_cluster statistics (cluster.cu) vs index_add chain", "1e-4", Compute.Losses.FusedClusterStats.SelfCheck),
                 })
        {
            string? problem;
            try
            {
                using (target.Enter()) problem = check(target.Device);
            }
            catch (Exception e) // reported as the check's failure, as a training process would treat it
            {
                problem = $"{e.GetType().Name}: {e.Message}";
            }
            table.WriteLine($"{what,-62} {"values and gradients",-24} {(problem is null ? "agree" : "differ"),10} {limit,6} {(problem is null ? "ok" : "FAIL: " + problem)}");
            ok &= problem is null;
        }
        return ok;
    }

    /// <summary>Checkpoints on the GPU: a generated room (8 views 96x72) trained 30 steps at once, and 15 steps, a
    /// checkpoint, then 15 more after restoring it on the GPU and on the CPU; and a CPU checkpoint continued on the GPU.
    /// Reports how far each lands from the uninterrupted GPU run (largest difference of means and embeddings over their
    /// largest magnitude), and how far two uninterrupted GPU runs land from each other: a resume that adds nothing to
    /// the GPU's own run-to-run difference is as good as it can be (the rasteriser's backward sums with atomics). Fails
    /// only when a checkpoint does not restore or lands further than 1e-2.</summary>
    internal static bool Resume(KernelTarget target, TextWriter table)
    {
        var dir = Directory.CreateTempSubdirectory("uniclift-check-resume-");
        try
        {
            // Under the emulator a smaller room (4 views 48x36, 600 starting points), at a CPU's pace.
            var synthetic = Compute.Synthetic.SyntheticSceneGenerator.Generate(target.Emulated
                ? new Compute.Synthetic.SyntheticSceneOptions { Seed = 3, Objects = 3, Views = 4, Width = 48, Height = 36, TestEvery = 0, PointCount = 600 }
                : new Compute.Synthetic.SyntheticSceneOptions { Seed = 3, Objects = 5, Views = 8, Width = 96, Height = 72, TestEvery = 0 });
            Compute.Synthetic.SyntheticSceneWriter.Write(dir.FullName, synthetic);
            var scene = SceneInspector.Read(dir.FullName);
            var options = new Compute.Training.TrainingOptions { Iterations = 30, Seed = 7, SegmentationLossesFromFraction = 0.25 };
            float[] State(Compute.Training.SceneTrainer t) =>
                [.. t.Model.Read(Compute.Training.GaussianModel.Means), .. t.Model.Read(Compute.Training.GaussianModel.Embeddings)];
            float[] Straight()
            {
                using var on = target.Enter();
                using var t = Compute.Training.SceneTrainer.Create(scene, options, device: target.Device);
                while (!t.IsComplete) t.Step();
                return State(t);
            }
            float[] Resumed(KernelTarget first, KernelTarget second)
            {
                var checkpoint = new MemoryStream();
                using (first.Enter())
                using (var t = Compute.Training.SceneTrainer.Create(scene, options, device: first.Device))
                {
                    for (int i = 0; i < 15; i++) t.Step();
                    t.Save(checkpoint);
                }
                checkpoint.Position = 0;
                using var on = second.Enter();
                using var r = Compute.Training.SceneTrainer.Restore(scene, checkpoint, second.Device);
                while (!r.IsComplete) r.Step();
                return State(r);
            }
            var dev = target;
            var cpu = KernelTarget.Cpu;
            static double Gap(float[] a, float[] b)
            {
                if (a.Length != b.Length) return double.PositiveInfinity; // different Gaussian counts
                using var scope = torch.NewDisposeScope();
                return TensorError.Relative(torch.tensor(a), torch.tensor(b), floor: 1e-30);
            }
            var reference = Straight();
            bool ok = true;
            // Under the emulator the "GPU" is the kernels run on the CPU: named so, as no device transfer happens there.
            string gpu = target.Emulated ? "emulated GPU" : "GPU";
            foreach (var (what, result, limit) in new (string, Func<float[]>, double)[]
                     {
                         ($"{gpu} 30 steps again", Straight, double.PositiveInfinity),
                         ($"{gpu} 15, checkpoint, {gpu} 15", () => Resumed(dev, dev), 1e-2),
                         ($"{gpu} 15, checkpoint, CPU 15", () => Resumed(dev, cpu), 1e-2),
                         ($"CPU 15, checkpoint, {gpu} 15", () => Resumed(cpu, dev), 1e-2),
                     })
            {
                string row;
                bool pass;
                try
                {
                    double gap = Gap(result(), reference);
                    pass = gap <= limit;
                    row = $"{gap,10:E2} {(double.IsPositiveInfinity(limit) ? "-" : limit.ToString("E0")),6} {(pass ? "ok" : "FAIL")}{(gap == 0 ? " (bit-exact)" : "")}";
                }
                catch (Exception e) when (e is InvalidDataException or CudaException or ArgumentException or System.Runtime.InteropServices.ExternalException)
                {
                    pass = false;
                    row = $"{"-",10} {limit,6:E0} FAIL: {e.Message}";
                }
                table.WriteLine($"{"resume: " + what + $" vs {gpu} 30 steps",-62} {"means, embeddings",-24} {row}");
                ok &= pass;
            }
            return ok;
        }
        finally
        {
            try { dir.Delete(recursive: true); } catch (IOException) { } // a temp folder left behind is harmless
        }
    }

    /// <summary>Forward + backward steps, each in a dispose scope as training runs them: the process's live tensor count
    /// and the device memory in use must not grow from step <paramref name="from"/> to step <paramref name="to"/> (the
    /// backward runs on the autograd engine's CUDA thread, outside the caller's scope).</summary>
    internal static bool Steady(KernelTarget target, CommandConsole console, int gaussians = 50000, int width = 320, int height = 240,
        int from = 10, int to = 60)
    {
        var dev = target.Device;
        int index = target.Cuda ? Compute.Cuda.CudaRuntime.Ordinal(dev) : -1;
        long Memory() { if (!target.Cuda) return 0; torch.cuda.synchronize(); return CudaRuntime.Memory(index).Used; }
        // On CUDA the backward's tensors come from autograd's device thread: the process's count. Under the emulator
        // everything runs on this thread, whose count other threads' work (a test run's) cannot disturb.
        long Live() => target.Cuda ? torch.Tensor.TotalCount : DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using var outer = torch.NewDisposeScope();
        using var on = target.Enter();
        var cam = SyntheticGaussians.LookAt(width, height, 60, (0, 0, -5), (0, 0, 0));
        var c = SyntheticGaussians.Random(cam, gaussians, 3, 12, seed: 9, minPx: 0.8, maxPx: 6);
        Tensor Up(Tensor t) => t.detach().to(dev).requires_grad_(true);
        var g = c.Map(Up);
        using var rast = new GaussianRasterizer();
        var settings = new RasterSettings();
        long count10 = 0, mem10 = 0;
        for (int i = 1; i <= to; i++)
        {
            using (var scope = torch.NewDisposeScope())
            {
                var r = rast.Render(g, cam, settings);
                var loss = r.Rgb.mean().add(r.Features!.Square().mean(), Scalars.One).add(r.Depth.mean(), Scalars.One);
                loss.backward();
            }
            if (i == from) { mem10 = Memory(); count10 = Live(); }
        }
        long mem60 = Memory(), count60 = Live();
        bool ok = count60 <= count10 && mem60 - mem10 <= 64L << 20;
        string memory = target.Cuda ? $", GPU memory in use {mem10 >> 20} -> {mem60 >> 20} MiB" : "";
        console.OutWriter.WriteLine($"steps {from} -> {to} ({gaussians / 1000.0:0.#}k Gaussians, {width}x{height}, D 12): live tensors {count10} -> {count60}{memory}: {(ok ? "ok" : "FAIL (growing)")}");
        return ok;
    }

    internal sealed record Case(string Name, int N, int Width, int Height, int D, int ShDegree, double Behind = 0, double MaxU = 1.1,
        bool FeatureGeometry = false, bool Crowded = false, int Seed = 1)
    {
        public string Label => $"{Name}, {N} Gaussians";
    }

    /// <summary>The rasteriser cases; under the emulator each has a sixth of its Gaussians (at least 500), which keeps
    /// every situation (empty tiles, one crowded tile, odd sizes) at a CPU's pace.</summary>
    internal static IEnumerable<Case> Cases(bool emulated = false) =>
        emulated ? FullCases().Select(c => c with { N = Math.Max(500, c.N / 6) }) : FullCases();

    private static IEnumerable<Case> FullCases() =>
    [
        new("SH 3, D 12, 20% behind the camera", 4000, 160, 120, 12, 3, Behind: 0.2),
        new("D 0, SH 1", 3000, 128, 96, 0, 1, Seed: 2),
        new("D 3, SH 2, right 45% empty", 3000, 150, 100, 3, 2, MaxU: 0.55, Seed: 3),
        new("D 32, feature loss reaches geometry", 3000, 144, 112, 32, 3, FeatureGeometry: true, Seed: 4),
        new("D 40, feature geometry, > 48 KiB shared", 1500, 96, 80, 40, 1, FeatureGeometry: true, Seed: 8),
        new("D 12, feature loss reaches geometry, odd size", 5000, 203, 157, 12, 3, Behind: 0.05, FeatureGeometry: true, Seed: 5),
        new("every Gaussian in one tile, D 12", 5000, 96, 80, 12, 3, Crowded: true, Seed: 6),
        new("320x240, D 12", 20000, 320, 240, 12, 3, Behind: 0.02, Seed: 7),
    ];

    /// <summary>Renders a case on CPU and on the device, applies the same random linear loss to every image, and compares
    /// images (relative error &lt; 1e-4) and gradients (&lt; 1e-3), relative to each reference tensor's largest magnitude.</summary>
    internal static bool Compare(Case c, KernelTarget target, TextWriter table)
    {
        var dev = target.Device;
        using var scope = torch.NewDisposeScope();
        var cam = SyntheticGaussians.LookAt(c.Width, c.Height, 60, (0, 0, -5), (0, 0, 0));
        var g = SyntheticGaussians.Random(cam, c.N, c.ShDegree, c.D, c.Seed, minPx: 0.8, maxPx: 6, fractionBehind: c.Behind, maxU: c.MaxU, opacityLogitMean: 0.5);
        if (c.Crowded)
        {
            // Every mean inside one 16x16 tile (pixels 32..48), at varied depths.
            var rng = new Random(c.Seed);
            var m = new float[c.N * 3];
            for (int i = 0; i < c.N; i++)
            {
                var p = cam.Unproject(32 + 16 * rng.NextDouble(), 32 + 16 * rng.NextDouble(), 2 + 6 * rng.NextDouble());
                m[3 * i] = (float)p.X; m[3 * i + 1] = (float)p.Y; m[3 * i + 2] = (float)p.Z;
            }
            g = g with { Means = torch.tensor(m).reshape(c.N, 3).requires_grad_(true) };
        }
        var settings = new RasterSettings(ShDegree: c.ShDegree, Background: [0.2f, 0.4f, 0.6f], FeatureGradientsReachGeometry: c.FeatureGeometry);
        Tensor Up(Tensor t) => t.detach().to(dev).requires_grad_(true);
        var gd = g.Map(Up);
        var gen = torch.manual_seed(c.Seed);
        var wRgb = torch.randn(c.Height, c.Width, 3); var wDepth = torch.randn(c.Height, c.Width); var wAlpha = torch.randn(c.Height, c.Width);
        var wFeat = c.D > 0 ? torch.randn(c.Height, c.Width, c.D) : null;

        (RenderResult R, Tensor[] Grads) Run(GaussianTensors t, Device on)
        {
            using var rasterizer = new GaussianRasterizer();
            var r = rasterizer.Render(t, cam, settings);
            var loss = (r.Rgb * wRgb.to(on)).sum().add((r.Depth * wDepth.to(on)).sum().mul(Scalars.Of(0.1)), Scalars.One).add((r.Alpha * wAlpha.to(on)).sum(), Scalars.One);
            if (r.Features is not null) loss = loss.add((r.Features * wFeat!.to(on)).sum(), Scalars.One);
            loss.backward();
            var leaves = new[] { t.Means, t.LogScales, t.Quats, t.OpacityLogits, t.Sh }.Concat(t.Features is null ? [] : [t.Features])
                .Append(r.ViewspaceRgb).Append(r.ViewspaceFeatures);
            return (r, leaves.Select(l => l.grad is null ? torch.zeros_like(l).cpu() : l.grad.cpu()).ToArray());
        }
        var (rc, gc) = Run(g, torch.CPU);
        RenderResult rg;
        Tensor[] gg;
        using (target.Enter()) (rg, gg) = Run(gd, dev);
        bool ok = true;
        void Row(string name, Tensor reference, Tensor? got, double limit)
        {
            double err = got is null ? double.PositiveInfinity : TensorError.Relative(got, reference);
            bool pass = err < limit;
            ok &= pass;
            table.WriteLine($"{c.Label,-62} {name,-24} {err,10:E2} {limit,6:E0} {(pass ? "ok" : "FAIL")}");
        }
        Row("rgb", rc.Rgb, rg.Rgb, 1e-4);
        if (c.D > 0) Row("features", rc.Features!, rg.Features, 1e-4);
        Row("depth", rc.Depth, rg.Depth, 1e-4);
        Row("alpha", rc.Alpha, rg.Alpha, 1e-4);
        int radiiMismatch = (int)rc.Radii.ne(rg.Radii.cpu()).sum().item<long>();
        ok &= radiiMismatch == 0;
        table.WriteLine($"{c.Label,-62} {"radii (count differing)",-24} {radiiMismatch,10} {0,6} {(radiiMismatch == 0 ? "ok" : "FAIL")}");
        string[] names = ["d means", "d log-scales", "d quats", "d opacity logits", "d sh", .. (c.D > 0 ? new[] { "d features" } : []), "d view-space (rgb)", "d view-space (features)"];
        for (int i = 0; i < names.Length; i++)
        {
            if (i == names.Length - 1 && !c.FeatureGeometry) continue; // zero on both sides by definition
            Row(names[i], gc[i], gg[i], 1e-3);
        }
        return ok;
    }
}
