namespace UniCLift.Cluster.Tests.Ops;

using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting.Kubernetes;
using UniCLift.Grains.Hosting;
using UniCLift.Silo;

/// <summary>
/// Orleans Kubernetes hosting as the silo program configures it, checked on the built (not started) host: starting it
/// would need a Kubernetes API server. The pod facts the downward API gives are not put into the process environment,
/// which parallel tests share: POD_NAME and POD_NAMESPACE go into KubernetesHostingOptions (which Orleans reads from
/// the environment), POD_IP onto the command line (the silo reads it through configuration).
/// </summary>
public sealed class KubernetesHostingTests
{
    [Theory]
    [InlineData(null, "ns", "pod-0", true)]
    [InlineData(null, "ns", null, false)]
    [InlineData(null, null, "pod-0", false)]
    [InlineData(null, " ", "pod-0", false)]
    [InlineData(true, null, null, true)]
    [InlineData(false, "ns", "pod-0", false)]
    public void KubernetesIsOnWithBothPodVariablesOrWhenConfigured(bool? configured, string? ns, string? pod, bool expected)
    {
        var env = new Dictionary<string, string?> { ["POD_NAMESPACE"] = ns, ["POD_NAME"] = pod };
        Assert.Equal(expected, KubernetesHosting.UseKubernetes(new UniCLiftSiloOptions { Kubernetes = configured }, n => env.GetValueOrDefault(n)));
    }

    // Ports free now (the silo program checks that nothing listens on them): the host is built, never started.
    private static WebApplication Build(bool kubernetes, string clustering = "redis", int? siloPort = null, int? gatewayPort = null) =>
        SiloHost.Build(
        [
            $"--UniCLift:Kubernetes={kubernetes}",
            $"--UniCLift:Clustering={clustering}",
            "--UniCLift:Redis=127.0.0.1:1", // never contacted: the host is not started
            "--UniCLift:ClusterId=cluster-a",
            "--UniCLift:ServiceId=service-a",
            $"--UniCLift:SiloPort={siloPort ?? TestPorts.Free()}",
            $"--UniCLift:GatewayPort={gatewayPort ?? TestPorts.Free()}",
            "--POD_IP=10.1.2.3", // as env POD_IP in a pod: configuration reads both
        ], b => b.Services.PostConfigure<KubernetesHostingOptions>(o =>
        {
            SetInternal(o, "Namespace", "uniclift");
            SetInternal(o, "PodName", "uniclift-compute-0");
        }));

    private static void SetInternal(KubernetesHostingOptions o, string property, string value)
    {
        var p = typeof(KubernetesHostingOptions).GetProperty(property, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"KubernetesHostingOptions.{property} is gone; this test needs updating for the new Orleans version.");
        p.SetValue(o, value);
    }

    [Fact]
    public async Task KubernetesHostingNamesTheSiloAfterItsPodAdvertisesThePodIpAndKeepsRedisClustering()
    {
        int siloPort = TestPorts.Free(), gatewayPort = TestPorts.Free();
        await using var app = Build(kubernetes: true, siloPort: siloPort, gatewayPort: gatewayPort);
        var silo = app.Services.GetRequiredService<IOptions<SiloOptions>>().Value;
        var endpoints = app.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
        var cluster = app.Services.GetRequiredService<IOptions<ClusterOptions>>().Value;

        Assert.Equal("uniclift-compute-0", silo.SiloName);
        Assert.Equal(IPAddress.Parse("10.1.2.3"), endpoints.AdvertisedIPAddress);
        Assert.Equal(new IPEndPoint(IPAddress.Any, siloPort), endpoints.SiloListeningEndpoint);
        Assert.Equal(new IPEndPoint(IPAddress.Any, gatewayPort), endpoints.GatewayListeningEndpoint);
        Assert.Equal(("cluster-a", "service-a"), (cluster.ClusterId, cluster.ServiceId)); // from UniCLift:*, i.e. the pod labels in k8s/base

        // Kubernetes hosting adds to clustering; the membership table stays Redis.
        var table = app.Services.GetRequiredService<IMembershipTable>();
        Assert.Contains("Redis", table.GetType().FullName);
    }

    [Fact]
    public async Task WithoutKubernetesNothingOfItIsRegistered()
    {
        await using var k8s = Build(kubernetes: true);
        await using var plain = Build(kubernetes: false);
        var registered = (WebApplication a) => a.Services.GetRequiredService<IServiceProviderIsService>();
        Assert.True(registered(k8s).IsService(typeof(IValidateOptions<KubernetesHostingOptions>)));
        Assert.False(registered(plain).IsService(typeof(IValidateOptions<KubernetesHostingOptions>)));
        // Plain redis clustering advertises this host's address and leaves listening endpoints unset.
        var endpoints = plain.Services.GetRequiredService<IOptions<EndpointOptions>>().Value;
        Assert.NotEqual(IPAddress.Parse("10.1.2.3"), endpoints.AdvertisedIPAddress);
        Assert.NotEqual("uniclift-compute-0", plain.Services.GetRequiredService<IOptions<SiloOptions>>().Value.SiloName);
    }

    [Fact]
    public void KubernetesWithLocalhostClusteringIsRefusedWithAReason()
    {
        var e = Assert.Throws<SiloOptionsException>(() => Build(kubernetes: true, clustering: "localhost")); // bad input: the program exits 2
        Assert.Contains("UniCLift:Clustering=redis", e.Message);
    }
}
