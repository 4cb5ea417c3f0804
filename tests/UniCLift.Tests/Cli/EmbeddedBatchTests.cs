namespace UniCLift.Tests.Cli;

using UniCLift.Testing;

/// <summary>`uniclift status BATCH` without --redis asks the console's own embedded silo, which holds no batch of another
/// command: the error says so (it said the cluster's Redis had lost the batch, with no Redis involved).</summary>
public sealed class EmbeddedBatchTests
{
    [Fact]
    public async Task A_Batch_Asked_Of_The_Embedded_Silo_Names_The_Missing_Redis()
    {
        await using var cli = ChildProcess.Start(typeof(UniCLift.Client.Cli).Assembly.Location, ["status", "b20261207-000000-abcd"]);
        var code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(2, code);
        Assert.Contains("error: no batch with id 'b20261207-000000-abcd' here: without --redis (or UNICLIFT_REDIS) the console runs a silo of its own", cli.Output);
        Assert.DoesNotContain("Redis restarted", cli.Output);
    }
}
