namespace UniCLift.Compute.Cuda;

using TorchSharp;

/// <summary>Whether this process can run the CUDA kernels on a device, with one line saying why not: libtorch without
/// CUDA, no driver, no NVRTC, or an architecture the kernels do not support.</summary>
public static class CudaRuntime
{
    /// <summary>Throws a <see cref="CudaException"/> with the reason when the CUDA kernels cannot run on device index
    /// (null: the current device).</summary>
    public static void EnsureAvailable(int? device = null)
    {
        lock (Ready) if (Ready.Contains(device ?? 0)) return;
        TorchRuntime.EnsureInitialised();
        if (!torch.cuda.is_available())
            throw new CudaException("CUDA is not available to libtorch: the loaded libtorch is a CPU build or sees no GPU. " +
                "Build with -p:TorchVariant=cuda (TorchSharp-cuda-linux), or put a CUDA libtorch (e.g. PyTorch's torch/lib) first on LD_LIBRARY_PATH.");
        int count = torch.cuda.device_count();
        int d = device ?? 0;
        if (d < 0 || d >= count) throw new CudaException($"CUDA device {d} does not exist (libtorch sees {count}).");
        CudaDriver.Get();
        Nvrtc.TargetFor(CudaModule.Architecture(d), Nvrtc.SupportedArchitectures);
        lock (Ready) Ready.Add(d);
    }

    private static readonly HashSet<int> Ready = new();

    /// <summary>The device's name, e.g. "NVIDIA H200".</summary>
    public static string DeviceName(int device) => CudaDriver.Name(device);

    /// <summary>Bytes in use on the device (every process, torch's cached blocks included) and its total.</summary>
    public static (long Used, long Total) Memory(int device) => CudaDriver.Memory(device);

    /// <summary>Compute capability as one number (9.0 -> 90).</summary>
    public static int Architecture(int device) => CudaModule.Architecture(device);

    /// <summary>The reason the CUDA kernels cannot run, or null when they can.</summary>
    public static string? Problem(int? device = null)
    {
        try { EnsureAvailable(device); return null; }
        catch (CudaException e) { return e.Message; }
    }

    /// <summary>The CUDA ordinal of a torch device: its index, or 0 for "cuda" without one (torch's current device).</summary>
    public static int Ordinal(torch.Device device) => device.index < 0 ? 0 : (int)device.index;

    /// <summary>A torch device from a command-line value: cpu, cuda or cuda:N; anything else is an error naming it.</summary>
    public static torch.Device ParseDevice(string value) =>
        TryParseDeviceName(value, out int? cuda)
            ? cuda is { } i ? new torch.Device(DeviceType.CUDA, i) : torch.CPU
            : throw new ArgumentException($"Device '{value}' is not one of cpu, cuda, cuda:N.");

    /// <summary>Reads a device value as text alone, touching no libtorch (a silo checks its Device setting before it
    /// loads anything): cpu (<paramref name="cudaOrdinal"/> null), cuda (0) or cuda:N with N digits only; false for
    /// anything else. The one rule <see cref="ParseDevice"/> and the silo's option check share.</summary>
    public static bool TryParseDeviceName(string value, out int? cudaOrdinal)
    {
        cudaOrdinal = null;
        var v = value.Trim().ToLowerInvariant();
        if (v == "cpu") return true;
        if (v == "cuda") { cudaOrdinal = 0; return true; }
        if (!v.StartsWith("cuda:", StringComparison.Ordinal)
            || !int.TryParse(v[5..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i)) return false;
        cudaOrdinal = i;
        return true;
    }
}
