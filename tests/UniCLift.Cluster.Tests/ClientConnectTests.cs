namespace UniCLift.Cluster.Tests;

using System.Diagnostics;
using UniCLift.Client;
using UniCLift.Compute;

/// <summary>
/// What the console says when the cluster it is pointed at is not there, against a real redis-server: Redis that
/// answers with no silo registered (Orleans' client retried for three minutes in silence, so `uniclift status --redis`
/// looked hung), Redis that does not answer, and Ctrl-C while it waits.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class ClientConnectTests(RedisServerFixture redis)
{
    [Fact]
    public async Task RedisWithNoSiloRegistered_SaysItWaits_ThenFailsNamingTheCluster()
    {
        var notes = new List<string>();
        var cluster = $"nobody-{Guid.NewGuid():N}"[..16];
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<EnvironmentException>(() =>
            ClusterConnection.ConnectAsync(redis.Address, clusterId: cluster, serviceId: cluster, note: notes.Add, siloPatience: TimeSpan.FromSeconds(3)));
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(60));
        var note = Assert.Single(notes);
        Assert.Contains($"Redis {redis.Address} answers but no silo of cluster '{cluster}' does yet; waiting up to 3 s", note);
        Assert.StartsWith($"no silo of cluster '{cluster}' answered through Redis at '{redis.Address}' within 3 s", e.Message);
        Assert.Equal(e.Message, FailurePolicy.Describe(e)); // one line, no exception type in front
        Assert.False(FailurePolicy.IsBadInput(e)); // the environment: exit 1
    }

    [Theory]
    [InlineData(null, 60)]
    [InlineData(" ", 60)]
    [InlineData("600", 600)]
    [InlineData("0", 0)]
    public void UNICLIFT_SILO_WAIT_Sets_The_Wait(string? value, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ClusterConnection.SiloPatience(value));

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("86401")]
    public void A_Bad_UNICLIFT_SILO_WAIT_Is_Bad_Input_Naming_It(string value)
    {
        var e = Assert.Throws<ArgumentException>(() => ClusterConnection.SiloPatience(value));
        Assert.StartsWith($"UNICLIFT_SILO_WAIT='{value}': expected whole seconds", e.Message);
    }

    [Fact]
    public async Task RedisThatDoesNotAnswer_FailsAtOnceWithoutTheDriversAdvice()
    {
        var address = $"127.0.0.1:{TestPorts.Free()}";
        var notes = new List<string>();
        var e = await Assert.ThrowsAsync<EnvironmentException>(() =>
            ClusterConnection.ConnectAsync(address, note: notes.Add, siloPatience: TimeSpan.FromMinutes(5)));
        Assert.Empty(notes); // no waiting for a silo when Redis itself is not there
        Assert.StartsWith($"cannot reach the cluster through Redis at '{address}': It was not possible to connect to the redis server(s).", e.Message);
        Assert.DoesNotContain("abortConnect", e.Message);
        Assert.Equal(e.Message, FailurePolicy.Describe(e));
    }

    [Fact]
    public async Task CtrlCWhileWaitingForASilo_IsAnInterruption_NotACannotReach()
    {
        using var cts = new CancellationTokenSource();
        var cluster = $"nobody-{Guid.NewGuid():N}"[..16];
        var connect = ClusterConnection.ConnectAsync(redis.Address, cts.Token, clusterId: cluster, serviceId: cluster,
            note: _ => cts.CancelAfter(TimeSpan.FromMilliseconds(500)), siloPatience: TimeSpan.FromMinutes(5));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }
}
