namespace UniCLift.Compute.IO;

using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

/// <summary>
/// Where the code running in this async flow may open files, checked on what the operating system actually opened, not
/// on the name: a silo sets one around the work it does for a client (UniCLift.Grains.Security.DataRoots.Confine), and
/// <see cref="DataFile"/> (every reader of scene and result files) and <see cref="AtomicFile"/> (every writer) consult it.
/// A name check before the open leaves a race: someone who can write inside a root swaps a directory for a symbolic link
/// between the check and the open. Here the check is made on the open file itself:
/// <list type="bullet">
/// <item>a read opens the file, then asks the kernel where that descriptor points (/proc/self/fd/N) and closes it
/// unread unless that lies under a readable directory;</item>
/// <item>a write opens the target's directory first (O_PATH), checks where that descriptor points, then creates the
/// temporary file in it (openat, O_EXCL | O_NOFOLLOW) and renames it within it (renameat): nothing is created outside
/// (only <see cref="Directory.CreateDirectory(string)"/> of missing parent folders still goes by name).</item>
/// </list>
/// Without a confinement (the console on a user's own files, tests) nothing is checked. On a system without /proc or
/// without the *at calls wired here (not Linux x64/arm64) a confinement checks the resolved name only, as before.
/// </summary>
public sealed class FileConfinement
{
    private static readonly AsyncLocal<FileConfinement?> current = new();
    private readonly string[] readable, writable;

    /// <param name="readable">Directories whose files may be read (real paths: symbolic links resolved).</param>
    /// <param name="writable">Directories where files may be written (real paths).</param>
    /// <param name="describe">How a refusal names the directories ("the silo's data roots").</param>
    public FileConfinement(IEnumerable<string> readable, IEnumerable<string> writable, string describe)
    {
        this.readable = [.. readable.Select(Trim)];
        this.writable = [.. writable.Select(Trim)];
        Describe = describe;
    }

    public string Describe { get; }

    /// <summary>The confinement of this async flow; null when nothing is confined.</summary>
    public static FileConfinement? Current => current.Value;

    /// <summary>Confines this async flow (and the tasks it starts) to <paramref name="confinement"/> until disposed.</summary>
    public static IDisposable Use(FileConfinement confinement)
    {
        ArgumentNullException.ThrowIfNull(confinement);
        var previous = current.Value;
        current.Value = confinement;
        return new Scope(previous);
    }

    public bool MayRead(string realPath) => readable.Any(r => IsUnder(realPath, r));
    public bool MayWrite(string realPath) => writable.Any(r => IsUnder(realPath, r));

    /// <summary>Whether the kernel can say what an open descriptor is (/proc/self/fd) and the *at calls are wired for this
    /// architecture: the race-free checks. Otherwise a confinement checks names only.</summary>
    public static bool ChecksDescriptors { get; } = OperatingSystem.IsLinux() && Directory.Exists("/proc/self/fd") && Linux.Flags is not null;

    /// <summary>Refuses a file opened for reading (<paramref name="stream"/>, opened by the name <paramref name="path"/>)
    /// unless it lies under a readable directory; the stream is disposed when refused.</summary>
    internal void CheckRead(FileStream stream, string path)
    {
        var real = ChecksDescriptors ? DescriptorPath(stream.SafeFileHandle) : ResolvedName(path);
        if (real is not null && MayRead(real)) return;
        stream.Dispose();
        throw Refused(path, real, "read");
    }

    /// <summary>The name-only check of a write where descriptors cannot be checked: the target's resolved directory.</summary>
    internal void CheckWriteByName(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var real = ResolvedName(dir);
        if (real is null || !MayWrite(real)) throw Refused(path, real, "write");
    }

    internal UnauthorizedAccessException Refused(string path, string? real, string verb) => new(
        $"{path} is outside {Describe}{(real is not null && real != path ? $": it resolves to {real}" : "")}; the silo does not {verb} files there.");

