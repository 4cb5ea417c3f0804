namespace UniCLift.Compute;

using static TorchSharp.torch;

/// <summary>CPU tensors that own native memory. TorchSharp's <c>torch.tensor(array)</c> clones the array and pins the
/// clone as the tensor's storage, so a large tensor made that way is a pinned object in the managed large object heap
/// for its whole life: the heap cannot compact around it, and every such tensor costs a second managed copy. Tensors
/// kept for a whole training (a view's image, its L_cluster targets) are copied into libtorch's own memory instead.</summary>
public static class HostTensor
{
    /// <summary>A CPU tensor of <paramref name="shape"/> (default: the array's length) holding a copy of
    /// <paramref name="data"/> in native memory; the array is not pinned after the call.</summary>
    public static Tensor Copy<T>(T[] data, params long[] shape) where T : unmanaged
    {
        if (shape.Length > 0)
        {
            long count = 1;
            foreach (var d in shape) count *= d;
            if (count != data.LongLength || shape.Any(d => d < 0))
                throw new ArgumentException($"A tensor of shape [{string.Join(", ", shape)}] cannot hold {data.LongLength} values.", nameof(shape));
        }
        using var view = from_array(data); // the array itself as storage, pinned until this view is disposed
        using var shaped = shape.Length == 0 ? view.alias() : view.view(shape);
        return shaped.clone();
    }
}
