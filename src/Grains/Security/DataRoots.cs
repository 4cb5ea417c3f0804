namespace UniCLift.Grains.Security;

using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Grains.Hosting;

/// <summary>
/// The directories a silo may touch for a client: scene roots (read), output roots (write, and read back: a trained
/// model, a --ply from an earlier result), and the checkpoint directory, which no client path may name. Every path a
/// request or a grain key carries is checked here before the silo opens anything: first lexically
/// (<see cref="Path.GetFullPath(string)"/>, no file system access, so a path outside the roots is refused the same way
/// whether or not it exists), then physically, through every symbolic link of every existing component (realpath
/// semantics, '..' after a link included), against the roots' own real paths. A refusal is an
/// <see cref="ArgumentException"/> (bad input) naming the path and the roots.
/// </summary>
/// <remarks>
/// The check runs at the time of use (the scene's compute thread, the decoding pass, the view grain). The files are then
/// opened inside <see cref="Confine"/>, which checks what was actually opened, so a writer inside a root who swaps a
/// directory for a link between check and open is refused at the open. Roots are resolved on every check, so a root
/// created or re-linked after the silo started counts.
/// </remarks>
public sealed class DataRoots
{
    private const int MaxLinks = 40; // as Linux' path resolution

    /// <param name="sceneRoots">Where scenes may be read from.</param>
    /// <param name="outputRoots">Where results may be written (and read back).</param>
    /// <param name="checkpointDirectory">The silo's checkpoint directory: never a client's output, even inside an output root.</param>
    public DataRoots(IEnumerable<string> sceneRoots, IEnumerable<string> outputRoots, string? checkpointDirectory = null)
    {
        SceneRoots = Normalise(sceneRoots, "SceneRoots");
        OutputRoots = Normalise(outputRoots, "OutputRoots");
        CheckpointDirectory = string.IsNullOrWhiteSpace(checkpointDirectory) ? null : Path.GetFullPath(checkpointDirectory);
    }

    public IReadOnlyList<string> SceneRoots { get; }
    public IReadOnlyList<string> OutputRoots { get; }
    public string? CheckpointDirectory { get; }

    /// <summary>Refuses <paramref name="path"/> unless it lies under a scene root. <paramref name="what"/> names it in the message ("scene directory").</summary>
    public void CheckScene(string? path, string what) => Check(path, what, SceneRoots, "scene roots");

    /// <summary>Refuses <paramref name="path"/> unless it lies under an output root and outside the checkpoint directory.</summary>
    public void CheckOutput(string? path, string what)
    {
        Check(path, what, OutputRoots, "output roots");
        if (CheckpointDirectory is { } ckpt && (FileConfinement.IsUnder(Path.GetFullPath(path!), ckpt) || FileConfinement.IsUnder(RealPath(Path.GetFullPath(path!)), RealPath(ckpt))))
            throw new ArgumentException($"{what} {path} is inside the silo's checkpoint directory ({ckpt}); results go under the output roots ({string.Join(", ", OutputRoots)}), outside it.");
    }

    /// <summary>Refuses <paramref name="path"/> unless it lies under a scene root or an output root (a file the silo only reads).</summary>
    public void CheckReadable(string? path, string what) => Check(path, what, [.. SceneRoots, .. OutputRoots], "scene and output roots");

    /// <summary>Every file a scene's layout names (images, masks, depth, ground truth, the point cloud) under the scene roots.</summary>
    public void CheckSceneFiles(Scene scene)
    {
        ArgumentNullException.ThrowIfNull(scene);
        if (scene.PointCloudPath is { } cloud) CheckScene(cloud, $"point cloud of scene {scene.Root}");
        foreach (var v in scene.Views)
        {
            foreach (var (file, kind) in new[] { (v.ImagePath, "image"), (v.MaskPath, "mask"), (v.DepthPath, "depth map"), (v.GtInstancePath, "ground truth"), (v.GtSemanticPath, "ground truth"), (v.MaskSemanticPath, "semantic mask") })
                if (file is not null) CheckScene(file, $"{kind} of view '{v.Name}' of scene {scene.Root}");
        }
    }