    /// <summary>Where an open descriptor points, as the kernel says; null when it cannot say.</summary>
    internal static string? DescriptorPath(SafeHandle handle)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var link = $"/proc/self/fd/{handle.DangerousGetHandle().ToInt64()}";
            var target = new FileInfo(link).LinkTarget;
            return target is null || target.EndsWith(" (deleted)", StringComparison.Ordinal) ? null : target;
        }
        catch (IOException) { return null; }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    private static string? ResolvedName(string path)
    {
        try
        {
            var full = Path.GetFullPath(path);
            return File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException) { return null; }
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or below it (both full paths; ordinal, as Linux
    /// names are; a file system root holds everything). The one containment rule of the data roots' name checks and of
    /// the checks on opened files.</summary>
    public static bool IsUnder(string path, string root)
    {
        var r = Path.TrimEndingDirectorySeparator(root);
        var p = Path.TrimEndingDirectorySeparator(path);
        if (r.Length == 0 || r == Path.GetPathRoot(r)) return p.StartsWith(Path.GetPathRoot(r) ?? "/", StringComparison.Ordinal); // "/" holds everything
        return p == r || (p.StartsWith(r, StringComparison.Ordinal) && p.Length > r.Length && p[r.Length] == Path.DirectorySeparatorChar);
    }

    private static string Trim(string root) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) is { Length: > 0 } t ? t : "/";

    private sealed class Scope(FileConfinement? previous) : IDisposable
    {
        public void Dispose() => current.Value = previous;
    }

    /// <summary>The few libc calls a confined write (open, openat, renameat, unlinkat, close) and DataFile's refusal of pipes (lseek) need, with the
    /// open(2) flag values of the architecture (x86-64 and arm64 differ).</summary>
    internal static class Linux
    {
        internal sealed record OpenFlags(int Directory, int NoFollow, int Path, int CloseOnExec);

        internal const int WriteOnly = 0x1, Create = 0x40, Exclusive = 0x80; // the same on x86-64 and arm64

        internal static readonly OpenFlags? Flags = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => new OpenFlags(Directory: 0x10000, NoFollow: 0x20000, Path: 0x200000, CloseOnExec: 0x80000),
            Architecture.Arm64 => new OpenFlags(Directory: 0x4000, NoFollow: 0x8000, Path: 0x200000, CloseOnExec: 0x80000),
            _ => null,
        };

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        internal static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [DllImport("libc", EntryPoint = "openat", SetLastError = true)]
        internal static extern int OpenAt(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

        [DllImport("libc", EntryPoint = "renameat", SetLastError = true)]
        internal static extern int RenameAt(int olddirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldpath, int newdirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string newpath);

        [DllImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
        internal static extern int UnlinkAt(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        internal static extern int Close(int fd);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        internal static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
        internal static extern long Seek(int fd, long offset, int whence); // off_t is 64-bit on x86-64 and arm64

        internal const int NonBlocking = 0x800, SeekCurrent = 1; // O_NONBLOCK, SEEK_CUR: the same on x86-64 and arm64

        internal const int ReadOnly = 0, EInvalid = 22, ENotSupported = 95, CurrentDirectory = -100; // CurrentDirectory: AT_FDCWD

        /// <summary>
        /// Flushes a directory's entries to disk (the name a rename just gave a file), through a descriptor opened at
        /// <paramref name="dirfd"/> / <paramref name="name"/> (<paramref name="dirfd"/> -100, AT_FDCWD, for a path). Without
        /// it a crash of the machine, not only of the process, can lose the rename of a file whose data is already on
        /// disk. File systems that cannot sync a directory (EINVAL, ENOTSUP) are left as they are; any other failure
        /// throws naming <paramref name="path"/>. No-op off Linux.
        /// </summary>
        internal static void SyncDirectory(int dirfd, string name, string path)
        {
            if (!OperatingSystem.IsLinux() || Flags is not { } f) return;
            int fd = OpenAt(dirfd, name, ReadOnly | f.Directory | f.CloseOnExec, 0);
            if (fd < 0) throw Error("cannot open to sync the directory of", path);
            try
            {
                if (Fsync(fd) != 0 && Marshal.GetLastPInvokeError() is not (EInvalid or ENotSupported))
                    throw Error("cannot sync the directory of", path);
            }
            finally { Close(fd); }
        }

        /// <summary>The last call's errno as an IOException naming <paramref name="path"/> (ENOSPC reads "No space left on device").</summary>
        internal static IOException Error(string what, string path)
        {
            int errno = Marshal.GetLastPInvokeError();
            return new IOException($"{what} {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }
    }

    /// <summary>
    /// Writes <paramref name="path"/> through a temporary file created inside its directory's open descriptor, after
    /// checking where that directory is; renames within the same descriptor. Used by <see cref="AtomicFile"/> when a
    /// confinement with descriptor checks is active.
    /// </summary>
    internal void WriteAtomically(string path, Action<Stream> write)
    {
        var f = Linux.Flags!;
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        Directory.CreateDirectory(dir);
        int dirfd = Linux.Open(dir, f.Path | f.Directory | f.CloseOnExec, 0);
        if (dirfd < 0) throw Linux.Error("cannot open the directory of", path);
        try
        {
            using (var dirHandle = new SafeFileHandle((IntPtr)dirfd, ownsHandle: false))
            {
                var real = DescriptorPath(dirHandle);
                if (real is null || !MayWrite(real)) throw Refused(path, real is null ? null : Path.Join(real, name), "write");
            }
            var tmp = AtomicFile.TemporaryName(name);
            int fd = Linux.OpenAt(dirfd, tmp, Linux.WriteOnly | Linux.Create | Linux.Exclusive | f.NoFollow | f.CloseOnExec, Convert.ToInt32("644", 8));
            if (fd < 0) throw Linux.Error("cannot create a temporary file for", path);
            try
            {
                using (var stream = new FileStream(new SafeFileHandle((IntPtr)fd, ownsHandle: true), FileAccess.Write, 1 << 16))
                {
                    write(stream);
                    stream.Flush(flushToDisk: true);
                }
                if (Linux.RenameAt(dirfd, tmp, dirfd, name) != 0) throw Linux.Error("cannot rename the temporary file onto", path);
                Linux.SyncDirectory(dirfd, ".", path);
            }
            catch
            {
                Linux.UnlinkAt(dirfd, tmp, 0);
                throw;
            }
        }
        finally
        {
            Linux.Close(dirfd);
        }
    }
}
