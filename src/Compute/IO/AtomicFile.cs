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
        catch (Exception e) when (CannotWrite(e, path) is { } reason)
        {
            // One line naming the file asked for (not the temporary one, not .NET's exception type) and why.
            throw new CannotWriteException($"cannot write {path}: {reason}.", e);
        }
        finally { Interlocked.Decrement(ref pending); }
    }

    /// <summary>The operating system's reason when <paramref name="e"/> says the file system refused the write of
    /// <paramref name="path"/> (its temporary file, its directory or a parent it had to create); null for anything
    /// else, which the caller's own handling sees as it was.</summary>
    internal static string? CannotWrite(Exception e, string path)
    {
        // On Linux an IOException from a system call carries its errno as HResult (.NET's and FileConfinement's alike):
        // ENOSPC, EDQUOT, EROFS, EFBIG, EACCES, EPERM, EIO, said in the system's words ("No space left on device").
        if (e is IOException io and not FileNotFoundException and not DirectoryNotFoundException)
            return io.HResult is 28 or 122 or 30 or 27 or 13 or 1 or 5 ? System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(io.HResult) : null;
        if (e is UnauthorizedAccessException)
        {
            // "Access to the path '/x/y' is denied.": only when that path is the file, its temporary file, or a folder
            // on the way to it (a callback's own read of another file is not this write's failure).
            int a = e.Message.IndexOf('\''), b = e.Message.LastIndexOf('\'');
            if (a < 0 || b <= a) return null;
            string denied = Path.TrimEndingDirectorySeparator(e.Message[(a + 1)..b]), full = Path.GetFullPath(path);
            return FileConfinement.IsUnder(full, denied) || string.Equals(Path.GetDirectoryName(denied), Path.GetDirectoryName(full), StringComparison.Ordinal)
                ? "Permission denied" : null;
        }
        return null;
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
