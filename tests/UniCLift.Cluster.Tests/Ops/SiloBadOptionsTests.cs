namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using StackExchange.Redis;
using UniCLift.Silo;
using UniCLift.Grains.Hosting;

/// <summary>
/// The silo program on settings that cannot work: one line naming the setting and its value, exit 2 (bad input), as the
/// `uniclift` console; a start the environment stops (Redis unreachable) is one line too, exit 1. No stack trace.
/// </summary>
public sealed class SiloBadOptionsTests
{
    internal static IConfiguration Config(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();

    [Theory]
    [InlineData("TrainingSlots", "abc", "UniCLift:TrainingSlots: 'abc' is not a whole number")]
    [InlineData("TrainingSlots", "", "UniCLift:TrainingSlots: '' is not a whole number")]
    [InlineData("SiloPort", "99999999999", "UniCLift:SiloPort: '99999999999' is out of range (-2147483648 to 2147483647)")]
    [InlineData("Compute", "maybe", "UniCLift:Compute: 'maybe' is not true or false")]
    [InlineData("Kubernetes", "maybe", "UniCLift:Kubernetes: 'maybe' is not true or false")]
    [InlineData("BatchRetention", "abc", "UniCLift:BatchRetention: 'abc' is not a duration")]
    public void AValueThatDoesNotParseIsOneLineNamingTheSettingAndTheValue(string name, string value, string expected)
    {
        var problem = Assert.Single(SiloOptionsCheck.Problems(Config(($"UniCLift:{name}", value))));
        Assert.StartsWith(expected, problem);
    }

    [Fact]
    public void ValuesThatParseAndAnEmptyNullableAreNoProblem()
    {
        Assert.Empty(SiloOptionsCheck.Problems(Config(("UniCLift:TrainingSlots", "4"), ("UniCLift:Compute", "False"),
            ("UniCLift:Kubernetes", ""), ("UniCLift:BatchRetention", "7.00:00:00"), ("UniCLift:Clustering", "redis"))));
    }

    [Fact]
    public void BuildRefusesBadSettingsAsBadInputAndAddUniCLiftSilosOwnChecksToo()
    {
        var parse = Assert.Throws<SiloOptionsException>(() => SiloHost.Build(["--UniCLift:TrainingSlots=abc"]));
        Assert.Equal((SiloFailure.BadInput, "UniCLift:TrainingSlots: 'abc' is not a whole number"), SiloFailure.Describe(parse));
        var range = Assert.Throws<SiloOptionsException>(() => SiloHost.Build(["--UniCLift:TrainingSlots=0"]));
        Assert.Equal(SiloFailure.BadInput, SiloFailure.Describe(range).ExitCode);
        Assert.Contains("UniCLift:TrainingSlots", range.Message);
    }

    [Fact]
    public void AnUnreachableRedisIsTheEnvironmentInOneLineWithoutTypeNames()
    {
        // As Orleans' Redis reminder table wraps it: the inner exception only as text.
        var wrapped = new Exception("StackExchange.Redis.RedisConnectionException: It was not possible to connect to the redis server(s). Error connecting right now. To allow this multiplexer to continue retrying until it's able to connect, use abortConnect=false in your connection string.");
        var (code, line) = SiloFailure.Describe(new RedisConnectionException(ConnectionFailureType.UnableToConnect, "It was not possible to connect to the redis server(s). Error connecting right now. Use abortConnect=false."));
        Assert.Equal((SiloFailure.Failure, "Redis (UniCLift:Redis): It was not possible to connect to the redis server(s)."), (code, line));
        Assert.Equal(SiloFailure.Failure, SiloFailure.Describe(new AggregateException(new RedisTimeoutException("Timeout connecting.", CommandStatus.Unknown))).ExitCode);
        Assert.DoesNotContain("Exception", SiloFailure.Describe(new InvalidOperationException("x", new RedisConnectionException(ConnectionFailureType.UnableToConnect, "It was not possible to connect. More."))).Line);
        Assert.DoesNotContain("Exception", SiloFailure.Describe(new RedisServerLikeException(wrapped.Message)).Line);
    }

    private sealed class RedisServerLikeException(string message) : Exception(message); // a provider's own "Redis...Exception"

    [Fact]
    public void ASiloOrGatewayPortAnotherSiloListensOnIsTheEnvironmentInOneLineBeforeOrleansBindsItToo()
    {
        // Orleans' listener sets ReuseAddress (SO_REUSEPORT on Linux): a second silo on a taken port bound it as well,
        // started Healthy, and the kernel shared the first silo's connections between them.
        foreach (var name in new[] { "SiloPort", "GatewayPort" })
        {
            int port = TestPorts.Free(), other = TestPorts.Free();
            using (var first = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
            {
                first.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true); // as Orleans
                first.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
                first.Listen(8);
                Assert.True(SiloPorts.InUse(port));
                var settings = name == "SiloPort" ? new[] { $"--UniCLift:SiloPort={port}", $"--UniCLift:GatewayPort={other}" } : [$"--UniCLift:SiloPort={other}", $"--UniCLift:GatewayPort={port}"];
                var e = Assert.Throws<UniCLift.Compute.EnvironmentException>(() => SiloHost.Build(settings));
                Assert.Equal((SiloFailure.Failure, $"UniCLift:{name} {port} is in use: another silo or program listens on it; give this silo another port."), SiloFailure.Describe(e));
            }
            Assert.False(SiloPorts.InUse(port)); // free again once its listener is gone
        }
    }

    [Fact]
    public async Task TheSiloProgramExits2WithOneLineOnANonNumberAndNoStackTrace()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(SiloHost).Assembly.Location, $"--urls=http://127.0.0.1:{TestPorts.Free()}", "--UniCLift:TrainingSlots=abc" })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw; }
        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 2, $"exit code {process.ExitCode}: {output}");
        Assert.Equal("error: UniCLift:TrainingSlots: 'abc' is not a whole number", output.Trim());
    }
}

