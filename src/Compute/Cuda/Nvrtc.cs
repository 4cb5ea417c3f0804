namespace UniCLift.Compute.Cuda;

using System.Runtime.InteropServices;
using System.Text;

/// <summary>NVIDIA's run-time CUDA C++ compiler, found and loaded on first use. Where it is looked for, in order:
/// the file named by NVRTC_LIBRARY (an error if that is set and does not load); beside the libtorch the process
/// loaded (libtorch CUDA builds ship libnvrtc next to libtorch_cuda.so, pip's in site-packages/nvidia/*/lib); the
/// loader's path (libnvrtc.so.13, .12, .11.2); CUDA_HOME and /usr/local/cuda.</summary>
public static unsafe class Nvrtc
{
    private static readonly Lazy<Api> Loaded = new(() => Load(Environment.GetEnvironmentVariable("NVRTC_LIBRARY"), LoadedLibraryDirectories()));

    internal sealed class Api
    {
        public required string Path;
        public required delegate* unmanaged<int*, int*, int> Version;
        public required delegate* unmanaged<int*, int> NumSupportedArchs;
        public required delegate* unmanaged<int*, int> SupportedArchs;
        public required delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> CreateProgram;
        public required delegate* unmanaged<nint, int, byte**, int> CompileProgram;
        public required delegate* unmanaged<nint, nuint*, int> GetLogSize;
        public required delegate* unmanaged<nint, byte*, int> GetLog;
        public required delegate* unmanaged<nint, nuint*, int> GetCubinSize;
        public required delegate* unmanaged<nint, byte*, int> GetCubin;
        public required delegate* unmanaged<nint, nuint*, int> GetPtxSize;
        public required delegate* unmanaged<nint, byte*, int> GetPtx;
        public required delegate* unmanaged<nint*, int> DestroyProgram;
        public required delegate* unmanaged<int, byte*> GetErrorString;
    }

    /// <summary>The loaded library's path.</summary>
    public static string LibraryPath => Loaded.Value.Path;

    /// <summary>NVRTC's version, e.g. (13, 0).</summary>
    public static (int Major, int Minor) Version
    {
        get
        {
            var api = Loaded.Value;
            int a, b;
            api.Version(&a, &b);
            return (a, b);
        }
    }

    /// <summary>The real architectures this NVRTC can emit CUBIN for (e.g. 75, 80, 86, 89, 90, ...).</summary>
    public static int[] SupportedArchitectures
    {
        get
        {
            var api = Loaded.Value;
            int n;
            api.NumSupportedArchs(&n);
            var a = new int[n];
            fixed (int* p = a) api.SupportedArchs(p);
            return a;
        }
    }

