namespace UniCLift.Compute.Cuda;

using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// Gradient tensors a custom autograd function's backward handed to autograd. On CUDA that backward runs on the autograd
/// engine's device thread, outside the caller's dispose scope; libtorch keeps its own references, so the wrappers are
/// detached from the backward's scope, held here, and disposed by the caller's thread at its next forward (or
/// <see cref="Dispose"/>) instead of holding GPU memory until the GC finalises them.
/// </summary>
internal sealed class HandedOverGradients : IDisposable
{
    private readonly List<Tensor> _tensors = new();

    /// <summary>From the backward: detaches <paramref name="tensors"/> (null entries skipped) from
    /// <paramref name="scope"/> and keeps them until <see cref="Release"/>.</summary>
    public void Add(DisposeScope scope, IEnumerable<Tensor?> tensors)
    {
        var handed = tensors.OfType<Tensor>().ToArray();
        scope.Detach(handed);
        lock (_tensors) _tensors.AddRange(handed);
    }

    /// <summary>Disposes the wrappers of what earlier backwards handed over.</summary>
    public void Release()
    {
        lock (_tensors)
        {
            foreach (var t in _tensors) t.Dispose();
            _tensors.Clear();
        }
    }

    public void Dispose() => Release();
}
