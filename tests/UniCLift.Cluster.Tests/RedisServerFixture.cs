namespace UniCLift.Cluster.Tests;

using System.Diagnostics;
using System.Text;
using StackExchange.Redis;

/// <summary>
/// A real redis-server on a free port, started once for the collection and killed at the end. Fails (does not skip)
/// when redis-server is missing: the cluster tests exist to run against a real Redis.
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private Process? process;

    public int Port { get; private set; }
    public string Address => $"127.0.0.1:{Port}";
    public ConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Port = TestPorts.Free();
        process = await StartServerAsync(Port);
        Connection = await ConnectionMultiplexer.ConnectAsync($"{Address},abortConnect=true,connectTimeout=1000");
    }

    /// <summary>
    /// Starts a redis-server without persistence on 127.0.0.1:<paramref name="port"/> and returns once it answers a PING.
    /// Fails (does not skip) when redis-server is missing.
    /// </summary>
    internal static async Task<Process> StartServerAsync(int port)
    {
        var exe = FindOnPath("redis-server")
            ?? throw new InvalidOperationException("redis-server is not on PATH; the cluster tests need a real Redis: apt-get install -y redis-server (.ci/run installs it).");
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--port", port.ToString(), "--save", "", "--appendonly", "no", "--daemonize", "no", "--bind", "127.0.0.1" })
            psi.ArgumentList.Add(a);
        var server = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}.");
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=true,connectTimeout=1000");
                await probe.GetDatabase().PingAsync();
                return server;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && !server.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null) await Connection.DisposeAsync();
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process?.Dispose();
    }

    /// <summary>Every key with its content flattened to text, for asserting what lives in Redis.</summary>
    public async Task<Dictionary<string, string>> DumpAsync()
    {
        var db = Connection.GetDatabase();
        var server = Connection.GetServer(Address);
        var result = new Dictionary<string, string>();
        await foreach (var key in server.KeysAsync(pattern: "*"))
        {
            var type = await db.KeyTypeAsync(key);
            var text = new StringBuilder();
            switch (type)
            {
                case RedisType.String: text.Append(Printable((byte[]?)await db.StringGetAsync(key))); break;
                case RedisType.Hash:
                    foreach (var e in await db.HashGetAllAsync(key)) text.Append(Printable((byte[]?)e.Name)).Append('=').Append(Printable((byte[]?)e.Value)).Append('\n');
                    break;
                case RedisType.SortedSet:
                    foreach (var e in await db.SortedSetRangeByRankAsync(key)) text.Append(Printable((byte[]?)e)).Append('\n');
                    break;
                case RedisType.Set:
                    foreach (var e in await db.SetMembersAsync(key)) text.Append(Printable((byte[]?)e)).Append('\n');
                    break;
                case RedisType.List:
                    foreach (var e in await db.ListRangeAsync(key)) text.Append(Printable((byte[]?)e)).Append('\n');
                    break;
            }
            result[key.ToString()] = text.ToString();
        }
        return result;
    }

    // Binary-serialized values: keep the printable runs so ids inside them can be found.
    private static string Printable(byte[]? bytes) =>
        bytes is null ? "" : new string(Encoding.Latin1.GetString(bytes).Select(c => c >= ' ' && c < 127 ? c : '.').ToArray());

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis";
}