    /// <summary>The files to try, in order, given NVRTC_LIBRARY and the directories of libraries already loaded.</summary>
    internal static List<string> Candidates(string? envPath, IEnumerable<string> loadedDirs)
    {
        var list = new List<string>();
        if (!string.IsNullOrEmpty(envPath)) { list.Add(envPath); return list; }
        foreach (var dir in loadedDirs)
        {
            list.AddRange(LibrariesIn(dir));
            // pip wheels: site-packages/torch/lib -> site-packages/nvidia/<pkg>/lib
            var site = System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, "..", ".."));
            var nvidia = System.IO.Path.Combine(site, "nvidia");
            if (Directory.Exists(nvidia))
                foreach (var sub in Directory.GetDirectories(nvidia).Order())
                    list.AddRange(LibrariesIn(System.IO.Path.Combine(sub, "lib")));
        }
        list.AddRange(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"]);
        foreach (var root in new[] { Environment.GetEnvironmentVariable("CUDA_HOME"), "/usr/local/cuda" })
            if (!string.IsNullOrEmpty(root)) list.AddRange(LibrariesIn(System.IO.Path.Combine(root, "lib64")));
        return list.Distinct().ToList();
    }

    private static IEnumerable<string> LibrariesIn(string dir) =>
        Directory.Exists(dir)
            ? Directory.GetFiles(dir, "libnvrtc*.so*").Where(f => !System.IO.Path.GetFileName(f).Contains("builtins")).OrderDescending()
            : [];

    /// <summary>Directories of the libtorch libraries this process has loaded (from /proc/self/maps).</summary>
    internal static IEnumerable<string> LoadedLibraryDirectories()
    {
        try
        {
            return File.ReadLines("/proc/self/maps")
                .Select(l => l.IndexOf('/') is var i and >= 0 ? l[i..] : "")
                .Where(p => System.IO.Path.GetFileName(p) is var f && (f.StartsWith("libtorch_cuda") || f.StartsWith("libc10_cuda") || f.StartsWith("libtorch.so")))
                .Select(p => System.IO.Path.GetDirectoryName(p)!)
                .Distinct().ToList();
        }
        catch (IOException) { return []; }
    }

    internal static Api Load(string? envPath, IEnumerable<string> loadedDirs) => Load(envPath, Candidates(envPath, loadedDirs));

    /// <summary>Loads the first of the candidates that loads; envPath only shapes the error message.</summary>
    internal static Api Load(string? envPath, IReadOnlyList<string> candidates)
    {
        nint h = 0;
        string? path = null;
        foreach (var c in candidates)
            if (NativeLibrary.TryLoad(c, out h)) { path = c; break; }
        if (h == 0)
        {
            if (!string.IsNullOrEmpty(envPath))
                throw new CudaException($"NVRTC_LIBRARY={envPath} could not be loaded ({(File.Exists(envPath) ? "not a loadable libnvrtc for this machine" : "no such file")}).");
            throw new CudaException("NVRTC (libnvrtc.so) not found: set NVRTC_LIBRARY to it. It ships with libtorch CUDA builds (beside libtorch_cuda.so), " +
                "the CUDA toolkit (lib64/) and pip's nvidia-cuda-nvrtc. Looked for: " + string.Join(", ", candidates.Take(8)) + (candidates.Count > 8 ? ", ..." : ""));
        }
        T Sym<T>(string s) where T : unmanaged
        {
            if (!NativeLibrary.TryGetExport(h, s, out var p)) throw new CudaException($"{path} lacks {s}: NVRTC older than 11.2 is not supported.");
            return *(T*)&p;
        }
        return new Api
        {
            Path = path!,
            Version = (delegate* unmanaged<int*, int*, int>)Sym<nint>("nvrtcVersion"),
            NumSupportedArchs = (delegate* unmanaged<int*, int>)Sym<nint>("nvrtcGetNumSupportedArchs"),
            SupportedArchs = (delegate* unmanaged<int*, int>)Sym<nint>("nvrtcGetSupportedArchs"),
            CreateProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)Sym<nint>("nvrtcCreateProgram"),
            CompileProgram = (delegate* unmanaged<nint, int, byte**, int>)Sym<nint>("nvrtcCompileProgram"),
            GetLogSize = (delegate* unmanaged<nint, nuint*, int>)Sym<nint>("nvrtcGetProgramLogSize"),
            GetLog = (delegate* unmanaged<nint, byte*, int>)Sym<nint>("nvrtcGetProgramLog"),
            GetCubinSize = (delegate* unmanaged<nint, nuint*, int>)Sym<nint>("nvrtcGetCUBINSize"),
            GetCubin = (delegate* unmanaged<nint, byte*, int>)Sym<nint>("nvrtcGetCUBIN"),
            GetPtxSize = (delegate* unmanaged<nint, nuint*, int>)Sym<nint>("nvrtcGetPTXSize"),
            GetPtx = (delegate* unmanaged<nint, byte*, int>)Sym<nint>("nvrtcGetPTX"),
            DestroyProgram = (delegate* unmanaged<nint*, int>)Sym<nint>("nvrtcDestroyProgram"),
            GetErrorString = (delegate* unmanaged<int, byte*>)Sym<nint>("nvrtcGetErrorString"),
        };
    }

    /// <summary>The target for a device of compute capability arch (e.g. 90): CUBIN for it when this NVRTC knows it,
    /// otherwise PTX of the newest architecture it knows (the driver compiles that). Throws for devices older than
    /// minArch or older than anything this NVRTC supports.</summary>
    public static (string Option, bool Cubin) TargetFor(int arch, int[] supported, int minArch = 70)
    {
        if (arch < minArch)
            throw new CudaException($"Compute capability {arch / 10}.{arch % 10} is not supported: the CUDA kernels need {minArch / 10}.{minArch % 10} or newer.");
        if (supported.Contains(arch)) return ($"--gpu-architecture=sm_{arch}", true);
        var older = supported.Where(a => a <= arch).ToArray();
        if (older.Length == 0)
            throw new CudaException($"This NVRTC ({LibraryPathOrUnknown()}) supports sm_{supported.Min()}..sm_{supported.Max()}, not the device's sm_{arch}.");
        return ($"--gpu-architecture=compute_{older.Max()}", false);
    }

    private static string LibraryPathOrUnknown() => Loaded.IsValueCreated ? Loaded.Value.Path : "libnvrtc";

    /// <summary>Compiles one CUDA C++ source. A compile error throws a <see cref="CudaException"/> carrying NVRTC's log.</summary>
    public static CompiledKernel Compile(string source, string name, IReadOnlyList<string> options)
    {
        var api = Loaded.Value;
        nint prog;
        var src = Encoding.UTF8.GetBytes(source + "\0");
        var nm = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* ps = src, pn = nm)
            Check(api, api.CreateProgram(&prog, ps, pn, 0, null, null), "nvrtcCreateProgram");
        try
        {
            var opts = options.Select(o => Marshal.StringToHGlobalAnsi(o)).ToArray();
            int r;
            try
            {
                fixed (nint* po = opts) r = api.CompileProgram(prog, opts.Length, (byte**)po);
            }
            finally
            {
                foreach (var o in opts) Marshal.FreeHGlobal(o);
            }
            nuint logSize;
            api.GetLogSize(prog, &logSize);
            var log = new byte[(int)logSize];
            fixed (byte* pl = log) api.GetLog(prog, pl);
            string logText = Encoding.UTF8.GetString(log).TrimEnd('\0').Trim();
            if (r != 0)
                throw new CudaException($"NVRTC could not compile {name} ({Marshal.PtrToStringUTF8((nint)api.GetErrorString(r))}):\n{logText}");
            string target = options.FirstOrDefault(o => o.StartsWith("--gpu-architecture=")) is { } t ? t["--gpu-architecture=".Length..] : "default";
            bool cubin = target.StartsWith("sm_");
            nuint size;
            byte[] image;
            if (cubin)
            {
                Check(api, api.GetCubinSize(prog, &size), "nvrtcGetCUBINSize");
                image = new byte[(int)size];
                fixed (byte* pi = image) Check(api, api.GetCubin(prog, pi), "nvrtcGetCUBIN");
            }
            else
            {
                Check(api, api.GetPtxSize(prog, &size), "nvrtcGetPTXSize");
                image = new byte[(int)size];
                fixed (byte* pi = image) Check(api, api.GetPtx(prog, pi), "nvrtcGetPTX");
            }
            return new CompiledKernel(image, cubin, target, logText);
        }
        finally
        {
            api.DestroyProgram(&prog);
        }
    }

    private static void Check(Api api, int r, string call)
    {
        if (r != 0) throw new CudaException($"{call} failed: {Marshal.PtrToStringUTF8((nint)api.GetErrorString(r))}");
    }

    /// <summary>Registers, spills and shared memory per kernel from a ptxas -v log.</summary>
    public static IReadOnlyList<KernelResources> ParseResources(string log)
    {
        var list = new List<KernelResources>();
        string? current = null;
        int stack = 0, spillStores = 0, spillLoads = 0;
        foreach (var raw in log.Split('\n'))
        {
            var line = raw.Trim();
            var m = System.Text.RegularExpressions.Regex.Match(line, @"Compiling entry function '([^']+)'");
            if (m.Success) { current = m.Groups[1].Value; stack = spillStores = spillLoads = 0; continue; }
            m = System.Text.RegularExpressions.Regex.Match(line, @"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads");
            if (m.Success) { stack = int.Parse(m.Groups[1].Value); spillStores = int.Parse(m.Groups[2].Value); spillLoads = int.Parse(m.Groups[3].Value); continue; }
            m = System.Text.RegularExpressions.Regex.Match(line, @"Used (\d+) registers(?:.*?(\d+) bytes smem)?");
            if (m.Success && current is not null)
            {
                list.Add(new KernelResources(current, int.Parse(m.Groups[1].Value), stack, spillStores, spillLoads,
                    m.Groups[2].Success ? int.Parse(m.Groups[2].Value) : 0));
                current = null;
            }
        }
        return list;
    }
}
