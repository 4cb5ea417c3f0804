namespace UniCLift.Compute.Cuda;

using System.Runtime.InteropServices;

/// <summary>An error from the CUDA driver, NVRTC or the GPU setup, with a one-line message that says what is missing or
/// which call failed.</summary>
public sealed class CudaException(string message, Exception? inner = null) : EnvironmentException(message, inner);

/// <summary>The CUDA driver API (libcuda.so.1), the few calls the run-time-compiled kernels need: modules, functions,
/// launches, the primary context torch uses. Loaded on first use; a machine without the driver gets a
/// <see cref="CudaException"/> saying so.</summary>
internal static unsafe class CudaDriver
{
    private static readonly Lazy<Api> Loaded = new(() => Load(Candidates));

    /// <summary>The library names tried, in order (UNICLIFT_CUDA_DRIVER overrides).</summary>
    internal static string[] Candidates =>
        Environment.GetEnvironmentVariable("UNICLIFT_CUDA_DRIVER") is { Length: > 0 } p ? [p] : ["libcuda.so.1", "libcuda.so"];

    internal static Api Get() => Loaded.Value;

    internal sealed class Api
    {
        public required nint Handle;
        public required delegate* unmanaged<uint, int> Init;
        public required delegate* unmanaged<int*, int, int> DeviceGet;
        public required delegate* unmanaged<int*, int, int, int> DeviceGetAttribute;
        public required delegate* unmanaged<nint*, int, int> PrimaryCtxRetain;
        public required delegate* unmanaged<nint*, int> CtxGetCurrent;
        public required delegate* unmanaged<nint, int> CtxSetCurrent;
        public required delegate* unmanaged<int> CtxSynchronize;
        public required delegate* unmanaged<nint*, void*, int> ModuleLoadData;
        public required delegate* unmanaged<nint*, nint, byte*, int> ModuleGetFunction;
        public required delegate* unmanaged<nint, int, int, int> FuncSetAttribute;
        public required delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int> LaunchKernel;
        public required delegate* unmanaged<int, byte**, int> GetErrorName;
        public required delegate* unmanaged<int, byte**, int> GetErrorString;
        public required delegate* unmanaged<int*, int> DriverGetVersion;
        public required delegate* unmanaged<nuint*, nuint*, int> MemGetInfo;
        public required delegate* unmanaged<byte*, int, int, int> DeviceGetName;
    }

