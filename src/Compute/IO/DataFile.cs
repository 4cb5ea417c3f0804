namespace UniCLift.Compute.IO;

using System.Text;

/// <summary>
/// How scene and result files are opened for reading: as <see cref="File"/> does, and, inside a
/// <see cref="FileConfinement"/>, refused when the file actually opened lies outside the readable directories.
/// Exceptions are the framework's (FileNotFoundException, ...) plus <see cref="UnauthorizedAccessException"/> for a refusal.
/// </summary>
public static class DataFile
{
    public static FileStream OpenRead(string path, int bufferSize = 4096)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize);
        FileConfinement.Current?.CheckRead(stream, path);
        return stream;
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
