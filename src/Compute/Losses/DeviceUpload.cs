namespace UniCLift.Compute.Losses;

using TorchSharp;
using static TorchSharp.torch;

/// <summary>Host arrays a step draws (sampled pixels, triplet indices) or a view or graph holds (boundary structure,
/// neighbour pairs) onto the step's device. On CUDA the copy goes
/// through pinned memory without blocking, so the host does not wait for the device's queue to drain (a plain copy from
/// pageable memory would synchronise every step); torch's pinned-memory allocator keeps the staging buffer until the
/// copy has run. On CPU it is a plain tensor.</summary>
internal static class DeviceUpload
{
    public static Tensor Of(long[] data, Device device) =>
        device.type == DeviceType.CUDA ? Pinned(torch.tensor(data), device) : HostTensor.Copy(data);

    public static Tensor Of(int[] data, Device device) =>
        device.type == DeviceType.CUDA ? Pinned(torch.tensor(data), device) : HostTensor.Copy(data);

    public static Tensor Of(float[] data, Device device) =>
        device.type == DeviceType.CUDA ? Pinned(torch.tensor(data), device) : HostTensor.Copy(data);

    static Tensor Pinned(Tensor host, Device device)
    {
        using (host)
        using (var pinned = host.pin_memory())
            return pinned.to(device, non_blocking: true);
    }
}
