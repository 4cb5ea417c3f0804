namespace UniCLift.Grains.Scenes;

/// <summary>
/// A write-only, growable in-memory stream of 1 MiB chunks that a scene run reuses for every checkpoint snapshot: the
/// training thread serialises the trainer into it (no copy when it grows, unlike a <see cref="MemoryStream"/>, and the
/// chunks stay allocated between checkpoints), then a background task copies it to the checkpoint file. Only managed
/// bytes: the background task never touches a tensor. Not thread-safe: the run never resets it while a write reads it.
/// </summary>
internal sealed class SnapshotBuffer : Stream
{
    internal const int ChunkSize = 1 << 20;
    private readonly List<byte[]> chunks = [];
    private long length;

    public override long Length => length;
    /// <summary>Bytes held (whole chunks), what the run keeps in memory between checkpoints.</summary>
    public long Capacity => (long)chunks.Count * ChunkSize;

    /// <summary>Empties the buffer for the next snapshot; the chunks are kept for reuse.</summary>
    public void Reset() => length = 0;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int chunk = (int)(length / ChunkSize), at = (int)(length % ChunkSize);
            if (chunk == chunks.Count) chunks.Add(new byte[ChunkSize]);
            int n = Math.Min(buffer.Length, ChunkSize - at);
            buffer[..n].CopyTo(chunks[chunk].AsSpan(at));
            buffer = buffer[n..];
            length += n;
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>Writes the snapshot's bytes to <paramref name="destination"/>, and adds them to <paramref name="hash"/> if given.</summary>
    public void WriteTo(Stream destination, System.Security.Cryptography.IncrementalHash? hash = null)
    {
        long left = length;
        for (int i = 0; left > 0; i++)
        {
            int n = (int)Math.Min(left, ChunkSize);
            hash?.AppendData(chunks[i], 0, n);
            destination.Write(chunks[i], 0, n);
            left -= n;
        }
    }

    public override void Flush() { }
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Position { get => length; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
