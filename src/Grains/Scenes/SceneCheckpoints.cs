namespace UniCLift.Grains.Scenes;

using System.Globalization;
using UniCLift.Compute.IO;

/// <summary>
/// A scene's checkpoints: &lt;root&gt;/&lt;sceneId&gt;/ckpt-&lt;step&gt;.bin, written atomically, the newest
/// <see cref="Keep"/> kept. The directory is shared between silos, so any silo can resume any scene.
/// </summary>
public sealed class SceneCheckpoints(string root, string sceneId, int keep = 2)
{
    public string Directory { get; } = Path.Combine(root, sceneId);
    public int Keep { get; } = Math.Max(1, keep);

    public string PathFor(int step) => Path.Combine(Directory, $"ckpt-{step.ToString("D8", CultureInfo.InvariantCulture)}.bin");

    /// <summary>Checkpoints present, newest first.</summary>
    public IReadOnlyList<(int Step, string Path)> List()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
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

    /// <summary>Writes the checkpoint of <paramref name="step"/> atomically and prunes older ones.</summary>
    public string Write(int step, Action<Stream> save)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = PathFor(step);
        AtomicFile.Write(path, save);
        foreach (var (_, old) in List().Skip(Keep))
        {
            try { File.Delete(old); } catch (IOException) { } // another silo may be reading it; pruned next time
        }
        return path;
    }
}
