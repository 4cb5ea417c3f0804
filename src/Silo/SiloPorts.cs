namespace UniCLift.Silo;

using System.Net;
using System.Net.Sockets;
using UniCLift.Compute;
using UniCLift.Grains.Hosting;

/// <summary>
/// The silo-to-silo and gateway ports, checked free before Orleans binds them. Orleans' listener sets ReuseAddress,
/// which .NET maps on Linux to SO_REUSEPORT as well, so a second silo given a port another one already listens on bound
/// it too, started "Healthy", and the kernel shared the first silo's connections between the two processes.
/// </summary>
public static class SiloPorts
{
    /// <summary>Throws an <see cref="EnvironmentException"/> (exit code 1, one line naming the setting) when something
    /// listens on UniCLift:SiloPort or UniCLift:GatewayPort (the settings are checked well-formed before this).</summary>
    public static void EnsureFree(IConfiguration configuration)
    {
        var section = configuration.GetSection(UniCLiftSiloOptions.Section);
        var defaults = new UniCLiftSiloOptions();
        foreach (var (name, fallback) in new[] { (nameof(UniCLiftSiloOptions.SiloPort), defaults.SiloPort), (nameof(UniCLiftSiloOptions.GatewayPort), defaults.GatewayPort) })
        {
            int port = section[name] is { } v && int.TryParse(v, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int p) ? p : fallback;
            if (InUse(port))
                throw new EnvironmentException($"{UniCLiftSiloOptions.Section}:{name} {port} is in use: another silo or program listens on it; give this silo another port.");
        }
    }

    /// <summary>Whether a socket listens on <paramref name="port"/> (any address): a bind to the wildcard address with
    /// SO_REUSEADDR alone fails only then (a port left in TIME_WAIT by a silo that just stopped still binds).</summary>
    public static bool InUse(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (OperatingSystem.IsLinux()) probe.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Any, port));
            probe.Listen(1);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return true;
        }
    }
}
