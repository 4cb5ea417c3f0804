namespace UniCLift.Grains.Views;

using Microsoft.Extensions.Options;
using UniCLift.Compute.Cuda;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Scenes;
using static TorchSharp.torch;

/// <summary>Where this silo's view grains render codes: the silo's training device on a compute silo whose device works
/// (a GPU silo decodes on its GPU), otherwise the CPU. A CUDA render that fails marks the device broken, as a failed
/// training does, and the view renders on the CPU; one that runs out of GPU memory (the silo's trainings hold it, and
/// several views render at once) renders that view on the CPU and leaves the device as it was.</summary>
public sealed class ViewRenderDevice(IOptions<UniCLiftSiloOptions> options, ComputeDevice device)
{
    public Device Current =>
        options.Value.Compute && device.Problem is null && CudaRuntime.ParseDevice(options.Value.Device) is { type: TorchSharp.DeviceType.CUDA } cuda
            ? cuda : CPU;

    /// <summary>Renders with <paramref name="render"/> on <see cref="Current"/>, and on the CPU when that is a GPU that fails.</summary>
    public T Run<T>(Func<Device, T> render)
    {
        var dev = Current;
        if (dev.type == TorchSharp.DeviceType.CPU) return render(CPU);
        try { return render(dev); }
        catch (Exception e) when (e is CudaException or System.Runtime.InteropServices.ExternalException)
        {
            if (!OutOfMemory(e)) device.MarkBroken($"rendering a view on {dev} failed: {e.Message}");
            return render(CPU);
        }
    }

    /// <summary>libtorch's allocator failing ("CUDA out of memory. Tried to allocate ..."): the device is busy, not broken.</summary>
    internal static bool OutOfMemory(Exception e) =>
        e is System.Runtime.InteropServices.ExternalException && e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase);
}