    /// <summary>Loads the first library of the list that loads and calls cuInit.</summary>
    internal static Api Load(IReadOnlyList<string> candidates)
    {
        nint h = 0;
        string? tried = null;
        foreach (var name in candidates)
        {
            tried = tried is null ? name : tried + ", " + name;
            if (NativeLibrary.TryLoad(name, out h)) break;
        }
        if (h == 0)
            throw new CudaException($"No CUDA driver: could not load {tried} (install the NVIDIA driver, or run on a GPU node with the NVIDIA container runtime).");
        T Sym<T>(string s) where T : unmanaged
        {
            if (!NativeLibrary.TryGetExport(h, s, out var p)) throw new CudaException($"The CUDA driver ({tried}) lacks {s}: driver too old.");
            return *(T*)&p;
        }
        var api = new Api
        {
            Handle = h,
            Init = (delegate* unmanaged<uint, int>)Sym<nint>("cuInit"),
            DeviceGet = (delegate* unmanaged<int*, int, int>)Sym<nint>("cuDeviceGet"),
            DeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)Sym<nint>("cuDeviceGetAttribute"),
            PrimaryCtxRetain = (delegate* unmanaged<nint*, int, int>)Sym<nint>("cuDevicePrimaryCtxRetain"),
            CtxGetCurrent = (delegate* unmanaged<nint*, int>)Sym<nint>("cuCtxGetCurrent"),
            CtxSetCurrent = (delegate* unmanaged<nint, int>)Sym<nint>("cuCtxSetCurrent"),
            CtxSynchronize = (delegate* unmanaged<int>)Sym<nint>("cuCtxSynchronize"),
            ModuleLoadData = (delegate* unmanaged<nint*, void*, int>)Sym<nint>("cuModuleLoadData"),
            ModuleGetFunction = (delegate* unmanaged<nint*, nint, byte*, int>)Sym<nint>("cuModuleGetFunction"),
            FuncSetAttribute = (delegate* unmanaged<nint, int, int, int>)Sym<nint>("cuFuncSetAttribute"),
            LaunchKernel = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)Sym<nint>("cuLaunchKernel"),
            GetErrorName = (delegate* unmanaged<int, byte**, int>)Sym<nint>("cuGetErrorName"),
            GetErrorString = (delegate* unmanaged<int, byte**, int>)Sym<nint>("cuGetErrorString"),
            DriverGetVersion = (delegate* unmanaged<int*, int>)Sym<nint>("cuDriverGetVersion"),
            MemGetInfo = (delegate* unmanaged<nuint*, nuint*, int>)Sym<nint>("cuMemGetInfo_v2"),
            DeviceGetName = (delegate* unmanaged<byte*, int, int, int>)Sym<nint>("cuDeviceGetName"),
        };
        int r = api.Init(0);
        if (r != 0) throw new CudaException($"cuInit failed: {Describe(api, r)} (is a GPU visible to this process? NVIDIA_VISIBLE_DEVICES / CUDA_VISIBLE_DEVICES)");
        return api;
    }

    internal static string Describe(Api api, int code)
    {
        byte* name = null, text = null;
        api.GetErrorName(code, &name);
        api.GetErrorString(code, &text);
        return $"{(name == null ? $"CUDA error {code}" : Marshal.PtrToStringUTF8((nint)name))}" +
               (text == null ? "" : $" ({Marshal.PtrToStringUTF8((nint)text)})");
    }

    /// <summary>Throws a <see cref="CudaException"/> naming the call (and the kernel, if any) when r is not CUDA_SUCCESS.</summary>
    internal static void Check(int r, string call, string? kernel = null)
    {
        if (r == 0) return;
        throw new CudaException($"{call}{(kernel is null ? "" : $" of kernel {kernel}")} failed: {Describe(Get(), r)}");
    }

    public const int AttrMaxSharedPerBlockOptin = 97, AttrComputeMajor = 75, AttrComputeMinor = 76, AttrMultiprocessors = 16;
    public const int FuncAttrMaxDynamicShared = 8;

    internal static int Attribute(int device, int attr)
    {
        var api = Get();
        int v;
        Check(api.DeviceGetAttribute(&v, attr, device), "cuDeviceGetAttribute");
        return v;
    }

    /// <summary>The device's name, e.g. "NVIDIA H200".</summary>
    internal static string Name(int device)
    {
        var api = Get();
        int dev;
        Check(api.DeviceGet(&dev, device), "cuDeviceGet");
        byte* buf = stackalloc byte[256];
        Check(api.DeviceGetName(buf, 256, dev), "cuDeviceGetName");
        return Marshal.PtrToStringUTF8((nint)buf) ?? "?";
    }

    /// <summary>Bytes in use on the device (all processes, torch's cached blocks included) and its total.</summary>
    internal static (long Used, long Total) Memory(int device)
    {
        MakeCurrent(device);
        nuint free, total;
        Check(Get().MemGetInfo(&free, &total), "cuMemGetInfo");
        return ((long)(total - free), (long)total);
    }

    /// <summary>Makes the device's primary context (the one libtorch uses) current on this thread.</summary>
    internal static void MakeCurrent(int device)
    {
        var api = Get();
        nint cur;
        Check(api.CtxGetCurrent(&cur), "cuCtxGetCurrent");
        var primary = PrimaryContext(device);
        if (cur != primary) Check(api.CtxSetCurrent(primary), "cuCtxSetCurrent");
    }

    private static readonly Dictionary<int, nint> Primary = new();

    private static nint PrimaryContext(int device)
    {
        lock (Primary)
        {
            if (Primary.TryGetValue(device, out var c)) return c;
            var api = Get();
            int dev;
            Check(api.DeviceGet(&dev, device), "cuDeviceGet");
            nint ctx;
            Check(api.PrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
            Primary[device] = ctx;
            return ctx;
        }
    }
}
