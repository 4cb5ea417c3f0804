namespace UniCLift.Cluster.Tests;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using UniCLift.Grains;
using UniCLift.Grains.Hosting;

public sealed class EmbeddedSiloTests
{
    [Fact]
    public async Task ClientTalksToSiloOverARealGrainCall()
    {
        var siloPort = TestPorts.Free();
        var gatewayPort = TestPorts.Free();
        var builder = Host.CreateApplicationBuilder();
        builder.AddUniCLiftSilo(o => { o.SiloPort = siloPort; o.GatewayPort = gatewayPort; o.Compute = true; o.TrainingSlots = 2; });
        using var silo = builder.Build();
        await silo.StartAsync();

        // An external client over the gateway port, as the console connects.
        var clientBuilder = Host.CreateApplicationBuilder();
        clientBuilder.UseOrleansClient(c => c.UseLocalhostClustering(gatewayPort, "uniclift", "uniclift"));
        using var client = clientBuilder.Build();
        await client.StartAsync();
        var grains = client.Services.GetRequiredService<IClusterClient>();
        var info = await grains.GetGrain<ISiloInfoGrain>(0).Describe();
        Assert.True(info.IsCompute);
        Assert.Equal(2, info.TrainingSlots);
        Assert.Equal("cpu", info.Device);
        await client.StopAsync();
        await silo.StopAsync();
    }
}
