namespace UniCLift.Compute.IO;

using System.Text;

/// <summary>
/// How scene and result files are opened for reading: as <see cref="File"/> does, and, inside a
/// <see cref="FileConfinement"/>, refused when the file actually opened lies outside the readable directories.
/// Exceptions are the framework's (FileNotFoundException, ...) plus <see cref="UnauthorizedAccessException"/> for a refusal,
/// and <see cref="InvalidDataException"/> naming the file for what is not a file to read: a named pipe, socket or other
/// unseekable file (opening a pipe for reading waits for a writer: a scene folder holding one would hang its reader, and a
/// silo's training slot with it, for ever) and a loop of symbolic links.
/// </summary>
public static class DataFile
{
    public static FileStream OpenRead(string path, int bufferSize = 4096)
    {
        RefuseUnseekable(path);
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize); }
        catch (IOException e) when (OperatingSystem.IsLinux() && e.HResult == LinuxSymlinkLoop)
        {
            throw new InvalidDataException($"{path}: a loop of symbolic links (it never reaches a file).", e);
        }
        FileConfinement.Current?.CheckRead(stream, path);
        return stream;
    }

    private const int LinuxSymlinkLoop = 40; // ELOOP: .NET's IOException carries the errno as its HResult on Unix

    /// <summary>
    /// Opens <paramref name="path"/> without blocking (O_NONBLOCK: a pipe opens at once even without a writer) and refuses
    /// it unless it can seek, as every regular file can. What cannot be opened so is left to the real open to report, with
    /// the framework's exception. Linux only; elsewhere nothing is checked.
    /// </summary>
    private static void RefuseUnseekable(string path)
    {
        if (!OperatingSystem.IsLinux() || FileConfinement.Linux.Flags is not { } f) return;
        int fd = FileConfinement.Linux.Open(path, FileConfinement.Linux.ReadOnly | FileConfinement.Linux.NonBlocking | f.CloseOnExec, 0);
        if (fd < 0) return;
        try
        {
            if (FileConfinement.Linux.Seek(fd, 0, FileConfinement.Linux.SeekCurrent) < 0)
                throw new InvalidDataException($"{path}: not a regular file (a named pipe, socket or device that cannot seek); a scene's files must be regular files.");
        }
        finally { FileConfinement.Linux.Close(fd); }
    }

    public static byte[] ReadAllBytes(string path)
    {
        using var stream = OpenRead(path, bufferSize: 1);
        long length = stream.Length;
        if (length > Array.MaxLength) throw new IOException($"{path} is {length} bytes, more than one array holds.");
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        // A file that grew while being read is read to its end as File.ReadAllBytes would.
        if (stream.ReadByte() is var next && next < 0) return bytes;
        using var rest = new MemoryStream();
        rest.Write(bytes);
        rest.WriteByte((byte)next);
        stream.CopyTo(rest);
        return rest.ToArray();
    }

    public static string ReadAllText(string path)
    {
        using var reader = new StreamReader(OpenRead(path), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    public static string[] ReadAllLines(string path) => [.. ReadLines(path)];

    public static IEnumerable<string> ReadLines(string path)
    {
        // Opened now (so a missing or refused file throws at the call, as File.ReadLines does), read lazily.
        var reader = new StreamReader(OpenRead(path), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Lines(reader);
    }

    private static IEnumerable<string> Lines(StreamReader reader)
    {
        using (reader)
        {
            while (reader.ReadLine() is { } line) yield return line;
        }
    }
}
