namespace UniCLift.Cluster.Tests.Ops;

internal static class RepoPaths
{
    /// <summary>The repository root: the nearest parent of the test binaries that holds UniCLift.sln.</summary>
    public static string Root { get; } = Find();

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>The console from its own build output (src/Client/bin/&lt;config&gt;/&lt;tfm&gt;/uniclift.dll): this test
    /// project runs on ASP.NET's shared framework, so the copy beside the tests lacks the hosting assemblies the console
    /// ships (it runs on the plain .NET runtime).</summary>
    public static string ClientDll()
    {
        var copy = typeof(UniCLift.Client.ClusterConnection).Assembly.Location; // .../tests/X/bin/<config>/<tfm>/uniclift.dll
        var tfm = new DirectoryInfo(Path.GetDirectoryName(copy)!);
        var candidate = Of("src", "Client", "bin", tfm.Parent!.Name, tfm.Name, "uniclift.dll");
        return File.Exists(candidate) ? candidate
            : throw new FileNotFoundException($"no {candidate} (the console's build output beside {copy}): build the solution first.");
    }

    private static string Find()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "UniCLift.sln"))) return d.FullName;
        throw new DirectoryNotFoundException($"No UniCLift.sln above {AppContext.BaseDirectory}.");
    }
}
