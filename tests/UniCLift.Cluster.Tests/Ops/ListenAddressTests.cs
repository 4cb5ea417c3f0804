namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using UniCLift.Grains.Hosting;
using UniCLift.Silo;

/// <summary>
/// Where a silo in Redis clustering listens and what it advertises (UniCLift:AdvertisedAddress,
/// UniCLift:ListenOnAnyAddress). The old silo took the host's first non-loopback address with no way to choose, and
/// on a host with loopback only it crashed at start (exit 134).
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class ListenAddressTests(RedisServerFixture redis)
{
    [Fact]
    public void The_Setting_Takes_An_Address_Or_A_Name_And_A_Bad_One_Is_An_Error_Naming_It()
    {
        Assert.Equal(IPAddress.Loopback, SiloBuilderExtensions.AdvertisedAddress("127.0.0.1"));
        Assert.Equal(IPAddress.Parse("10.1.2.3"), SiloBuilderExtensions.AdvertisedAddress("10.1.2.3"));
        Assert.Equal(IPAddress.Loopback, SiloBuilderExtensions.AdvertisedAddress("localhost"));
        var e = Assert.Throws<SiloOptionsException>(() => SiloBuilderExtensions.AdvertisedAddress("no-such-host.invalid"));
        Assert.Contains("UniCLift:AdvertisedAddress 'no-such-host.invalid'", e.Message);
        // Not set: an address of this machine, never a failure.
        var chosen = SiloBuilderExtensions.AdvertisedAddress(null);
        Assert.Equal(System.Net.Sockets.AddressFamily.InterNetwork, chosen.AddressFamily);
    }

    [Fact]
    public async Task A_Silo_Advertises_The_Configured_Address_And_Clients_Reach_It_There()
    {
        await using var cluster = new TestCluster(redis, "listen");
        var silo = await cluster.StartSiloAsync("loopback", compute: false, slots: 0, configure: o => o.AdvertisedAddress = "127.0.0.1");
        var address = silo.Services.GetRequiredService<ILocalSiloDetails>();
        Assert.Equal(IPAddress.Loopback, address.SiloAddress.Endpoint.Address);
        Assert.Equal(IPAddress.Loopback, address.GatewayAddress!.Endpoint.Address);
        var client = await cluster.ConnectAsync();
        var hosts = await client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.Equal([IPAddress.Loopback], hosts.Keys.Select(h => h.Endpoint.Address));
    }

    /// <summary>The real silo program in a network namespace that has only a loopback interface, with its own
    /// redis-server there: it must start and answer /health/ready (the old one aborted at start).</summary>
    [Fact]
    public async Task The_Silo_Program_Starts_On_A_Host_With_Only_Loopback()
    {
        var dll = typeof(SiloHost).Assembly.Location;
        var root = Directory.CreateTempSubdirectory("uniclift-loopback-only-").FullName;
        var log = Path.Combine(root, "silo.log");
        var script = Path.Combine(root, "run.sh");
        // Ports inside the fresh namespace are all free; the numbers need only differ from each other.
        await File.WriteAllTextAsync(script, $$"""
            set -u
            ip link set lo up
            redis-server --port 16399 --save '' --appendonly no --daemonize yes --dir '{{root}}' >/dev/null
            for i in $(seq 1 50); do redis-cli -p 16399 ping >/dev/null 2>&1 && break; sleep 0.1; done
            dotnet '{{dll}}' --urls=http://127.0.0.1:18080 --UniCLift:Clustering=redis --UniCLift:Redis=127.0.0.1:16399 \
              --UniCLift:SiloPort=21111 --UniCLift:GatewayPort=23000 --UniCLift:Compute=false --UniCLift:TrainingSlots=0 \
              '--UniCLift:SceneRoots={{root}}' '--UniCLift:OutputRoots={{root}}' '--UniCLift:CheckpointDirectory={{root}}/ckpt' >'{{log}}' 2>&1 &
            pid=$!
            status=timeout
            for i in $(seq 1 120); do
              if ! kill -0 $pid 2>/dev/null; then wait $pid; status="exited $?"; break; fi
              if exec 3<>/dev/tcp/127.0.0.1/18080; then
                printf 'GET /health/ready HTTP/1.0\r\n\r\n' >&3
                line=$(head -1 <&3); exec 3>&-
                case "$line" in *" 200 "*) status=ready; break;; esac
              fi 2>/dev/null
              sleep 0.5
            done
            echo "silo: $status"
            ip -o addr show | awk '{print "address:", $4}'
            kill $pid 2>/dev/null; wait $pid 2>/dev/null
            redis-cli -p 16399 shutdown nosave >/dev/null 2>&1
            """);
        var psi = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        // As root a new network namespace is enough; otherwise a user namespace maps this user to root inside it.
        foreach (var a in Environment.UserName == "root" ? new[] { "--net" } : ["--net", "--map-root-user"]) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("bash");
        psi.ArgumentList.Add(script);
        Process process;
        try { process = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("this test needs unshare(1) (util-linux) to make a network namespace with loopback only", e);
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        var siloLog = File.Exists(log) ? await File.ReadAllTextAsync(log) : "(no log)";
        try
        {
            Assert.True(process.ExitCode == 0, $"unshare failed ({process.ExitCode}): {output}");
            // The namespace really had loopback only, so the silo could not have picked another address.
            Assert.Equal(["address: 127.0.0.1/8"], output.Split('\n').Where(l => l.StartsWith("address:") && !l.Contains("::1")).ToArray());
            Assert.True(output.Contains("silo: ready"), $"{output}\nsilo log:\n{siloLog}");
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }
}
