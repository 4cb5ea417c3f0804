namespace UniCLift.Compute.Training;

using static TorchSharp.torch;

/// <summary>Raw float32 tensors to and from a binary stream (shape, then little-endian values). Exact round trip.</summary>
public static class TensorIO
{
    public static void Write(BinaryWriter w, Tensor t)
    {
        // A scope for detach(), cpu() and contiguous(): each makes a tensor, and none may outlive the write.
        using var scope = NewDisposeScope();
        var c = t.detach().cpu().contiguous();
        if (c.dtype != ScalarType.Float32) throw new ArgumentException($"TensorIO writes float32 tensors, got {c.dtype}.");
        w.Write(c.shape.Length);
        foreach (var d in c.shape) w.Write(d);
        // The CPU tensor's own memory, no managed copy: a checkpoint snapshot is this on the training thread.
        if (c.numel() > 0) w.Write(c.bytes);
    }

    /// <summary>Reads a tensor written by <see cref="Write"/>; the result is not registered in any dispose scope.</summary>
    public static Tensor Read(BinaryReader r)
    {
        int rank = r.ReadInt32();
        if (rank < 0 || rank > 8) throw new InvalidDataException($"Corrupt checkpoint: tensor rank {rank}.");
        var shape = new long[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            shape[i] = r.ReadInt64();
            if (shape[i] < 0) throw new InvalidDataException($"Corrupt checkpoint: negative tensor dimension {shape[i]}.");
            count *= shape[i];
        }
        var data = new float[count];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan());
        int read = 0;
        while (read < bytes.Length)
        {
            int k = r.Read(bytes[read..]);
            if (k == 0) throw new InvalidDataException($"Corrupt checkpoint: truncated, tensor data ends after {read} of {bytes.Length} bytes.");
            read += k;
        }
        return tensor(data, shape).DetachFromDisposeScope();
    }
}
