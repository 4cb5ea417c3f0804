namespace UniCLift.Cluster.Tests;

using System.Net;
using System.Net.Sockets;

internal static class TestPorts
{
    /// <summary>A TCP port free on loopback right now.</summary>
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
