namespace UniCLift.Tests.Cuda;

using System.Runtime.InteropServices;
using TorchSharp;
using UniCLift.Compute.Cuda;
using UniCLift.Compute.Rendering.Cuda;

/// <summary>What of the CUDA backend runs without a GPU: the embedded kernel source, the compiled-image cache, NVRTC and
/// driver discovery and their messages, architecture targets, the ptxas report parser, the launch argument block and the
/// camera struct's layout. No test here runs a kernel; `uniclift check gpu` does that on a GPU, and `.ci/run` compiles
/// every kernel with NVRTC.</summary>
public sealed class CudaInfrastructureTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uniclift-cuda-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_Rasteriser_Source_Is_Embedded_With_Every_Kernel_The_Host_Launches()
    {
        Assert.Contains("rasterize.cu", KernelSources.All());
        var src = KernelSources.Read(CudaRasterizer.Source);
        var defined = System.Text.RegularExpressions.Regex.Matches(src, @"extern ""C"" __global__ void __launch_bounds__\(\w+\) (\w+)\(")
            .Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Equal(new HashSet<string> { "project_forward", "emit_pairs", "tile_ranges", "blend_forward", "blend_backward", "project_backward" }, defined);
        var host = File.ReadAllText(Path.Combine(RepoRoot(), "src/Compute/Rendering/Cuda/CudaRasterizer.cs"));
        var launched = System.Text.RegularExpressions.Regex.Matches(host, @"Launch\(""(\w+)""").Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Equal(defined, launched);
    }

    [Theory]
    [InlineData("optim.cu", "src/Compute/Training/GaussianAdam.cs", "adam_step")]
    [InlineData("ssim.cu", "src/Compute/Losses/FusedSsim.cs", "ssim_forward,ssim_backward")]
    [InlineData("triplets.cu", "src/Compute/Losses/TripletSampler.cs", "sample_triplets")]
    [InlineData("cluster.cu", "src/Compute/Losses/FusedClusterStats.cs", "cluster_sums,cluster_spread,cluster_backward")]
    public void A_Fused_Kernel_Source_Is_Embedded_With_The_Kernels_Its_Host_Launches(string source, string hostFile, string kernels)
    {
        Assert.Contains(source, KernelSources.All());
        var defined = System.Text.RegularExpressions.Regex.Matches(KernelSources.Read(source), @"extern ""C"" __global__ void __launch_bounds__\([\w *]+\) (\w+)\(")
            .Select(m => m.Groups[1].Value).ToHashSet();
        var host = File.ReadAllText(Path.Combine(RepoRoot(), hostFile));
        var launched = System.Text.RegularExpressions.Regex.Matches(host, @"Launch\((?:module, )?""(\w+)""").Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Equal(kernels.Split(',').ToHashSet(), defined);
        Assert.Equal(defined, launched);
    }

    [Fact]
    public void By_Default_Each_Devices_Self_Check_Decides_On_The_Fused_Adam() =>
        Assert.Null(Compute.Training.GaussianAdam.FusedCudaUpdate);

    [Fact]
    public void The_Environment_Turns_A_Fused_Kernel_Off_Or_On_Without_Its_Check()
    {
        // An environment of the test's own: the process's is read by every test beside it (CpuSsim, the emulator's kernels).
        var environment = new Dictionary<string, string>();
        string? Read(string name) => environment.GetValueOrDefault(name);
        int checks = 0;
        string? Check(torch.Device _) { checks++; return null; }
        var seven = new torch.Device(DeviceType.CUDA, 7);
        environment["UNICLIFT_FUSED_SSIM"] = "0";
        Assert.False(FusedKernels.Use(FusedKernels.Ssim, seven, Check, Read));
        environment["UNICLIFT_FUSED_SSIM"] = "1";
        Assert.True(FusedKernels.Use(FusedKernels.Ssim, seven, Check, Read));
        environment["UNICLIFT_FUSED"] = "0";
        Assert.False(FusedKernels.Use(FusedKernels.Ssim, seven, Check, Read));
        Assert.Equal(0, checks);
    }

    [Fact]
    public void A_Self_Check_Runs_Once_Per_Kernel_And_Device_And_A_Failure_Keeps_The_Kernel_Off_And_Says_Why()
    {
        var warned = new List<string>();
        var saved = FusedKernels.Warn;
        FusedKernels.Warn = warned.Add;
        try
        {
            int checks = 0;
            string? Fails(torch.Device d) { checks++; return $"differs on {d}"; }
            var three = new torch.Device(DeviceType.CUDA, 3);
            string? Throws(torch.Device _) { checks++; throw new CudaException("no module"); }
            Assert.False(FusedKernels.Use("test-fails", three, Fails));
            Assert.False(FusedKernels.Use("test-fails", three, Fails));
            Assert.False(FusedKernels.Use("test-throws", three, Throws));
            Assert.True(FusedKernels.Use("test-agrees", three, _ => { checks++; return null; }));
            Assert.True(FusedKernels.Use("test-agrees", three, _ => { checks++; return null; }));
            Assert.Equal(3, checks);
            Assert.Equal(2, warned.Count);
            Assert.Contains("differs on cuda:3", warned[0]);
            Assert.Contains("cuda:3", warned[0]);
            Assert.Contains("no module", warned[1]);
            Assert.Contains(FusedKernels.Checked(), v => v.Name == "test-agrees" && v.Device == "cuda:3" && v.Problem is null);
        }
        finally { FusedKernels.Warn = saved; }
    }

    [Fact]
    public void The_Fused_Update_Never_Touches_Cpu_Parameters()
    {
        float[] Run(bool fused)
        {
            bool? saved = Compute.Training.GaussianAdam.FusedCudaUpdate;
            Compute.Training.GaussianAdam.FusedCudaUpdate = fused;
            try
            {
                using var scope = torch.NewDisposeScope();
                using var adam = new Compute.Training.GaussianAdam();
                var p = adam.Add("x", torch.arange(12, dtype: torch.ScalarType.Float32).reshape(4, 3).DetachFromDisposeScope(), 0.1);
                for (int i = 0; i < 3; i++)
                {
                    using var step = torch.NewDisposeScope();
                    p.mul(p).sum().backward();
                    adam.Step();
                }
                return adam["x"].Value.detach().data<float>().ToArray();
            }
            finally { Compute.Training.GaussianAdam.FusedCudaUpdate = saved; }
        }
        var plain = Run(false);
        Assert.NotEqual(Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), plain); // it moved
        Assert.Equal(plain, Run(true)); // bit for bit: CPU tensors take the TorchSharp update whatever the flag
    }

    [Fact]
    public void A_Missing_Source_Is_Named()
    {
        var e = Assert.Throws<CudaException>(() => KernelSources.Read("nope.cu"));
        Assert.Contains("nope.cu", e.Message);
    }

    [Fact]
    public void Cache_Keys_Change_With_Everything_That_Changes_The_Image()
    {
        string k = KernelCache.Key("rasterize", "src", ["-arch=sm_90", "-DCHANNELS=12"], "nvrtc 13.0", cubin: true);
        Assert.Equal(k, KernelCache.Key("rasterize", "src", ["-arch=sm_90", "-DCHANNELS=12"], "nvrtc 13.0", cubin: true));
        Assert.Matches(@"^rasterize-[0-9a-f]{16}\.cubin$", k);
        Assert.NotEqual(k, KernelCache.Key("rasterize", "src ", ["-arch=sm_90", "-DCHANNELS=12"], "nvrtc 13.0", true));
        Assert.NotEqual(k, KernelCache.Key("rasterize", "src", ["-arch=sm_80", "-DCHANNELS=12"], "nvrtc 13.0", true));
        Assert.NotEqual(k, KernelCache.Key("rasterize", "src", ["-arch=sm_90", "-DCHANNELS=3"], "nvrtc 13.0", true));
        Assert.NotEqual(k, KernelCache.Key("rasterize", "src", ["-arch=sm_90", "-DCHANNELS=12"], "nvrtc 12.8", true));
        Assert.EndsWith(".ptx", KernelCache.Key("rasterize", "src", ["-arch=compute_90"], "nvrtc 13.0", false));
        // Options are joined unambiguously: ["a b"] is not ["a", "b"].
        Assert.NotEqual(KernelCache.Key("r", "s", ["a b"], "c", true), KernelCache.Key("r", "s", ["a", "b"], "c", true));
    }

    [Fact]
    public void Cache_Round_Trips_Atomically_And_Forgets_On_Request()
    {
        var cache = new KernelCache(Path.Combine(_dir, "nested", "cache"));
        const string key = "rasterize-0123456789abcdef.cubin";
        Assert.Null(cache.TryRead(key));
        var image = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        Assert.True(cache.TryWrite(key, image));
        Assert.Equal(image, cache.TryRead(key));
        Assert.Empty(Directory.GetFiles(cache.Directory, "*.tmp")); // written to a temporary name, then renamed
        Assert.True(cache.TryWrite(key, [1, 2, 3]));
        Assert.Equal(new byte[] { 1, 2, 3 }, cache.TryRead(key));
        cache.Remove(key);
        Assert.Null(cache.TryRead(key));
    }

    [Fact]
    public void An_Unwritable_Cache_Is_Not_An_Error()
    {
        var file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "x");
        var cache = new KernelCache(Path.Combine(file, "cache")); // a directory under a file cannot exist
        Assert.False(cache.TryWrite("k.cubin", [1]));
        Assert.Null(cache.TryRead("k.cubin"));
    }

    [Fact]
    public void The_Default_Cache_Follows_The_Environment()
    {
        Assert.Equal(_dir, KernelCache.Default(n => n == "UNICLIFT_CUDA_CACHE" ? _dir : null).Directory);
        Assert.Equal(Path.Combine("/xdg", "uniclift", "cuda"), KernelCache.Default(n => n == "XDG_CACHE_HOME" ? "/xdg" : null).Directory);
        Assert.EndsWith(Path.Combine("uniclift", "cuda"), KernelCache.Default(_ => null).Directory);
    }

    [Fact]
    public void Nvrtc_Is_Looked_For_Beside_Libtorch_And_In_Pip_Layouts_Before_The_Loader_Path()
    {
        var torchLib = Path.Combine(_dir, "site", "torch", "lib");
        var pip = Path.Combine(_dir, "site", "nvidia", "cu13", "lib");
        Directory.CreateDirectory(torchLib);
        Directory.CreateDirectory(pip);
        File.WriteAllText(Path.Combine(torchLib, "libnvrtc-abc123.so.12"), "");
        File.WriteAllText(Path.Combine(pip, "libnvrtc.so.13"), "");
        File.WriteAllText(Path.Combine(pip, "libnvrtc-builtins.so.13.0"), "");
        var c = Nvrtc.Candidates(null, [torchLib]);
        Assert.Equal(Path.Combine(torchLib, "libnvrtc-abc123.so.12"), c[0]);
        Assert.Equal(Path.Combine(pip, "libnvrtc.so.13"), c[1]);
        Assert.DoesNotContain(c, p => p.Contains("builtins"));
        int loaderNames = c.IndexOf("libnvrtc.so.13");
        Assert.True(loaderNames > 1, string.Join(", ", c));
        // NVRTC_LIBRARY is the only candidate when set: a wrong value is an error, not a silent fallback.
        Assert.Equal(["/x/libnvrtc.so.13"], Nvrtc.Candidates("/x/libnvrtc.so.13", [torchLib]));
    }

    [Fact]
    public void A_Bad_NVRTC_LIBRARY_Is_Named_With_What_Is_Wrong()
    {
        var missing = Path.Combine(_dir, "libnvrtc.so.13");
        var e = Assert.Throws<CudaException>(() => Nvrtc.Load(missing, [missing]));
        Assert.Contains($"NVRTC_LIBRARY={missing}", e.Message);
        Assert.Contains("no such file", e.Message);
        File.WriteAllText(missing, "not an ELF file");
        e = Assert.Throws<CudaException>(() => Nvrtc.Load(missing, [missing]));
        Assert.Contains("not a loadable libnvrtc", e.Message);
    }

    [Fact]
    public void No_Nvrtc_Anywhere_Says_Where_It_Looked_And_Where_It_Ships()
    {
        var e = Assert.Throws<CudaException>(() => Nvrtc.Load(null, ["/nonexistent/libnvrtc.so.99"]));
        Assert.StartsWith("NVRTC (libnvrtc.so) not found: set NVRTC_LIBRARY", e.Message);
        Assert.Contains("/nonexistent/libnvrtc.so.99", e.Message);
        Assert.Contains("libtorch CUDA builds", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void No_Driver_Is_One_Line()
    {
        var e = Assert.Throws<CudaException>(() => CudaDriver.Load(["/nonexistent/libcuda.so.1"]));
        Assert.StartsWith("No CUDA driver: could not load /nonexistent/libcuda.so.1", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Architectures_Get_Cubin_Ptx_Or_A_Clear_Refusal()
    {
        int[] supported = [75, 80, 86, 89, 90, 100, 120];
        Assert.Equal(("--gpu-architecture=sm_90", true), Nvrtc.TargetFor(90, supported));
        Assert.Equal(("--gpu-architecture=sm_80", true), Nvrtc.TargetFor(80, supported));
        // A device newer than this NVRTC knows: PTX of the newest it knows, for the driver to compile.
        Assert.Equal(("--gpu-architecture=compute_120", false), Nvrtc.TargetFor(121, supported));
        Assert.Equal(("--gpu-architecture=compute_90", false), Nvrtc.TargetFor(92, [80, 90, 100]));
        var e = Assert.Throws<CudaException>(() => Nvrtc.TargetFor(61, supported));
        Assert.Contains("Compute capability 6.1 is not supported", e.Message);
        e = Assert.Throws<CudaException>(() => Nvrtc.TargetFor(75, [80, 90]));
        Assert.Contains("sm_75", e.Message);
    }

    [Fact]
    public void Ptxas_Reports_Parse_Per_Kernel()
    {
        const string log = """
            ptxas info    : 11 bytes gmem
            ptxas info    : Compiling entry function 'project_backward' for 'sm_90'
            ptxas info    : Function properties for project_backward
            ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
            ptxas info    : Used 126 registers, used 0 barriers
            ptxas info    : Compiling entry function 'blend_backward' for 'sm_90'
            ptxas info    : Function properties for blend_backward
            ptxas         .     24 bytes stack frame, 16 bytes spill stores, 20 bytes spill loads
            ptxas info    : Used 78 registers, used 1 barriers, 11280 bytes smem
            """;
        var r = Nvrtc.ParseResources(log);
        Assert.Equal(2, r.Count);
        Assert.Equal(new KernelResources("project_backward", 126, 0, 0, 0, 0), r[0]);
        Assert.Equal(new KernelResources("blend_backward", 78, 24, 16, 20, 11280), r[1]);
    }

    [Fact]
    public unsafe void Launch_Arguments_Are_Aligned_Values_With_A_Pointer_Each()
    {
        using var a = new KernelArgs();
        var cam = new CudaRasterizer.CamParams { Fx = 2.5, Degree = 3, BinBySupport = 1 };
        cam.W[4] = 7;
        a.Reset().Add(42).Add(cam).Add(1.5f).Add((nint)0x1234);
        var p = a.Pointers;
        Assert.Equal(42, *(int*)p[0]);
        Assert.Equal(0, (long)p[1] % 8);
        var back = *(CudaRasterizer.CamParams*)p[1];
        Assert.Equal(2.5, back.Fx);
        Assert.Equal(7, back.W[4]);
        Assert.Equal(3, back.Degree);
        Assert.Equal(1.5f, *(float*)p[2]);
        Assert.Equal(0x1234, *(nint*)p[3]);
        Assert.Equal(0, (long)p[3] % 8);
        a.Reset().Add(9);
        Assert.Equal(9, *(int*)a.Pointers[0]);
    }

    [Fact]
    public void The_Camera_Struct_Matches_The_Kernel_Source()
    {
        // rasterize.cu: struct Cam { double w[9], t[3], eye[3]; double fx, fy, cx, cy, limx, limy, near_plane;
        // int degree, K, width, height, tilesX, tilesY, binBySupport, pad; }
        Assert.Equal(22 * 8 + 8 * 4, Marshal.SizeOf<CudaRasterizer.CamParams>());
        Assert.Equal(15 * 8, (int)Marshal.OffsetOf<CudaRasterizer.CamParams>(nameof(CudaRasterizer.CamParams.Fx)));
        Assert.Equal(22 * 8, (int)Marshal.OffsetOf<CudaRasterizer.CamParams>(nameof(CudaRasterizer.CamParams.Degree)));
        Assert.Equal(22 * 8 + 6 * 4, (int)Marshal.OffsetOf<CudaRasterizer.CamParams>(nameof(CudaRasterizer.CamParams.BinBySupport)));
        var src = KernelSources.Read(CudaRasterizer.Source);
        Assert.Contains("double w[9];", src);
        Assert.Contains("double fx, fy, cx, cy, limx, limy, near_plane;", src);
        Assert.Contains("int degree, K, width, height, tilesX, tilesY, binBySupport, pad;", src);
    }

    [Fact]
    public void Devices_Parse_And_Bad_Ones_Are_Named()
    {
        Assert.Equal(DeviceType.CPU, CudaRuntime.ParseDevice("cpu").type);
        Assert.Equal((DeviceType.CUDA, 0), (CudaRuntime.ParseDevice("cuda").type, (int)CudaRuntime.ParseDevice("cuda").index));
        Assert.Equal(3, (int)CudaRuntime.ParseDevice("CUDA:3").index);
        foreach (var bad in new[] { "gpu", "cuda:", "cuda:-1", "cuda:x", "" })
            Assert.Contains($"'{bad}'", Assert.Throws<ArgumentException>(() => CudaRuntime.ParseDevice(bad)).Message);
    }

    [Fact]
    public void Devices_Are_The_Same_By_Type_And_Ordinal_Not_By_Reference()
    {
        using var t = torch.zeros(2);
        Assert.False(ReferenceEquals(t.device, t.device)); // why a reference comparison never holds
        Assert.True(KernelHost.SameDevice(t.device, torch.CPU));
        Assert.True(KernelHost.SameDevice(new torch.Device(DeviceType.CUDA, 0), CudaRuntime.ParseDevice("cuda")));
        Assert.True(KernelHost.SameDevice(new torch.Device(DeviceType.CUDA, 2), CudaRuntime.ParseDevice("cuda:2")));
        Assert.False(KernelHost.SameDevice(new torch.Device(DeviceType.CUDA, 0), new torch.Device(DeviceType.CUDA, 1)));
        Assert.False(KernelHost.SameDevice(torch.CPU, new torch.Device(DeviceType.CUDA, 0)));
    }

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "UniCLift.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
