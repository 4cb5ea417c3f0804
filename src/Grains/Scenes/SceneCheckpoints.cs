namespace UniCLift.Grains.Scenes;

using System.Globalization;
using UniCLift.Compute.IO;

/// <summary>
/// A scene's checkpoints: &lt;root&gt;/&lt;<see cref="DirectoryName"/>(sceneId)&gt;/ckpt-&lt;step&gt;.bin, written
/// atomically, the newest <see cref="Keep"/> kept. The directory is shared between silos, so any silo can resume any
/// scene. The scene id is a grain key a client chooses, so it never becomes a path as it is.
/// </summary>
public sealed class SceneCheckpoints(string root, string sceneId, int keep = 2)
{
    public string Directory { get; } = Path.Combine(root, DirectoryName(sceneId));
    public int Keep { get; } = Math.Max(1, keep);

    /// <summary>
    /// One file name for a scene id, never '.', '..' or anything with a separator: the id's characters outside
    /// [A-Za-z0-9._-] as '_' (at most 64, for people looking at the folder), then '-' and the first 32 hex digits of
    /// the id's SHA-256, so two ids never share a directory.
    /// </summary>
    public static string DirectoryName(string sceneId)
    {
        ArgumentNullException.ThrowIfNull(sceneId);
        var readable = new string(sceneId.Take(64).Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray());
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(sceneId)))[..32];
        return $"{readable}-{hash}";
    }

    public string PathFor(int step) => Path.Combine(Directory, $"ckpt-{step.ToString("D8", CultureInfo.InvariantCulture)}.bin");

    /// <summary>Checkpoints present, newest first.</summary>
    public IReadOnlyList<(int Step, string Path)> List()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        RefuseLink();
        var found = new List<(int, string)>();
        foreach (var f in System.IO.Directory.EnumerateFiles(Directory, "ckpt-*.bin"))
        {
            var name = Path.GetFileNameWithoutExtension(f);
            if (int.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var step)) found.Add((step, f));
        }
        return found.OrderByDescending(c => c.Item1).ToList();
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> checkpoints; with 0, the scene's directory too.
    /// Best effort: a file another silo still reads is left for next time.</summary>
    public void PruneTo(int keep)
    {
        foreach (var (_, old) in List().Skip(Math.Max(0, keep)))
        {
            try { File.Delete(old); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        if (keep > 0) return;
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (DirectoryNotFoundException) { }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Tests only: called with the step before each <see cref="Write"/> (on the thread that writes).</summary>
    internal Action<int>? BeforeWrite { get; set; }

    /// <summary>Writes the checkpoint of <paramref name="step"/> atomically and prunes older ones. A failed write
    /// (an <see cref="IOException"/> such as a full disk) throws, leaves no temporary file and prunes nothing.</summary>
    public string Write(int step, Action<Stream> save)
    {
        BeforeWrite?.Invoke(step);
        System.IO.Directory.CreateDirectory(Directory);
        RefuseLink();
        var path = PathFor(step);
        AtomicFile.Write(path, save);
        foreach (var (_, old) in List().Skip(Keep))
        {
            try { File.Delete(old); } catch (IOException) { } // another silo may be reading it; pruned next time
        }
        return path;
    }

    /// <summary>A link planted where the scene's folder goes would make restore and pruning act elsewhere: throws
    /// <see cref="IOException"/> if the folder is one (a missing folder passes).</summary>
    internal void RefuseLink()
    {
        if (new DirectoryInfo(Directory).LinkTarget is not null)
            throw new IOException($"checkpoint directory {Directory} is a symbolic link; a scene's checkpoints stay in a real folder of the checkpoint directory.");
    }
}
