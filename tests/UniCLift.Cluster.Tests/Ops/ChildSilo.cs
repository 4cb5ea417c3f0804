namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics;
using System.Net;
using UniCLift.Silo;

/// <summary>
/// The real silo program (UniCLift.Silo.dll, src/Silo/Program.cs) in a child process on free loopback ports.
/// Orleans creates its meters per host, and OpenTelemetry drops a same-named stream in every provider of the
/// process when any host disposes its meter (opentelemetry-dotnet#6412); a process of its own keeps the Orleans
/// metrics of this silo intact whatever other tests start and stop.
/// </summary>
internal sealed class ChildSilo : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _output = new();
    public HttpClient Http { get; }

    private ChildSilo(Process process, HttpClient http) => (_process, Http) = (process, http);

    /// <param name="args">More command-line settings, after the defaults (the last of a key wins).</param>
    /// <param name="environment">Environment variables of the child (set or replaced).</param>
    /// <param name="workingDirectory">Where it is started from (default: the program's own folder, as in the image).</param>
    public static async Task<ChildSilo> StartAsync(IEnumerable<string>? args = null, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        var dll = typeof(SiloHost).Assembly.Location;
        var httpPort = TestPorts.Free();
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { dll, $"--urls=http://127.0.0.1:{httpPort}", "--UniCLift:Clustering=localhost",
                     $"--UniCLift:SiloPort={TestPorts.Free()}", $"--UniCLift:GatewayPort={TestPorts.Free()}" })
            psi.ArgumentList.Add(a);
        foreach (var a in args ?? []) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        var process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };
        var silo = new ChildSilo(process, http);
        process.OutputDataReceived += (_, e) => { lock (silo._output) silo._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (silo._output) silo._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited) throw new InvalidOperationException($"Silo process exited ({process.ExitCode}): {silo.Output}");
            try
            {
                using var ready = await http.GetAsync("/health/ready");
                if (ready.StatusCode == HttpStatusCode.OK) return silo;
            }
            catch (HttpRequestException) { /* not listening yet */ }
            catch (TaskCanceledException) { /* the client's timeout: a loaded machine; ask again until the deadline */ }
            if (DateTime.UtcNow > deadline)
            {
                await silo.DisposeAsync();
                throw new TimeoutException($"Silo process not ready within 60 s: {silo.Output}");
            }
            await Task.Delay(250);
        }
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>The process has not exited.</summary>
    public bool IsRunning => !_process.HasExited;

    public async Task<Scrape> ScrapeAsync()
    {
        using var response = await Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Scrape.Parse(await response.Content.ReadAsStringAsync());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
