namespace UniCLift.Compute.IO;

/// <summary>A folder that results will be written into, checked before the minutes of work that fill it.</summary>
public static class OutputFolder
{
    /// <summary>The name of the empty file <see cref="EnsureWritable"/> writes and removes.</summary>
    public const string ProbeName = ".uniclift-write-check";

    /// <summary>Makes <paramref name="directory"/> if missing and writes (then removes) an empty file in it, so that a path
    /// through a file is bad input (<see cref="ArgumentException"/>) and a read-only or full file system or a folder
    /// without write permission is said now (<see cref="CannotWriteException"/>), each in one line naming the folder;
    /// <paramref name="what"/> names it ("output directory").</summary>
    public static void EnsureWritable(string directory, string what)
    {
        if (string.IsNullOrWhiteSpace(directory)) throw new ArgumentException($"{what} is empty.");
        var full = Path.GetFullPath(directory);
        for (var p = full; p is not null; p = Path.GetDirectoryName(p))
        {
            if (File.Exists(p))
                throw new ArgumentException(p == full
                    ? $"{what} {directory} is a file; name a directory (it is made if missing)."
                    : $"{what} {directory} cannot be made: {p} is a file, not a directory.");
            if (Directory.Exists(p)) break;
        }
        var probe = Path.Combine(full, ProbeName);
        try
        {
            Directory.CreateDirectory(full);
            AtomicFile.Write(probe, _ => { });
            File.Delete(probe);
        }
        catch (Exception e) when (AtomicFile.CannotWrite(System(e), probe) is { } reason)
        {
            // Said of the folder (the check's file is ours, not the user's).
            throw new CannotWriteException($"cannot write to {what} {directory}: {reason}.", System(e));
        }

        // The system's own exception: AtomicFile's, or what it wrapped.
        static Exception System(Exception e) => e is CannotWriteException { InnerException: { } inner } ? inner : e;
    }
}
