namespace UniCLift.Cluster.Tests;

using System.Net;
using System.Net.Sockets;

internal static class TestPorts
{
    // Below Linux's ephemeral range (32768-60999 by default): a port handed out here is not also handed to some
    // process's outgoing connection between this check and the silo's bind, which a port-0 listener's port could be
    // (a child silo failed to start on "address already in use" that way under CI's load). Random, so the two test
    // assemblies that run side by side rarely meet; never the same port twice in this process.
    private const int First = 20000, Count = 12000;
    private static readonly HashSet<int> handedOut = new();

    /// <summary>A TCP port free on loopback right now, outside the ephemeral range, not handed out before in this process.</summary>
    public static int Free()
    {
        lock (handedOut)
        {
            for (int attempt = 0; attempt < 1000; attempt++)
            {
                int port = First + Random.Shared.Next(Count);
                if (handedOut.Contains(port) || !Bindable(port)) continue;
                handedOut.Add(port);
                return port;
            }
        }
        throw new InvalidOperationException($"no free loopback port in {First}-{First + Count - 1} after 1000 tries");
    }

    private static bool Bindable(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException) { return false; }
    }
}
