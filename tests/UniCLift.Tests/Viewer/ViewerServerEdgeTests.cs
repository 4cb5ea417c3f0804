namespace UniCLift.Tests.Viewer;

using System.Net;
using System.Net.Sockets;
using UniCLift.Client.Viewer;
using UniCLift.Tests.IO;

/// <summary>The viewer server's answers to what a browser rarely sends: odd paths, big files, other methods, another
/// Host, a port someone else holds.</summary>
public class ViewerServerEdgeTests
{
    [Fact]
    public async Task Server_AnswersEveryRequestWithItsStatus_AndStreamsFilesLargerThanOneArray()
    {
        using var dir = new TempDir();
        var made = ViewerResult.Write(dir.Path);
        // Sparse: 2.2 GB on paper, nothing on disk; more than one byte[] holds.
        const long big = 2_200L << 20;
        using (var f = new FileStream(Path.Combine(made.Result, "big.bin"), FileMode.CreateNew)) f.SetLength(big);
        await using var server = ViewerServer.Start(ViewerPayload.Build(made.Result), "127.0.0.1", 0);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };

        // A NUL in the path is a bad request, not a 200 with nothing in it.
        var nul = await http.GetAsync("/files/%00");
        Assert.Equal(HttpStatusCode.BadRequest, nul.StatusCode);

        // HEAD names the length without reading the file; GET streams it.
        var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/files/big.bin"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(big, head.Content.Headers.ContentLength);
        using (var get = await http.GetAsync("/files/big.bin", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(big, get.Content.Headers.ContentLength);
            await using var body = await get.Content.ReadAsStreamAsync();
            var first = new byte[1 << 20];
            await body.ReadExactlyAsync(first);
            Assert.All(first, b => Assert.Equal(0, b));
        }
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(made.Result, "metrics.json")), await http.GetByteArrayAsync("/files/metrics.json"));

        // 405 says what is allowed (RFC 9110 15.5.6).
        var delete = await http.DeleteAsync("/");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Equal(["GET", "HEAD"], delete.Content.Headers.Allow.Order());
    }

    [Fact]
    public async Task Server_OnLoopback_AnswersOnlyItsOwnHost_SoARebindingPageCannotReadIt()
    {
        using var dir = new TempDir();
        var made = ViewerResult.Write(dir.Path);
        await using var server = ViewerServer.Start(ViewerPayload.Build(made.Result), "127.0.0.1", 0);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        var meta = ViewerPayload.Build(made.Result).MetaJson;
        async Task<HttpStatusCode> With(string host)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/data/meta.json");
            request.Headers.Host = host;
            bool own = host.StartsWith("127.0.0.1:", StringComparison.Ordinal) || host.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase);
            // HttpListener answers a Host that matches no prefix with its own 404 and then, on a kept-alive connection,
            // writes a second, spurious "200 OK" (empty, Connection: close) after it (HttpConnection.Close(true) on the next
            // context): a request that reused that connection read it. Such a request is the connection's last.
            if (!own) request.Headers.ConnectionClose = true;
            var response = await http.SendAsync(request);
            if (!own) Assert.DoesNotContain(meta, await response.Content.ReadAsStringAsync());
            return response.StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await With($"127.0.0.1:{server.Port}"));
        // What a browser sends for http://localhost:PORT is served too, where localhost resolves to this 127.0.0.1 first
        // (HttpListener listens for it there; Debian's /etc/hosts and glibc do so).
        Assert.Equal(ViewerServer.LocalhostIsIpv4Loopback(), server.ServesLocalhost);
        if (server.ServesLocalhost)
        {
            Assert.Equal(HttpStatusCode.OK, await With($"localhost:{server.Port}"));
            Assert.Equal(HttpStatusCode.OK, await With($"LOCALHOST:{server.Port}"));
        }
        // A page from evil.example whose name now resolves to 127.0.0.1 sends its own name as Host: not served, on a new
        // connection or on one kept alive after a request to the right host.
        Assert.NotEqual(HttpStatusCode.OK, await With($"evil.example:{server.Port}"));
        Assert.NotEqual(HttpStatusCode.OK, await With($"127.0.0.1.evil.example:{server.Port}"));
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await With($"127.0.0.1:{server.Port}"));
            Assert.NotEqual(HttpStatusCode.OK, await With($"evil.example:{server.Port}"));
        }
        // A request in absolute form passes HttpListener's prefix match by its URI whatever its Host header: Route refuses it.
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync(IPAddress.Loopback, server.Port);
            var stream = raw.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
                $"GET {server.Url}data/meta.json HTTP/1.1\r\nHost: evil.example:{server.Port}\r\nConnection: close\r\n\r\n"));
            var answer = await new StreamReader(stream).ReadToEndAsync();
            Assert.StartsWith("HTTP/1.1 403", answer);
            Assert.DoesNotContain(meta, answer);
        }
        // What Route accepts as its own Host.
        string p = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(new[] { $"127.0.0.1:{p}", $"localhost:{p}", $"LocalHost:{p}" }, h => Assert.True(server.IsOwnHost(h), h));
        Assert.All(new[] { $"127.0.0.1.evil.example:{p}", $"evil.example:{p}", $"127.0.0.1:{p}@evil.example", $"evil.example@127.0.0.1:{p}",
            $"127.0.0.1:{server.Port + 1}", "127.0.0.1", $"127.0.0.1:{p}/x", "", null }, h => Assert.False(server.IsOwnHost(h), h));
    }

    [Theory]
    [InlineData("999.1.1.1", "neither an IP address nor a name this machine resolves")] // was "The request is not supported"
    [InlineData("10.255.255.1", "is not an address of this machine")]                   // was a SocketException
    public void View_OnAHostThatIsNotThisMachines_FailsWithOneLineNamingIt(string host, string expected)
    {
        using var dir = new TempDir();
        var made = ViewerResult.Write(dir.Path);
        var e = Assert.Throws<ArgumentException>(() => ViewerServer.Start(ViewerPayload.Build(made.Result), host, 0));
        Assert.StartsWith($"--host {host} ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains("0.0.0.0 (every interface)", e.Message);
    }

    [Fact]
    public void View_OnAPortInUse_FailsWithOneLineAndExitCode1()
    {
        using var dir = new TempDir();
        var made = ViewerResult.Write(dir.Path);
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var e = Assert.Throws<UniCLift.Compute.EnvironmentException>(() => ViewerServer.Start(ViewerPayload.Build(made.Result), "127.0.0.1", port));
        Assert.Contains($"127.0.0.1:{port}", e.Message);

        // Another program holding the port is the environment, not bad input: exit 1, one line, the message alone.
        var err = new StringWriter();
        int code = UniCLift.Client.Cli.Build().Parse(["view", made.Result, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            .Invoke(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = err });
        Assert.Equal(1, code);
        var line = Assert.Single(err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"error: cannot listen on 127.0.0.1:{port}: the port is in use; choose another --port (0: any free one).", line);
    }
}
