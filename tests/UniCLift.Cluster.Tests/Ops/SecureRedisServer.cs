namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics;
using System.Security.Cryptography;
using StackExchange.Redis;

/// <summary>
/// A real redis-server as k8s/base/redis.yaml runs it: a password (requirepass, given on standard input so that it is
/// not in the process' arguments) and, with a <see cref="TestPki"/>, TLS only (--port 0 --tls-port).
/// </summary>
internal sealed class SecureRedisServer : IAsyncDisposable
{
    private readonly Process _process;
    public int Port { get; }
    public string Password { get; }
    public bool Tls { get; }

    private SecureRedisServer(Process process, int port, string password, bool tls) => (_process, Port, Password, Tls) = (process, port, password, tls);

    /// <summary>The silo's UniCLift:Redis for this server (a full StackExchange.Redis configuration string).</summary>
    public string ConnectionString(string host = "127.0.0.1") =>
        $"{host}:{Port},password={Password}{(Tls ? ",ssl=true" : "")},connectTimeout=2000";

    public static Task<SecureRedisServer> StartAsync(TestPki? pki = null)
    {
        if (pki is null) return StartAsync(tls: null);
        var (crt, key) = pki.Issue("redis", "redis", "localhost");
        return StartAsync((crt, key, pki.CaCertificate));
    }

    /// <param name="tls">Server certificate, its key and the CA (PEM files); null: plain TCP.</param>
    public static async Task<SecureRedisServer> StartAsync((string Certificate, string Key, string Ca)? tls)
    {
        var exe = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not on PATH; apt-get install -y redis-server (build/test.sh installs it).");
        var port = TestPorts.Free();
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var psi = new ProcessStartInfo(exe) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var args = new List<string> { "-", "--save", "", "--appendonly", "no", "--bind", "127.0.0.1" };
        if (tls is not { } files) args.AddRange(["--port", port.ToString()]);
        else args.AddRange(["--port", "0", "--tls-port", port.ToString(), "--tls-cert-file", files.Certificate, "--tls-key-file", files.Key,
            "--tls-ca-cert-file", files.Ca, "--tls-auth-clients", "no"]);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}.");
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await process.StandardInput.WriteLineAsync($"requirepass {password}");
        process.StandardInput.Close(); // redis-server - reads its configuration up to the end of standard input

        var server = new SecureRedisServer(process, port, password, tls is not null);
        var options = ConfigurationOptions.Parse(server.ConnectionString());
        options.AbortOnConnectFail = true;
        if (tls is { } trusted) options.TrustIssuer(trusted.Ca);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
                await connection.GetDatabase().PingAsync();
                return server;
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (Exception e)
            {
                await server.DisposeAsync();
                lock (output) throw new InvalidOperationException($"redis-server on {port} did not answer: {e.Message}\n{output}", e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
