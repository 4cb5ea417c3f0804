namespace UniCLift.Compute.Scenes;

/// <summary>
/// A check the scene readers apply to every path that a scene's own files name (a nerfstudio frame's file_path, its
/// ply_file_path, a 3DGS output's source_path) before they look at it: such a path can point anywhere. A silo sets it
/// to its data roots around a read (UniCLift.Grains.Security.DataRoots); elsewhere there is none and the readers go
/// where the scene says. The check throws to refuse; it flows with the async context of the code that set it.
/// </summary>
public static class SceneFileGuard
{
    private static readonly AsyncLocal<Action<string, string>?> Current = new();

    /// <summary>Applies <paramref name="check"/> (path, what it is) to the paths scenes name until the result is disposed.</summary>
    public static IDisposable Use(Action<string, string> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        var previous = Current.Value;
        Current.Value = check;
        return new Scope(previous);
    }

    /// <summary>Called by the readers with a path a scene file names, before anything opens or looks it up.</summary>
    internal static void Check(string path, string what) => Current.Value?.Invoke(path, what);

    private sealed class Scope(Action<string, string>? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}
