namespace UniCLift.Grains.Security;

using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Orleans.Connections.Security;
using UniCLift.Grains.Hosting;

/// <summary>
/// Where the cluster's TLS material lies: PEM files, as a kubernetes.io/tls Secret with a ca.crt key mounts them
/// (k8s/base: /etc/uniclift/orleans-tls/tls.crt, tls.key, ca.crt). Configuration section "UniCLift:Tls"
/// (env UniCLift__Tls__Certificate, ...). TLS is off unless Certificate is set.
/// </summary>
public sealed record ClusterTlsFiles(string Certificate, string Key, string CaCertificate)
{
    public const string Section = "UniCLift:Tls";

    /// <summary>The configured files, or null when UniCLift:Tls:Certificate is not set (TLS off).</summary>
    public static ClusterTlsFiles? From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var certificate = section["Certificate"];
        if (string.IsNullOrWhiteSpace(certificate)) return null;
        string Required(string key) => section[key] is { Length: > 0 } value ? value
            : throw new SiloOptionsException($"{Section}:Certificate is set ('{certificate}') but {Section}:{key} is not: TLS needs the certificate, its private key and the CA that signs every silo's and client's certificate.");
        return new ClusterTlsFiles(certificate, Required("Key"), Required("CaCertificate"));
    }
}

/// <summary>
/// Orleans TLS (Microsoft.Orleans.Connections.Security) for silo-to-silo and client-to-gateway connections, mutual:
/// each side presents its certificate and accepts the other's only if it chains to the configured CA. Host names
/// are not checked (silos connect to pod IPs): holding a certificate signed by that CA is what makes a peer a member.
/// </summary>
public static class ClusterTls
{
    /// <summary>Turns TLS on for the silo when <see cref="ClusterTlsFiles.Section"/> configures it; otherwise does nothing.</summary>
    public static ISiloBuilder UseUniCLiftTls(this ISiloBuilder silo, IConfiguration configuration)
    {
        if (ClusterTlsFiles.From(configuration) is { } files) silo.UseTls(o => Configure(o, files));
        return silo;
    }

    /// <summary>Turns TLS on for a cluster client when <see cref="ClusterTlsFiles.Section"/> configures it; otherwise does nothing.</summary>
    public static IClientBuilder UseUniCLiftTls(this IClientBuilder client, IConfiguration configuration)
    {
        if (ClusterTlsFiles.From(configuration) is { } files) client.UseTls(o => Configure(o, files));
        return client;
    }

    private static void Configure(TlsOptions options, ClusterTlsFiles files)
    {
        foreach (var path in new[] { files.Certificate, files.Key, files.CaCertificate })
            if (!File.Exists(path)) throw new FileNotFoundException($"{ClusterTlsFiles.Section}: '{path}' does not exist (mount the TLS Secret there, see docs/OPERATIONS.md).", path);
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(files.CaCertificate);
        if (roots.Count == 0) throw new InvalidDataException($"{ClusterTlsFiles.Section}:CaCertificate '{files.CaCertificate}' holds no PEM certificate.");
        options.LocalCertificate = X509Certificate2.CreateFromPemFile(files.Certificate, files.Key);
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (certificate, _, _) => IssuedBy(certificate, roots);
    }

    /// <summary>Whether <paramref name="certificate"/> chains to one of <paramref name="roots"/> (and to nothing else), valid now.</summary>
    internal static bool IssuedBy(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // a private CA publishes no revocation list
        return chain.Build(certificate);
    }
}
