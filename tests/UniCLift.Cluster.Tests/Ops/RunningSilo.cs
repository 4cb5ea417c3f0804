namespace UniCLift.Cluster.Tests.Ops;

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using UniCLift.Grains.Telemetry;
using UniCLift.Silo;

[CollectionDefinition(Name)]
public sealed class RunningSiloCollection : ICollectionFixture<RunningSilo>
{
    public const string Name = "running silo";
}

/// <summary>A real silo web host built by <see cref="SiloHost.Build"/> (as src/Silo/Program.cs does) on free loopback ports.</summary>
public sealed class RunningSilo : IAsyncLifetime
{
    private WebApplication? _app;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };
    public WebApplication App => _app ?? throw new InvalidOperationException("Silo not started.");
    public UniCLiftMetrics Metrics => App.Services.GetRequiredService<UniCLiftMetrics>(); // the process-wide instance

    public async Task InitializeAsync()
    {
        _app = Create(Http);
        await _app.StartAsync();
    }

    /// <summary>Builds (does not start) a silo host on free loopback ports and points <paramref name="http"/> at it.</summary>
    public static WebApplication Create(HttpClient http)
    {
        var httpPort = TestPorts.Free();
        var app = SiloHost.Build(
        [
            $"--urls=http://127.0.0.1:{httpPort}",
            "--UniCLift:Clustering=localhost",
            $"--UniCLift:SiloPort={TestPorts.Free()}",
            $"--UniCLift:GatewayPort={TestPorts.Free()}",
            "--UniCLift:Compute=true",
            "--UniCLift:TrainingSlots=2",
            "--UniCLift:Device=cpu",
        ]);
        http.BaseAddress = new Uri($"http://127.0.0.1:{httpPort}");
        return app;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>GET /metrics; waits past the exporter's 300 ms response cache so each call is a fresh collection.</summary>
    public async Task<Scrape> ScrapeAsync()
    {
        await Task.Delay(350);
        using var response = await Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return Scrape.Parse(await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls /health/ready until 200 or the timeout.</summary>
    public static async Task<HttpStatusCode> WaitReadyAsync(HttpClient http, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var response = await http.GetAsync("/health/ready");
            if (response.StatusCode == HttpStatusCode.OK || DateTime.UtcNow > deadline) return response.StatusCode;
            await Task.Delay(200);
        }
    }
}
