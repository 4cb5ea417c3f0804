namespace UniCLift.Cluster.Tests.Ops;

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using StackExchange.Redis;
using UniCLift.Grains;
using UniCLift.Grains.Security;
using UniCLift.Silo;
using UniCLift.Grains.Hosting;

/// <summary>
/// The deployment's security settings on real processes: a password-protected (and a TLS-only) redis-server, silos
/// built by <see cref="SiloHost.Build"/> with Orleans TLS on, and clients with and without the cluster's certificates.
/// </summary>
public sealed class ClusterSecurityTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90); // a loaded 2-core machine starts silos slowly

    /// <summary>A control silo (TrainingSlots=0, as k8s/base/silo-control.yaml) on Redis clustering, HTTP on loopback only.</summary>
    private static (WebApplication App, HttpClient Http) BuildSilo(string redis, string clusterId, IReadOnlyDictionary<string, string?> settings)
    {
        var httpPort = TestPorts.Free();
        var args = new List<string>
        {
            $"--urls=http://127.0.0.1:{httpPort}",
            "--UniCLift:Clustering=redis",
            "--UniCLift:AdvertisedAddress=127.0.0.1",
            $"--UniCLift:Redis={redis}",
            $"--UniCLift:ClusterId={clusterId}",
            $"--UniCLift:ServiceId={clusterId}",
            $"--UniCLift:SiloPort={TestPorts.Free()}",
            $"--UniCLift:GatewayPort={TestPorts.Free()}",
            "--UniCLift:Compute=false",
            "--UniCLift:TrainingSlots=0",
            "--UniCLift:Kubernetes=false",
        };
        args.AddRange(settings.Select(kv => $"--{kv.Key}={kv.Value}"));
        var app = SiloHost.Build([.. args]);
        return (app, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) });
    }

    private static async Task<IHost> StartClientAsync(string redis, string clusterId, IReadOnlyDictionary<string, string?> settings, TimeSpan? patience = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.UseOrleansClient(c =>
        {
            c.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = clusterId; });
            c.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            c.UseUniCLiftTls(builder.Configuration);
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync().WaitAsync(patience ?? Patience);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    [Fact]
    public async Task TlsSilosAndClientTalkThroughPasswordProtectedRedis_AndStrangersAreTurnedAway()
    {
        await using var redis = await SecureRedisServer.StartAsync();
        using var pki = TestPki.Create("uniclift-test-ca");
        using var strangers = TestPki.Create("some-other-ca");
        var clusterId = "uniclift"; // the console's default (a redis-server of this test's own): `uniclift status` below finds it

        var (a, httpA) = BuildSilo(redis.ConnectionString(), clusterId, pki.TlsSettings(pki.Issue("silo-a")));
        var (b, httpB) = BuildSilo(redis.ConnectionString(), clusterId, pki.TlsSettings(pki.Issue("silo-b")));
        try
        {
            await a.StartAsync();
            Assert.Equal(HttpStatusCode.OK, await RunningSilo.WaitReadyAsync(httpA, Patience));
            // The second silo joins only after it has reached the first one over the silo port (Orleans checks a
            // joining silo's connectivity to the active ones), so being Active here means silo-to-silo TLS works.
            await b.StartAsync();
            Assert.Equal(HttpStatusCode.OK, await RunningSilo.WaitReadyAsync(httpB, Patience));
            var members = await a.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            Assert.Equal(2, members.Count);

            // A client with a certificate from the cluster's CA reaches a gateway and calls a grain.
            using (var client = await StartClientAsync(redis.ConnectionString(), clusterId, pki.TlsSettings(pki.Issue("submit-job"))))
            {
                var info = await client.Services.GetRequiredService<IClusterClient>().GetGrain<ISiloInfoGrain>(0).Describe();
                Assert.False(info.IsCompute);
                Assert.Equal(0, info.TrainingSlots);
            }

            // The real console, configured through its environment as the submit Job is (k8s/examples/submit-job.yaml).
            var console = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            console.ArgumentList.Add(RepoPaths.ClientDll());
            console.ArgumentList.Add("status");
            console.Environment[UniCLift.Client.ClusterConnection.RedisEnvironmentVariable] = redis.ConnectionString();
            foreach (var (key, value) in pki.TlsSettings(pki.Issue("console"))) console.Environment[key.Replace(":", "__")] = value;
            using (var cli = System.Diagnostics.Process.Start(console)!)
            {
                var stdout = cli.StandardOutput.ReadToEndAsync();
                var stderr = cli.StandardError.ReadToEndAsync();
                try { await cli.WaitForExitAsync().WaitAsync(Patience); }
                finally { if (!cli.HasExited) cli.Kill(entireProcessTree: true); }
                var output = await stdout + await stderr;
                Assert.True(cli.ExitCode == 0, $"uniclift status exited {cli.ExitCode}: {output}");
                Assert.Contains("no batches.", output);
                Assert.DoesNotContain(redis.Password, output);
            }

            // Without TLS, or with a certificate another CA signed, no gateway accepts the client: the TLS handshake
            // fails, the client keeps trying gateways and never gets an answer (both tried at once, 20 s each).
            var refused = await Task.WhenAll(new[] { ("no TLS", new Dictionary<string, string?>()), ("a stranger's certificate", strangers.TlsSettings(strangers.Issue("intruder"))) }
                .Select(async x =>
                {
                    var e = await Record.ExceptionAsync(async () =>
                    {
                        using var client = await StartClientAsync(redis.ConnectionString(), clusterId, x.Item2, TimeSpan.FromSeconds(20));
                        await client.Services.GetRequiredService<IClusterClient>().GetGrain<ISiloInfoGrain>(0).Describe().WaitAsync(TimeSpan.FromSeconds(10));
                    });
                    return (What: x.Item1, Error: e);
                }));
            // Refused as a client the gateways never answer (its start times out), not failed by anything else (a setting
            // it could not read, say), which would pass as refused too.
            foreach (var (what, error) in refused)
                Assert.True(error is TimeoutException, $"a client with {what}: {(error is null ? "reached the cluster" : $"failed otherwise: {error}")}");
        }
        finally
        {
            foreach (var (app, http) in new[] { (b, httpB), (a, httpA) })
            {
                http.Dispose();
                try { await app.StopAsync(TimeSpan.FromSeconds(30)); } catch (Exception) { }
                await app.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task SiloWithoutTheRedisPasswordDoesNotStart()
    {
        await using var redis = await SecureRedisServer.StartAsync();
        var (app, http) = BuildSilo($"127.0.0.1:{redis.Port},connectTimeout=2000", "nopass-" + Guid.NewGuid().ToString("N")[..8], new Dictionary<string, string?>());
        try
        {
            var e = await Record.ExceptionAsync(() => app.StartAsync().WaitAsync(Patience));
            Assert.NotNull(e);
            Assert.IsNotType<TimeoutException>(e);
            Assert.Contains("NOAUTH", e.ToString(), StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            http.Dispose();
            try { await app.StopAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
            await app.DisposeAsync();
        }
    }

    [Fact]
    public void TlsSettingsMustBeComplete()
    {
        using var pki = TestPki.Create("ca");
        var settings = pki.TlsSettings(pki.Issue("silo"));
        Assert.Null(ClusterTlsFiles.From(new ConfigurationBuilder().Build()));
        Assert.Equal(settings["UniCLift:Tls:Key"], ClusterTlsFiles.From(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())!.Key);
        settings.Remove("UniCLift:Tls:CaCertificate");
        var e = Assert.Throws<SiloOptionsException>(() => ClusterTlsFiles.From(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()));
        Assert.Contains("UniCLift:Tls:CaCertificate", e.Message);
    }

    [Fact]
    public void OnlyCertificatesOfTheClusterCaAreTrusted()
    {
        using var pki = TestPki.Create("ca");
        using var other = TestPki.Create("other");
        var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        roots.ImportFromPemFile(pki.CaCertificate);
        var issued = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        issued.ImportFromPemFile(pki.Issue("a").Certificate);
        issued.ImportFromPemFile(other.Issue("b").Certificate);
        var (ours, theirs) = (issued[0], issued[1]);
        Assert.True(ClusterTls.IssuedBy(ours, roots));
        Assert.False(ClusterTls.IssuedBy(theirs, roots));
    }

    /// <summary>
    /// The real silo program in a child process reaches a TLS-only, password-protected Redis with the configuration
    /// string k8s/base gives it (password=..., ssl=true) and trusts the Redis CA through SSL_CERT_DIR, as the pods do
    /// with the CA mounted from the Redis TLS Secret. Without that CA directory the silo cannot start.
    /// </summary>
    [Fact]
    public async Task SiloProgramReachesTlsRedisTrustingTheMountedCa()
    {
        using var pki = TestPki.Create("redis-ca");
        await using var redis = await SecureRedisServer.StartAsync(pki);
        var caDir = Directory.CreateDirectory(Path.Combine(pki.Directory, "redis-ca")).FullName;
        File.Copy(pki.CaCertificate, Path.Combine(caDir, "ca.crt"));
        string[] args = ["--UniCLift:Clustering=redis", "--UniCLift:AdvertisedAddress=127.0.0.1", $"--UniCLift:Redis={redis.ConnectionString()}", "--UniCLift:Kubernetes=false",
            $"--UniCLift:ClusterId=redis-tls-{Guid.NewGuid():N}", "--UniCLift:Compute=false", "--UniCLift:TrainingSlots=0"];

        await using (var silo = await ChildSilo.StartAsync(args, new Dictionary<string, string> { ["SSL_CERT_DIR"] = "/etc/ssl/certs:" + caDir }))
        {
            using var ready = await silo.Http.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var e = await Record.ExceptionAsync(async () => { await using var silo = await ChildSilo.StartAsync(args); });
        Assert.IsType<InvalidOperationException>(e); // the process exited: the Redis certificate is not trusted
    }

    /// <summary>
    /// docs/OPERATIONS.md, "Creating the Secrets": its openssl commands (run as written, kubectl lines left out) make
    /// certificates that a TLS-only redis-server serves and Orleans TLS accepts, and its kubectl lines create the
    /// Secrets, with the keys, that k8s/base mounts.
    /// </summary>
    [Fact]
    public async Task DocumentedSecretsRecipeWorks()
    {
        var doc = File.ReadAllLines(RepoPaths.Of("docs", "OPERATIONS.md"));
        var at = Array.FindIndex(doc, l => l == "### Creating the Secrets");
        Assert.True(at >= 0, "docs/OPERATIONS.md has no '### Creating the Secrets'");
        var open = Array.FindIndex(doc, at, l => l == "```sh");
        var close = Array.FindIndex(doc, open + 1, l => l == "```");
        var commands = new List<string>(); // continuation lines joined
        foreach (var line in doc[(open + 1)..close])
            if (commands.Count > 0 && commands[^1].EndsWith('\\')) commands[^1] = commands[^1][..^1] + " " + line.Trim();
            else commands.Add(line);
        var kubectl = commands.Where(c => c.StartsWith("kubectl ")).ToList();
        var dir = Directory.CreateTempSubdirectory("uniclift-doc-pki-").FullName;
        try
        {
            File.WriteAllLines(Path.Combine(dir, "recipe.sh"), ["set -euo pipefail", .. commands.Where(c => !c.StartsWith("kubectl "))]);
            var psi = new System.Diagnostics.ProcessStartInfo("bash", "recipe.sh") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
            using (var bash = System.Diagnostics.Process.Start(psi)!)
            {
                var err = bash.StandardError.ReadToEndAsync();
                await bash.StandardOutput.ReadToEndAsync();
                await bash.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.True(bash.ExitCode == 0, $"the documented openssl commands failed ({bash.ExitCode}): {await err}");
            }
            string F(string name) => Path.Combine(dir, name);

            // Orleans: the certificate loads with its key, serves both ends of a connection, and chains to the CA.
            var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            roots.ImportFromPemFile(F("ca.crt"));
            using var orleans = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(F("orleans.crt"), F("orleans.key"));
            Assert.True(orleans.HasPrivateKey);
            Assert.True(ClusterTls.IssuedBy(orleans, roots));
            var usages = orleans.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).ToList();
            Assert.Contains("1.3.6.1.5.5.7.3.1", usages);
            Assert.Contains("1.3.6.1.5.5.7.3.2", usages);

            // Redis: the names the silos use, and a real TLS-only server with these files answers a client trusting the CA.
            var redisCert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(F("redis.crt")));
            var names = redisCert.Extensions.OfType<System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames().ToList();
            Assert.Contains("redis", names);
            Assert.Contains("redis.uniclift.svc.cluster.local", names);
            await using (var redis = await SecureRedisServer.StartAsync((F("redis.crt"), F("redis.key"), F("ca.crt")))) { }

            // The Secrets and keys the manifests mount.
            Assert.Contains(kubectl, c => c.Contains("create secret generic uniclift-redis --from-literal=password="));
            foreach (var secret in new[] { "uniclift-redis-tls", "uniclift-orleans-tls" })
            {
                var create = kubectl.Single(c => c.Contains($"create secret generic {secret} "));
                foreach (var key in new[] { "tls.crt", "tls.key", "ca.crt" }) Assert.Contains($"--from-file={key}=", create);
            }
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
