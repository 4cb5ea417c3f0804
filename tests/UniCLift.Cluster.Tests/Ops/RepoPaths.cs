namespace UniCLift.Cluster.Tests.Ops;

internal static class RepoPaths
{
    /// <summary>The repository root: the nearest parent of the test binaries that holds UniCLift.sln.</summary>
    public static string Root { get; } = Find();

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "UniCLift.sln"))) return d.FullName;
        throw new DirectoryNotFoundException($"No UniCLift.sln above {AppContext.BaseDirectory}.");
    }
}
