namespace UniCLift.Cluster.Tests;

using Microsoft.Extensions.Options;
using UniCLift.Grains.Hosting;
using UniCLift.Grains.Scenes;
using UniCLift.Grains.Views;

/// <summary>Which device a silo's view grains render on, and the fall-back when a GPU render fails.</summary>
public sealed class ViewRenderDeviceTests
{
    private static ViewRenderDevice Make(bool compute, string device, ComputeDevice? state = null) =>
        new(Options.Create(new UniCLiftSiloOptions { Compute = compute, Device = device }), state ?? new ComputeDevice());

    [Fact]
    public void AGpuComputeSiloRendersOnItsGpuAndEveryOtherSiloOnTheCpu()
    {
        Assert.Equal("cuda:1", Make(true, "cuda:1").Current.ToString());
        Assert.Equal("cuda:0", Make(true, "cuda").Current.ToString());
        Assert.Equal("cpu", Make(true, "cpu").Current.ToString());
        Assert.Equal("cpu", Make(false, "cuda").Current.ToString()); // a control silo trains nothing: CPU
        var broken = new ComputeDevice();
        broken.MarkBroken("no driver");
        Assert.Equal("cpu", Make(true, "cuda", broken).Current.ToString());
    }

    [Fact]
    public void AFailingGpuRenderMarksTheDeviceBrokenAndRendersOnTheCpu()
    {
        var state = new ComputeDevice();
        var views = Make(true, "cuda", state);
        var tried = new List<string>();
        var result = views.Run(device =>
        {
            tried.Add(device.ToString());
            if (device.type == TorchSharp.DeviceType.CUDA) throw new UniCLift.Compute.Cuda.CudaException("cuLaunchKernel failed");
            return 42;
        });
        Assert.Equal(42, result);
        Assert.Equal(["cuda:0", "cpu"], tried);
        Assert.Contains("cuLaunchKernel failed", state.Problem);
        Assert.Equal("cpu", views.Current.ToString()); // the next view goes straight to the CPU
    }

    [Fact]
    public void AGpuRenderOutOfMemoryRendersThatViewOnTheCpuAndKeepsTheDevice()
    {
        // The silo's trainings hold most of the GPU and several views render at once: an allocation can fail without
        // anything being wrong with the device, which must not stop the silo training (a broken device takes no scenes).
        var state = new ComputeDevice();
        var views = Make(true, "cuda", state);
        var tried = new List<string>();
        int Render(TorchSharp.torch.Device device)
        {
            tried.Add(device.ToString());
            if (device.type == TorchSharp.DeviceType.CUDA)
                throw new System.Runtime.InteropServices.ExternalException("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 139.80 GiB total capacity)");
            return 7;
        }
        Assert.Equal(7, views.Run(Render));
        Assert.Null(state.Problem);
        Assert.Equal("cuda:0", views.Current.ToString()); // the next view tries the GPU again
        Assert.Equal(7, views.Run(Render));
        Assert.Equal(["cuda:0", "cpu", "cuda:0", "cpu"], tried);

        // Any other libtorch error on the device marks it, as before.
        Assert.Equal(7, views.Run(d => d.type == TorchSharp.DeviceType.CUDA
            ? throw new System.Runtime.InteropServices.ExternalException("CUDA error: an illegal memory access was encountered") : 7));
        Assert.Contains("illegal memory access", state.Problem);
    }
}
