namespace UniCLift.Compute.Cuda;

using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>The CUDA C sources shipped inside this assembly (embedded resources named after their file).</summary>
public static class KernelSources
{
    /// <summary>The text of an embedded .cu file, e.g. "rasterize.cu".</summary>
    public static string Read(string file)
    {
        var asm = typeof(KernelSources).Assembly;
        var name = asm.GetManifestResourceNames().FirstOrDefault(n => n.EndsWith("." + file, StringComparison.Ordinal) || n == file)
            ?? throw new CudaException($"Kernel source {file} is not embedded in {asm.GetName().Name} (resources: {string.Join(", ", asm.GetManifestResourceNames())}).");
        using var s = asm.GetManifestResourceStream(name)!;
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <summary>The defines of a source compiled without any.</summary>
    public static IReadOnlyDictionary<string, string> NoDefines { get; } = new Dictionary<string, string>();

    /// <summary>One compiled variant's name: the file and its defines in key order (what loaded modules are keyed by).</summary>
    internal static string Variant(string file, IReadOnlyDictionary<string, string> defines) =>
        $"{file}|{string.Join(",", defines.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value))}";

    /// <summary>Every embedded .cu file.</summary>
    public static IReadOnlyList<string> All() =>
        typeof(KernelSources).Assembly.GetManifestResourceNames().Where(n => n.EndsWith(".cu", StringComparison.Ordinal))
            .Select(n => n.Split('.')[^2] + ".cu").ToList();
}

/// <summary>One compiled variant of a kernel source, loaded into one device's primary context (the context libtorch
/// uses, so kernels and torch share memory and the default stream). Obtain with <see cref="Get"/>; modules are cached
/// per (device, source, defines) for the life of the process.</summary>
public sealed unsafe class CudaModule : IKernelModule
{
    private static readonly Dictionary<string, CudaModule> Modules = new();
    private readonly nint _module;
    /// <summary>Kernels looked up so far. A module is shared by every thread that launches on its device (training slots,
    /// the autograd engine's device thread, parallel view renders), hence concurrent.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, nint> _functions = new();

    public int Device { get; }
    public string Name { get; }
    /// <summary>What NVRTC or the cache gave (the log is empty for a cached image).</summary>
    public CompiledKernel Compiled { get; }
    /// <summary>Whether the image came from the disk cache.</summary>
    public bool FromCache { get; }

    private CudaModule(int device, string name, nint module, CompiledKernel compiled, bool fromCache)
    {
        Device = device; Name = name; _module = module; Compiled = compiled; FromCache = fromCache;
    }

    /// <summary>The standard options: C++17, the architecture target, and -D defines. fmad stays on (the kernels make
    /// their discrete decisions with explicitly rounded operations).</summary>
    public static List<string> Options(string target, IReadOnlyDictionary<string, string> defines, bool verbose = false)
    {
        var o = new List<string> { target, "-std=c++17" };
        foreach (var (k, v) in defines.OrderBy(kv => kv.Key, StringComparer.Ordinal)) o.Add($"-D{k}={v}");
        if (verbose) o.Add("--ptxas-options=-v");
        return o;
    }

    /// <summary>The compute capability of a device as one number (9.0 -> 90).</summary>
    public static int Architecture(int device) =>
        10 * CudaDriver.Attribute(device, CudaDriver.AttrComputeMajor) + CudaDriver.Attribute(device, CudaDriver.AttrComputeMinor);

    /// <summary>The module for a source file and defines on a device: from memory, the disk cache, or NVRTC.</summary>
    public static CudaModule Get(int device, string file, IReadOnlyDictionary<string, string> defines, KernelCache? cache = null)
    {
        string id = $"{device}|{KernelSources.Variant(file, defines)}";
        lock (Modules)
        {
            if (Modules.TryGetValue(id, out var m)) return m;
            m = Create(device, file, defines, cache ?? KernelCache.Default());
            Modules[id] = m;
            return m;
        }
    }

    private static CudaModule Create(int device, string file, IReadOnlyDictionary<string, string> defines, KernelCache cache)
    {
        CudaDriver.MakeCurrent(device);
        int arch = Architecture(device);
        var source = KernelSources.Read(file);
        var (target, cubin) = Nvrtc.TargetFor(arch, Nvrtc.SupportedArchitectures);
        var options = Options(target, defines);
        var (maj, min) = Nvrtc.Version;
        string key = KernelCache.Key(Path.GetFileNameWithoutExtension(file), source, options, $"nvrtc {maj}.{min}", cubin);
        var api = CudaDriver.Get();
        if (cache.TryRead(key) is { } img)
        {
            if (TryLoad(api, img, cubin, out var cached))
                return new CudaModule(device, file, cached, new CompiledKernel(img, cubin, target, ""), true);
            cache.Remove(key); // stale or corrupt: compile again
        }
        var compiled = Nvrtc.Compile(source, file, options);
        if (!TryLoad(api, compiled.Image, cubin, out var module, out int err))
            throw new CudaException($"cuModuleLoadData of {file} ({target}) failed: {CudaDriver.Describe(api, err)}");
        cache.TryWrite(key, compiled.Image);
        return new CudaModule(device, file, module, compiled, false);
    }

    private static bool TryLoad(CudaDriver.Api api, byte[] image, bool cubin, out nint module) => TryLoad(api, image, cubin, out module, out _);

    private static bool TryLoad(CudaDriver.Api api, byte[] image, bool cubin, out nint module, out int err)
    {
        // PTX must be NUL-terminated text.
        var data = cubin || (image.Length > 0 && image[^1] == 0) ? image : [.. image, 0];
        nint m;
        fixed (byte* p = data) err = api.ModuleLoadData(&m, p);
        module = err == 0 ? m : 0;
        return err == 0;
    }

