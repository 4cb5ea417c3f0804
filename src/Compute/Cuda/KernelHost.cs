namespace UniCLift.Compute.Cuda;

using TorchSharp;
using static TorchSharp.torch;

/// <summary>A loaded kernel source (one variant of its defines): launch its kernels by their extern "C" names.</summary>
public interface IKernelModule
{
    /// <summary>Launches a kernel on grid (X, Y) of one-dimensional blocks, with dynamic shared memory and the arguments'
    /// values in <paramref name="args"/>.</summary>
    void Launch(string kernel, (uint X, uint Y) grid, uint block, uint sharedBytes, KernelArgs args);

    /// <summary>Allows a kernel up to <paramref name="bytes"/> of dynamic shared memory: needed once its dynamic and static
    /// shared memory together pass 48 KiB (<see cref="KernelHost.NeedsSharedOptIn"/>).</summary>
    void AllowDynamicShared(string kernel, int bytes);
}

/// <summary>Where this project's CUDA kernels run for tensors on a device: on a CUDA device through the driver, or, for
/// CPU tensors on a thread where <see cref="KernelEmulator"/> is active (tests, <c>check kernels --emulate</c>), under
/// the CPU emulator. Everywhere else CPU tensors take the TorchSharp paths.</summary>
public static class KernelHost
{
    /// <summary>What a block may have in shared memory, static and dynamic together, unless its kernel opted in to more.</summary>
    public const int DefaultSharedBytes = 48 * 1024;

    /// <summary>The static shared memory every kernel of this project stays under (`check kernels` fails a kernel that
    /// does not), which the host counts when it decides on an opt-in.</summary>
    public const int StaticSharedAllowance = 12 * 1024;

    /// <summary>Whether a launch with <paramref name="dynamicBytes"/> of dynamic shared memory needs its kernel's opt-in:
    /// a GPU refuses it (CUDA_ERROR_INVALID_VALUE) when dynamic and static shared memory pass 48 KiB without one.</summary>
    public static bool NeedsSharedOptIn(long dynamicBytes) => dynamicBytes + StaticSharedAllowance > DefaultSharedBytes;

    /// <summary>Whether the kernels run for tensors on <paramref name="device"/>.</summary>
    public static bool Runs(Device device) =>
        device.type == DeviceType.CUDA || (device.type == DeviceType.CPU && KernelEmulator.Active);

    /// <summary>Whether <paramref name="device"/> is the emulator's (CPU tensors while it is active).</summary>
    public static bool Emulated(Device device) => device.type == DeviceType.CPU && KernelEmulator.Active;

    /// <summary>The module of a source file and defines for tensors on <paramref name="device"/> (a CUDA device is made
    /// current first).</summary>
    public static IKernelModule Module(Device device, string file, IReadOnlyDictionary<string, string> defines)
    {
        if (device.type == DeviceType.CUDA)
        {
            int index = CudaRuntime.Ordinal(device);
            CudaDriver.MakeCurrent(index);
            return CudaModule.Get(index, file, defines);
        }
        if (Emulated(device)) return KernelEmulator.Module(file, defines);
        throw new ArgumentException($"The CUDA kernels run on CUDA tensors (or CPU tensors under the kernel emulator), not on {device}.");
    }

    /// <summary>The most dynamic shared memory a block may opt in to on the device.</summary>
    public static int MaxDynamicShared(Device device) =>
        device.type == DeviceType.CUDA
            ? CudaDriver.Attribute(CudaRuntime.Ordinal(device), CudaDriver.AttrMaxSharedPerBlockOptin)
            : KernelEmulator.MaxDynamicSharedBytes;

    /// <summary>Whether two tensors are on one device (CUDA "cuda" and "cuda:0" alike).</summary>
    public static bool SameDevice(Tensor a, Tensor b) => SameDevice(a.device, b.device);

    /// <summary>Whether two devices are one. TorchSharp's <see cref="Device"/> compares by reference, and
    /// <c>Tensor.device</c> makes a new one at every call: <c>t.device == device</c> is always false.</summary>
    public static bool SameDevice(Device a, Device b) =>
        a.type == b.type && (a.type != DeviceType.CUDA || CudaRuntime.Ordinal(a) == CudaRuntime.Ordinal(b));

    /// <summary>Makes the tensors' CUDA device current (nothing to do for the emulator).</summary>
    public static void MakeCurrent(Device device)
    {
        if (device.type == DeviceType.CUDA) CudaDriver.MakeCurrent(CudaRuntime.Ordinal(device));
    }
}
