namespace UniCLift.Silo;

using System.Net;
using Orleans.Configuration;
using UniCLift.Grains.Hosting;

/// <summary>
/// Orleans Kubernetes hosting for the silo program (k8s/base): the silo is named after its pod, advertises the pod
/// IP, listens on any address, and dead pods' silos are declared dead. Redis stays the membership table; Kubernetes
/// hosting adds pod labels and watches pods. Only the silo host uses it: the console's embedded silo and the test
/// clusters never run in a pod.
/// </summary>
public static class KubernetesHosting
{
    /// <summary>Whether to use Orleans Kubernetes hosting: UniCLift:Kubernetes if set, else whether POD_NAMESPACE and POD_NAME are both present.</summary>
    public static bool UseKubernetes(UniCLiftSiloOptions options, Func<string, string?> environment) =>
        options.Kubernetes ?? (!string.IsNullOrWhiteSpace(environment("POD_NAMESPACE")) && !string.IsNullOrWhiteSpace(environment("POD_NAME")));

    /// <summary>
    /// Adds Kubernetes hosting to <paramref name="silo"/> when <see cref="UseKubernetes"/> says so (after
    /// SiloBuilderExtensions.AddUniCLiftSilo has configured clustering and endpoints, which this overrides); throws
    /// naming the setting when the configuration cannot work in a pod.
    /// </summary>
    public static void Configure(ISiloBuilder silo, UniCLiftSiloOptions options, IConfiguration configuration)
    {
        if (!UseKubernetes(options, Environment.GetEnvironmentVariable)) return;
        if (!string.Equals(options.Clustering, "redis", StringComparison.OrdinalIgnoreCase))
            throw new SiloOptionsException(
                $"Kubernetes hosting (UniCLift:Kubernetes, or env POD_NAME and POD_NAMESPACE) needs UniCLift:Clustering=redis, not '{options.Clustering}': pods need a shared membership table.");
        var podName = Environment.GetEnvironmentVariable("POD_NAME");
        if (options.SiloName is { } siloName && !string.IsNullOrEmpty(podName) && siloName != podName)
            throw new SiloOptionsException($"UniCLift:SiloName '{siloName}' differs from the pod name '{podName}'; under Kubernetes hosting the silo is named after its pod (leave SiloName unset).");

        // Kubernetes hosting listens on any address and names the silo after its pod; the pod IP is advertised here
        // because Orleans' own default fills the address before Kubernetes hosting would.
        var podIp = PodIp(configuration);
        silo.Configure<EndpointOptions>(o =>
        {
            o.SiloPort = options.SiloPort;
            o.GatewayPort = options.GatewayPort;
            if (podIp is not null) o.AdvertisedIPAddress = podIp;
        });
        silo.UseKubernetesHosting();
    }

    /// <summary>POD_IP (downward API, read through configuration so that env and command line both work), or null.</summary>
    private static IPAddress? PodIp(IConfiguration configuration)
    {
        var text = configuration["POD_IP"];
        if (string.IsNullOrWhiteSpace(text)) return null;
        return IPAddress.TryParse(text, out var ip) ? ip
            : throw new SiloOptionsException($"POD_IP '{text}' is not an IP address (expected status.podIP from the downward API).");
    }
}
