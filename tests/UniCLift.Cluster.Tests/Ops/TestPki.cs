namespace UniCLift.Cluster.Tests.Ops;

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

/// <summary>
/// A throw-away certificate authority in a temporary folder, and certificates it issues, as PEM files laid out like
/// the Kubernetes TLS Secrets in docs/OPERATIONS.md (ca.crt; name.crt and name.key for tls.crt and tls.key).
/// </summary>
internal sealed class TestPki : IDisposable
{
    private readonly X509Certificate2 _ca;
    public string Directory { get; }
    public string CaCertificate => Path.Combine(Directory, "ca.crt");

    private TestPki(string name)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("uniclift-pki-").FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(CaCertificate, _ca.ExportCertificatePem());
    }

    public static TestPki Create(string name) => new(name);

    /// <summary>A certificate for server and client authentication with these host names (and 127.0.0.1).</summary>
    public (string Certificate, string Key) Issue(string name, params string[] hosts)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client auth
        var san = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts) san.AddDnsName(host);
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var certificate = request.Create(_ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(12), serial);
        var crt = Path.Combine(Directory, name + ".crt");
        var pem = Path.Combine(Directory, name + ".key");
        File.WriteAllText(crt, certificate.ExportCertificatePem());
        File.WriteAllText(pem, key.ExportPkcs8PrivateKeyPem());
        return (crt, pem);
    }

    /// <summary>Settings that turn Orleans TLS on (src/Grains/Security/ClusterTls.cs) with this certificate.</summary>
    public Dictionary<string, string?> TlsSettings((string Certificate, string Key) issued) => new()
    {
        ["UniCLift:Tls:Certificate"] = issued.Certificate,
        ["UniCLift:Tls:Key"] = issued.Key,
        ["UniCLift:Tls:CaCertificate"] = CaCertificate,
    };

    public void Dispose()
    {
        _ca.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