    /// <summary>
    /// Around a read of the scene in <paramref name="directory"/> (already checked): refuses a symbolic link inside the
    /// folder (4 levels deep, as deep as the layouts look) that leads out of the scene roots, then holds every path
    /// the scene's own files name (<see cref="SceneFileGuard"/>) to the scene roots until disposed.
    /// </summary>
    public IDisposable ReadingScene(string directory)
    {
        var guard = SceneFileGuard.Use((path, what) => CheckScene(path, what));
        if (!Directory.Exists(directory)) return guard; // the reader says so, in its own words
        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 4, IgnoreInaccessible = true, AttributesToSkip = 0 };
        try
        {
            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos("*", options))
                if ((entry.Attributes & FileAttributes.ReparsePoint) != 0) CheckScene(entry.FullName, $"file of scene {directory}");
        }
        catch
        {
            guard.Dispose();
            throw;
        }
        return guard;
    }

    /// <summary>
    /// Confines the file access of this async flow (and the tasks it starts) to the roots until disposed, checked on
    /// what the operating system opens (<see cref="FileConfinement"/>): reads under the scene roots, output roots and the
    /// checkpoint directory; writes under the output roots, the checkpoint directory and the scene roots (a COLMAP scene
    /// gets its point cloud converted to a points3D.ply beside its model; no path a client names is written there, the
    /// name checks see to that). This closes the race the name checks leave (a directory swapped for a link between
    /// check and open: nothing outside the roots is read or written); the name checks still give the precise answer
    /// (which root, which kind of file) before anything is opened.
    /// </summary>
    public IDisposable Confine()
    {
        var checkpoints = CheckpointDirectory is { } c ? new[] { c } : [];
        var all = SceneRoots.Concat(OutputRoots).Concat(checkpoints).Select(RealPath).Where(r => r.Length > 0).ToList();
        return FileConfinement.Use(new FileConfinement(readable: all, writable: all,
            $"the silo's data roots (scenes {string.Join(", ", SceneRoots)}; outputs {string.Join(", ", OutputRoots)})"));
    }

    private static void Check(string? path, string what, IReadOnlyList<string> roots, string kind)
    {
        string Outside(string why = "") => $"{what} {path} is outside the silo's {kind} ({(roots.Count == 0 ? "none configured" : string.Join(", ", roots))}){why}.";
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException($"{what} is empty; it must lie under the silo's {kind} ({string.Join(", ", roots)}).");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException) { throw new ArgumentException(Outside()); }
        // Lexically first: a path outside every root is refused before anything is looked up, so the answer is the
        // same for a file that exists and one that does not.
        var resolvedRoots = roots.Select(RealPath).ToList();
        if (!roots.Any(r => FileConfinement.IsUnder(full, r)) && !resolvedRoots.Any(r => FileConfinement.IsUnder(full, r))) throw new ArgumentException(Outside());
        // Then physically: where the operating system will go, for the normalised path and for the path as given
        // (a '..' after a link goes to the link target's parent, not back up the name).
        foreach (var candidate in path == full ? [full] : new[] { full, path })
        {
            var real = RealPath(candidate);
            if (real.Length == 0 || !resolvedRoots.Any(r => FileConfinement.IsUnder(real, r)))
                throw new ArgumentException(Outside(": it leads out of them through a symbolic link"));
        }
    }

    /// <summary>
    /// The physical path: each existing component's symbolic links followed (relative targets from the link's directory,
    /// '..' from the resolved directory), the components that do not exist yet appended as named. Empty after too
    /// many links (a loop).
    /// </summary>
    internal static string RealPath(string path)
    {
        var start = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        var current = Path.GetPathRoot(start) ?? "/";
        var pending = new List<string>(Components(start));
        int links = 0;
        bool missing = false; // once a component does not exist, the rest cannot be links
        for (int i = 0; i < pending.Count; i++)
        {
            var part = pending[i];
            if (part == ".") continue;
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current; // current has no links: its parent is the real one
                continue;
            }
            var next = Path.Join(current, part);
            if (missing)
            {
                current = next;
                continue;
            }
            string? target = null;
            try
            {
                var info = new FileInfo(next);
                if (!info.Exists && !Directory.Exists(next) && info.LinkTarget is null) missing = true;
                else target = info.LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                missing = true; // unreadable: nothing below it can be followed either
            }
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++links > MaxLinks) return "";
            // Splice the target's components in place of this one and go on from the link's directory (or the root).
            if (Path.IsPathRooted(target)) current = Path.GetPathRoot(target) ?? "/";
            pending.InsertRange(i + 1, Components(target));
        }
        return current;
    }

    private static IEnumerable<string> Components(string path) =>
        path.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);

    private static IReadOnlyList<string> Normalise(IEnumerable<string> roots, string name)
    {
        var list = new List<string>();
        foreach (var r in roots ?? [])
        {
            if (string.IsNullOrWhiteSpace(r)) throw new SiloOptionsException($"UniCLift:{name} has an empty entry; give absolute directories.");
            list.Add(Path.TrimEndingDirectorySeparator(Path.GetFullPath(r)) is { Length: > 0 } t ? t : "/");
        }
        return list;
    }
}
