namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics;
using System.Runtime.InteropServices;
using StackExchange.Redis;

/// <summary>A redis-server of the test's own (never the shared fixture's), without persistence, that can be killed
/// and started again empty on the same port, or paused.</summary>
internal sealed class RedisProcess : IAsyncDisposable
{
    private Process? _process;
    public int Port { get; }
    public string Address => $"127.0.0.1:{Port}";

    private RedisProcess(int port) => Port = port;

    public static async Task<RedisProcess> StartAsync()
    {
        var redis = new RedisProcess(TestPorts.Free());
        await redis.StartAgainAsync();
        return redis;
    }

    public async Task StartAgainAsync() => _process = await RedisServerFixture.StartServerAsync(Port);

    public async Task KillAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
    private const int SIGSTOP = 19, SIGCONT = 18; // Linux x86-64 / arm64

    public void Pause() => Assert.Equal(0, kill(_process!.Id, SIGSTOP));
    public void Resume() => Assert.Equal(0, kill(_process!.Id, SIGCONT));

    public async Task<List<string>> KeysAsync()
    {
        await using var c = await ConnectionMultiplexer.ConnectAsync(Address);
        var keys = new List<string>();
        await foreach (var k in c.GetServer(Address).KeysAsync(pattern: "*")) keys.Add(k.ToString());
        return keys;
    }

    public async Task<int> KeyCountAsync() => (await KeysAsync()).Count;

    /// <summary>The membership table's silo rows (JSON) of a cluster whose ServiceId is its ClusterId.</summary>
    public async Task<List<string>> MembersAsync(string clusterId)
    {
        await using var c = await ConnectionMultiplexer.ConnectAsync(Address);
        var rows = await c.GetDatabase().HashGetAllAsync($"{clusterId}/members/{clusterId}");
        return rows.Where(r => r.Name != "Version").Select(r => r.Value.ToString()).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        try { kill(_process.Id, SIGCONT); } catch { }
        await KillAsync();
        _process.Dispose();
    }
}
