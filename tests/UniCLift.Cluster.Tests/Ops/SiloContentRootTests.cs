namespace UniCLift.Cluster.Tests.Ops;

/// <summary>The silo program reads its own appsettings.json wherever it is started from.</summary>
public sealed class SiloContentRootTests
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
}
