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

    [Fact]
    public async Task A_Control_Silo_Starts_With_No_Training_Slots_And_A_Compute_Silo_Needs_One()
    {
        // k8s/base/silo-control.yaml sets UniCLift__TrainingSlots=0: such pods crash-looped at start.
        var builder = Host.CreateApplicationBuilder();
        builder.AddUniCLiftSilo(o => { o.SiloPort = TestPorts.Free(); o.GatewayPort = TestPorts.Free(); o.Compute = false; o.TrainingSlots = 0; });
        using var silo = builder.Build();
        await silo.StartAsync();
        var info = await silo.Services.GetRequiredService<IGrainFactory>().GetGrain<ISiloInfoGrain>(0).Describe();
        Assert.False(info.IsCompute);
        Assert.Equal(0, info.TrainingSlots);
        await silo.StopAsync();

        var compute = Host.CreateApplicationBuilder();
        var e = Assert.Throws<SiloOptionsException>(() => compute.AddUniCLiftSilo(o => { o.Compute = true; o.TrainingSlots = 0; }));
        Assert.Contains("UniCLift:TrainingSlots must be at least 1 on a compute silo, got 0", e.Message);
    }
}