    /// <summary>A kernel of this module by its extern "C" name.</summary>
    public nint Function(string name)
    {
        if (_functions.TryGetValue(name, out var f)) return f;
        var bytes = Encoding.ASCII.GetBytes(name + "\0");
        nint fn;
        fixed (byte* p = bytes) CudaDriver.Check(CudaDriver.Get().ModuleGetFunction(&fn, _module, p), "cuModuleGetFunction", name);
        return _functions.GetOrAdd(name, fn); // a race looks the same kernel up twice: either handle will do
    }

    /// <summary>Allows a kernel more than 48 KiB of dynamic shared memory (up to the device's opt-in limit).</summary>
    public void AllowDynamicShared(string kernel, int bytes) =>
        CudaDriver.Check(CudaDriver.Get().FuncSetAttribute(Function(kernel), CudaDriver.FuncAttrMaxDynamicShared, bytes), "cuFuncSetAttribute", kernel);

    /// <summary>When set (UNICLIFT_CUDA_SYNC_CHECK=1), every launch is followed by a context synchronise, so a kernel
    /// that faults is named at its launch instead of at torch's next synchronising call. For debugging only.</summary>
    public static bool SyncCheck { get; set; } = Environment.GetEnvironmentVariable("UNICLIFT_CUDA_SYNC_CHECK") == "1";

    /// <summary>Launches a kernel on the default stream (torch's, unless the caller changed it).</summary>
    public void Launch(string kernel, (uint X, uint Y) grid, uint block, uint sharedBytes, KernelArgs args)
    {
        if (grid.X == 0 || grid.Y == 0) return;
        var api = CudaDriver.Get();
        CudaDriver.Check(api.LaunchKernel(Function(kernel), grid.X, grid.Y, 1, block, 1, 1, sharedBytes, 0, args.Pointers, null), "cuLaunchKernel", kernel);
        if (SyncCheck) CudaDriver.Check(api.CtxSynchronize(), "kernel", kernel);
    }
}

/// <summary>The argument block of one launch: each value copied into native memory at an 8-byte aligned offset and a
/// pointer to it, as cuLaunchKernel takes them, with each value's size and, for a tensor, its bytes (the kernel
/// emulator checks them against the kernel's parameters and guards the buffers). Reused launch after launch (call
/// <see cref="Reset"/>); one thread.</summary>
public sealed unsafe class KernelArgs : IDisposable
{
    private const int Capacity = 2048, MaxArgs = 48;
    private byte* _buf = (byte*)NativeMemory.AlignedAlloc(Capacity, 16);
    private void** _ptrs = (void**)NativeMemory.Alloc(MaxArgs, (nuint)sizeof(void*));
    private int* _sizes = (int*)NativeMemory.Alloc(MaxArgs, sizeof(int));
    private long* _bytes = (long*)NativeMemory.Alloc(MaxArgs, sizeof(long));
    private int _used, _count;

    internal void** Pointers => _ptrs;
    /// <summary>Each argument's size in bytes.</summary>
    internal int* Sizes => _sizes;
    /// <summary>Each argument's buffer size in bytes for a tensor (0 for a null one), -1 for a value.</summary>
    internal long* BufferBytes => _bytes;
    public int Count => _count;

    public KernelArgs Reset() { _used = 0; _count = 0; return this; }

    [ThreadStatic] private static KernelArgs? _forThread;

    /// <summary>This thread's argument block, reset: one per thread, reused by every launch on it (a launch takes the
    /// values before it returns; a custom function's backward on autograd's device thread gets that thread's).</summary>
    public static KernelArgs ForThread() => (_forThread ??= new KernelArgs()).Reset();

    private void* Next(int size, long bufferBytes)
    {
        int at = (_used + 7) & ~7;
        if (at + size > Capacity || _count == MaxArgs) throw new InvalidOperationException("Too many kernel arguments.");
        _used = at + size;
        void* p = _buf + at;
        _sizes[_count] = size;
        _bytes[_count] = bufferBytes;
        _ptrs[_count++] = p;
        return p;
    }

    public KernelArgs Add<T>(T value) where T : unmanaged { *(T*)Next(sizeof(T), -1) = value; return this; }

    /// <summary>The device address of a tensor's first element (null for a null tensor).</summary>
    public KernelArgs Ptr(Tensor? t)
    {
        *(nint*)Next(sizeof(nint), t is null ? 0 : t.numel() * t.ElementSize) = t is null ? 0 : DevicePointer(t);
        return this;
    }

    [DllImport("LibTorchSharp")]
    private static extern nint THSTensor_data(nint handle);

    /// <summary>data_ptr() of a tensor (storage offset included). The kernels take contiguous tensors only.</summary>
    public static nint DevicePointer(Tensor t)
    {
        var p = THSTensor_data(t.Handle);
        if (p == 0 && t.numel() > 0) torch.CheckForErrors();
        return p;
    }

    public void Dispose()
    {
        if (_buf != null) { NativeMemory.AlignedFree(_buf); _buf = null; }
        if (_ptrs != null) { NativeMemory.Free(_ptrs); _ptrs = null; }
        if (_sizes != null) { NativeMemory.Free(_sizes); _sizes = null; }
        if (_bytes != null) { NativeMemory.Free(_bytes); _bytes = null; }
        GC.SuppressFinalize(this);
    }

    ~KernelArgs() => Dispose();
}
