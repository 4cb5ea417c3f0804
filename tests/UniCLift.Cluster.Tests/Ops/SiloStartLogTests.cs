namespace UniCLift.Cluster.Tests.Ops;

/// <summary>What the silo program logs as it starts: its own log levels wherever it is started from, and a warning for
/// each data root that does not exist.</summary>
public sealed class SiloStartLogTests
{
    [Fact]
    public async Task StartedFromAnotherFolderTheSiloKeepsItsLogLevels()
    {
        // The content root was the working directory: started as `dotnet /path/UniCLift.Silo.dll` from elsewhere, the
        // program's appsettings.json (Orleans, Microsoft, Polly at Warning) was not read and Orleans logged about 70
        // information lines a minute.
        var elsewhere = Directory.CreateTempSubdirectory("uniclift-cwd-").FullName;
        try
        {
            await using var silo = await ChildSilo.StartAsync(workingDirectory: elsewhere);
            await Task.Delay(1000);
            var lines = silo.Output.Split('\n');
            Assert.Contains(lines, l => l.StartsWith("info: UniCLift.", StringComparison.Ordinal)); // the silo's own lines are there
            Assert.DoesNotContain(lines, l => l.StartsWith("info: Orleans", StringComparison.Ordinal) || l.StartsWith("info: Microsoft", StringComparison.Ordinal));
        }
        finally { Directory.Delete(elsewhere, recursive: true); }
    }

    [Fact]
    public async Task ADataRootThatDoesNotExistIsAWarningNamingItAndItsSetting()
    {
        // A typo or a volume not mounted: the silo started Healthy with only an information line listing the roots, and
        // every batch was then refused as "outside the silo's scene roots".
        var missing = Path.Combine(Path.GetTempPath(), $"uniclift-no-root-{Guid.NewGuid():N}");
        var present = Directory.CreateTempSubdirectory("uniclift-root-").FullName;
        try
        {
            await using var silo = await ChildSilo.StartAsync([$"--UniCLift:SceneRoots={missing}", $"--UniCLift:OutputRoots={present}"]);
            Assert.Contains($"Data root {missing} (UniCLift:SceneRoots) does not exist", silo.Output);
            Assert.DoesNotContain($"Data root {present} ", silo.Output);
        }
        finally { Directory.Delete(present, recursive: true); }
    }
}