/// <summary>Values that parse but cannot work, which the silo used to take silently or fail on only as it started.</summary>
public sealed class SiloOptionRangeTests
{
    private static IReadOnlyList<string> Problems(string name, string value) =>
        SiloOptionsCheck.Problems(SiloBadOptionsTests.Config(($"UniCLift:{name}", value)));

    [Theory]
    [InlineData("SiloPort", "-5", "UniCLift:SiloPort: '-5' is not a port (1 to 65535)")]
    [InlineData("SiloPort", "0", "UniCLift:SiloPort: '0' is not a port (1 to 65535)")]
    [InlineData("GatewayPort", "70000", "UniCLift:GatewayPort: '70000' is not a port (1 to 65535)")]
    [InlineData("CheckpointsToKeep", "0", "UniCLift:CheckpointsToKeep: '0' must be at least 1")]
    [InlineData("DecodeGroupSize", "-3", "UniCLift:DecodeGroupSize: '-3' must be at least 1")]
    [InlineData("SupervisionInterval", "0", "UniCLift:SupervisionInterval: '0' must be a positive duration")]
    [InlineData("ReminderPeriod", "-00:01:00", "UniCLift:ReminderPeriod: '-00:01:00' must be a positive duration")]
    [InlineData("Device", "bogus", "UniCLift:Device: 'bogus' is not one of cpu, cuda, cuda:N")]
    [InlineData("Device", "", "UniCLift:Device: '' is not one of cpu, cuda, cuda:N")]
    [InlineData("ClusterId", "", "UniCLift:ClusterId is empty")]
    [InlineData("CheckpointDirectory", " ", "UniCLift:CheckpointDirectory is empty")]
    public void AValueThatCannotWorkIsOneLineNamingIt(string name, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems(name, value)));

    [Theory]
    [InlineData("SiloPort", "11111")]
    [InlineData("Device", "cuda:1")]
    [InlineData("Device", "CPU")]
    [InlineData("ReminderPeriod", "00:00:30")]
    public void ValuesThatWorkAreNoProblem(string name, string value) => Assert.Empty(Problems(name, value));

    [Fact]
    public void ACheckpointDirectoryThatIsAFileIsRefused()
    {
        var file = Path.GetTempFileName();
        try
        {
            Assert.Equal($"UniCLift:CheckpointDirectory: '{file}' is a file, not a directory", Assert.Single(Problems("CheckpointDirectory", file)));
            Assert.Empty(Problems("CheckpointDirectory", Path.Combine(Path.GetTempPath(), $"not-yet-{Guid.NewGuid():N}")));
        }
        finally { File.Delete(file); }
    }
}
