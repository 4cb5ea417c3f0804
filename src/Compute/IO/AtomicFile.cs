namespace UniCLift.Compute.IO;

/// <summary>Writes files so that a reader never sees a half-written file and a failed write leaves the old file intact.</summary>
public static class AtomicFile
{
    private static int pending;

    /// <summary>Writes in progress in this process (their temporary files exist).</summary>
    public static int PendingWrites => Volatile.Read(ref pending);

    /// <summary>
    /// Waits until no write is in progress, at most <paramref name="timeout"/>; true when none is. A process that is
    /// stopping calls it last, so that a write still running on another thread ends with its rename instead of leaving
    /// its temporary file behind when the process exits.
    /// </summary>
    public static bool WaitForPendingWrites(TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (PendingWrites > 0)
        {
            if (clock.Elapsed >= timeout) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    /// <summary>Writes through a temporary file in the same directory, flushes it to disk, renames it over
    /// <paramref name="path"/> and flushes the directory (on Linux), so that a crash of the machine leaves the old file
    /// or the new one, whole.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        Interlocked.Increment(ref pending);
        try { WriteCore(path, write); }
        finally { Interlocked.Decrement(ref pending); }
    }

    private static void WriteCore(string path, Action<Stream> write)
    {
        if (FileConfinement.Current is { } confined)
        {
            // Inside a confinement: checked on the opened directory, created and renamed inside it (no race).
            if (FileConfinement.ChecksDescriptors)
            {
                confined.WriteAtomically(path, write);
                return;
            }
            confined.CheckWriteByName(path);
        }
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, TemporaryName(Path.GetFileName(full)));
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
            FileConfinement.Linux.SyncDirectory(FileConfinement.Linux.CurrentDirectory, dir, full); // the rename survives a crash too
        }
        catch
        {
            // A failed write (a full disk among others) leaves no temporary file and the old file untouched.
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>The temporary file a write of <paramref name="fileName"/> goes through, beside it: hidden, unique to the
    /// process and the write.</summary>
    internal static string TemporaryName(string fileName) => $".{fileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true); w.Write(text); });

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }
}
