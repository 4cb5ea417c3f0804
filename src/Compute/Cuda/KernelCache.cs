namespace UniCLift.Compute.Cuda;

using System.Security.Cryptography;
using System.Text;

/// <summary>Compiled kernel images on disk, keyed by a hash of the source, the compile options (architecture and
/// defines included) and the compiler's version, so a process compiles each variant once per machine. Files are written
/// to a temporary name and renamed, so a crash or a concurrent process never leaves half an image; an image the
/// driver rejects is deleted and compiled again by the caller.</summary>
public sealed class KernelCache(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>UNICLIFT_CUDA_CACHE, else $XDG_CACHE_HOME/uniclift/cuda, else ~/.cache/uniclift/cuda (the system temp
    /// folder when there is no home).</summary>
    public static KernelCache Default() => Default(Environment.GetEnvironmentVariable);

    /// <summary><see cref="Default()"/> with the environment read through <paramref name="environment"/>.</summary>
    internal static KernelCache Default(Func<string, string?> environment)
    {
        if (environment("UNICLIFT_CUDA_CACHE") is { Length: > 0 } d) return new KernelCache(d);
        var xdg = environment("XDG_CACHE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string root = !string.IsNullOrEmpty(xdg) ? xdg : !string.IsNullOrEmpty(home) ? Path.Combine(home, ".cache") : Path.GetTempPath();
        return new KernelCache(Path.Combine(root, "uniclift", "cuda"));
    }

    /// <summary>File name for an image: the kernel's name and 16 hex digits of SHA-256 over everything that changes it.</summary>
    public static string Key(string name, string source, IEnumerable<string> options, string compiler, bool cubin)
    {
        var text = new StringBuilder(source).Append('\0').AppendJoin('\u0001', options).Append('\0').Append(compiler).ToString();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
        return $"{safe}-{hash}.{(cubin ? "cubin" : "ptx")}";
    }

    public string PathOf(string key) => Path.Combine(Directory, key);

    /// <summary>The cached image, or null when absent or unreadable.</summary>
    public byte[]? TryRead(string key)
    {
        try { return File.Exists(PathOf(key)) ? File.ReadAllBytes(PathOf(key)) : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Stores an image (temporary file, then rename). A cache that cannot be written is not an error: the
    /// kernel is just compiled again next time.</summary>
    public bool TryWrite(string key, byte[] image)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var tmp = PathOf(key) + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
            File.WriteAllBytes(tmp, image);
            File.Move(tmp, PathOf(key), overwrite: true);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    public void Remove(string key)
    {
        try { File.Delete(PathOf(key)); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
