namespace UniCLift.Cluster.Tests;

using System.Collections.Concurrent;

/// <summary>Temporary folders for cluster tests whose scenes and results outlive one method's scope (a batch's
/// output read after its silos stop, a scene shared by several grains): deleted when the test process exits, so that
/// running the suite again and again does not fill the temporary folder (a full run left about 700 folders, 2.5 GB).</summary>
internal static class TestFolders
{
    private static readonly ConcurrentBag<string> Made = [];

    static TestFolders() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var dir in Made)
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // in use or gone: left
        }
    };

    /// <summary>A new folder under the temporary folder, named <paramref name="prefix"/> and a random suffix.</summary>
    public static DirectoryInfo Create(string prefix)
    {
        var dir = Directory.CreateTempSubdirectory(prefix);
        Made.Add(dir.FullName);
        return dir;
    }
}
