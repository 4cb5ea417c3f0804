namespace UniCLift.Client.Viewer;

using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// `uniclift view`'s HTTP server (HttpListener: the client has no ASP.NET). Routes, GET only:
/// / (the page), /viewer.bundle.js, /licences.txt, /data/meta.json, /data/payload.bin (built once at start), and
/// /files/PATH: a file inside the result folder (labels.ply, overlays/...); a path that leaves the folder, or goes
/// through a symbolic link, is 403.
/// Binds to loopback unless told otherwise.
/// </summary>
public sealed class ViewerServer : IAsyncDisposable
{
    private readonly HttpListener listener = new();
    private readonly ViewerPayload data;
    private readonly byte[] page, bundle, licences, meta;
    private readonly string root;

    private ViewerServer(ViewerPayload data, string host, int port)
    {
        this.data = data;
        root = Path.TrimEndingDirectorySeparator(data.ResultDirectory) + Path.DirectorySeparatorChar;
        page = Encoding.UTF8.GetBytes(ViewerAssets.ServerPage(Path.GetFileName(data.ResultDirectory.TrimEnd('/'))));
        bundle = Encoding.UTF8.GetBytes(ViewerAssets.Bundle);
        licences = Encoding.UTF8.GetBytes(ViewerAssets.Licences);
        meta = Encoding.UTF8.GetBytes(data.MetaJson);
        Port = port;
        Host = host;
        // HttpListener's wildcard is "+"; 0.0.0.0 / * mean every interface.
        var prefixHost = host is "0.0.0.0" or "*" or "+" ? "+" : host.Contains(':') && !host.StartsWith('[') ? $"[{host}]" : host;
        listener.Prefixes.Add($"http://{prefixHost}:{port}/");
        // http://localhost:PORT sends Host "localhost:PORT", which HttpListener matches only against a "localhost" prefix.
        // Its managed implementation binds that prefix to Dns.GetHostAddresses("localhost")[0]: added only when that is
        // the 127.0.0.1 this server listens on, so it shares the socket (::1 first would bind a second, unprobed socket).
        if (host == "127.0.0.1" && LocalhostIsIpv4Loopback()) listener.Prefixes.Add($"http://localhost:{port}/");
    }

    internal static bool LocalhostIsIpv4Loopback()
    {
        try { return Dns.GetHostAddresses("localhost") is [var first, ..] && first.Equals(IPAddress.Loopback); }
        catch (System.Net.Sockets.SocketException) { return false; }
    }

    public string Host { get; }
    public int Port { get; }

    /// <summary>The address to open (for a wildcard host: the loopback one).</summary>
    public string Url => $"http://{(Host is "0.0.0.0" or "*" or "+" ? "127.0.0.1" : Host.Contains(':') && !Host.StartsWith('[') ? $"[{Host}]" : Host)}:{Port}/";

    /// <summary>Starts serving <paramref name="data"/>; port 0 picks a free one. A port in use is an ArgumentException naming it.</summary>
    public static ViewerServer Start(ViewerPayload data, string host = "127.0.0.1", int port = 0)
    {
        if (port is < 0 or > 65535) throw new ArgumentException($"--port {port}: expected 0 (any free port) to 65535.");
        if (string.IsNullOrWhiteSpace(host)) throw new ArgumentException("--host is empty.");
        CheckHost(host);
        int chosen;
        try { chosen = port == 0 ? FreePort(host) : port; }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            throw new ArgumentException($"--host {host} is not an address of this machine ({e.Message}); {HostHint}.", e);
        }
        var server = new ViewerServer(data, host, chosen);
        try { server.listener.Start(); }
        catch (HttpListenerException e)
        {
            server.listener.Close();
            // A port another program holds is the environment, not the user's input (exit 1, as for the silo's ports).
            if (e.ErrorCode is (int)SocketError.AddressAlreadyInUse or LinuxAddressInUse || PortTaken(host, server.Port))
                throw new Compute.EnvironmentException($"cannot listen on {host}:{server.Port}: the port is in use; choose another --port (0: any free one).", e);
            throw new ArgumentException($"cannot listen on {host}:{server.Port} ({e.Message}); choose another --port or --host.", e);
        }
        server.loop = Task.Run(server.AcceptLoop);
        return server;
    }

    private const int LinuxAddressInUse = 98; // EADDRINUSE

    private const string HostHint = "give one of its IP addresses, 127.0.0.1 (the default: this machine only) or 0.0.0.0 (every interface)";

    /// <summary>A host that is neither an IP address, a wildcard nor a name that resolves: one line naming it (HttpListener
    /// said "The request is not supported").</summary>
    private static void CheckHost(string host)
    {
        if (host is "0.0.0.0" or "*" or "+" || IPAddress.TryParse(host.Trim('[', ']'), out _)) return;
        try { if (Dns.GetHostAddresses(host).Length > 0) return; }
        catch (Exception e) when (e is SocketException or ArgumentException) { }
        throw new ArgumentException($"--host {host} is neither an IP address nor a name this machine resolves; {HostHint}.");
    }

    private static IPAddress ProbeAddress(string host) =>
        host is "0.0.0.0" or "*" or "+" ? IPAddress.Any : IPAddress.TryParse(host.Trim('[', ']'), out var a) ? a : IPAddress.Loopback;

    private static int FreePort(string host)
    {
        using var probe = new TcpListener(ProbeAddress(host), 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>True when something already listens on <paramref name="port"/> (another program, or another listener in
    /// this process: HttpListener reports that one as a conflicting registration, not as the socket's error).</summary>
    private static bool PortTaken(string host, int port)
    {
        try
        {
            using var probe = new TcpListener(ProbeAddress(host), port);
            probe.Start();
            return false;
        }
        catch (SocketException e) { return e.SocketErrorCode == SocketError.AddressAlreadyInUse; }
    }

    /// <summary>True when a Host header names this loopback server: its own address (as <see cref="Url"/> spells it) or
    /// localhost, any case, with its port (HTTP's 80 when the header names none). Another name, a name that merely starts
    /// with the address (127.0.0.1.evil.example), user info or another port is not its own.</summary>
    internal bool IsOwnHost(string? header)
    {
        if (string.IsNullOrEmpty(header) || header.AsSpan().IndexOfAny("/?#@\\ ") >= 0) return false;
        if (!Uri.TryCreate("http://" + header + "/", UriKind.Absolute, out var named) || named.Port != Port) return false;
        return named.Host.Equals(new Uri(Url).Host, StringComparison.OrdinalIgnoreCase) || named.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether http://localhost:PORT reaches this server: it listens on 127.0.0.1 and "localhost" resolves
    /// there first (<see cref="LocalhostIsIpv4Loopback"/>).</summary>
    public bool ServesLocalhost => listener.Prefixes.Any(p => p.StartsWith("http://localhost:", StringComparison.Ordinal));

    /// <summary>True for 127.0.0.0/8, ::1 and "localhost".</summary>
    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host.Trim('[', ']'), out var a) && IPAddress.IsLoopback(a));

    private Task loop = Task.CompletedTask;

    private async Task AcceptLoop()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => Handle(context));
        }
    }

    private async Task Handle(HttpListenerContext context)
    {
        var response = context.Response;
        FileStream? file = null;
        try
        {
            int status;
            string type;
            byte[] body;
            try
            {
                (status, type, body, var path) = Route(context.Request);
                // A file is streamed, not read whole: a result's PLY may be larger than one array, and HEAD reads nothing.
                if (path is not null) file = OpenFile(path, out status, out type, out body);
            }
            catch (Exception e)
            {
                // Whatever a request makes go wrong is answered as such, never as a 200 with nothing in it.
                (status, type, body, _) = Text(500, $"internal error: {e.GetType().Name}: {e.Message}\n");
            }
            response.StatusCode = status;
            response.ContentType = type;
            response.Headers["Cache-Control"] = "no-store";
            response.Headers["X-Content-Type-Options"] = "nosniff";
            if (status == 405) response.Headers["Allow"] = "GET, HEAD";
            response.ContentLength64 = file?.Length ?? body.Length;
            if (context.Request.HttpMethod != "HEAD")
            {
                if (file is not null) await file.CopyToAsync(response.OutputStream);
                else await response.OutputStream.WriteAsync(body);
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // The browser went away mid-response (or the file did): nothing to do.
        }
        finally
        {
            file?.Dispose();
            try { response.Close(); } catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { }
        }
    }

    /// <summary>Opens a file that <see cref="Route"/> found inside the result folder; what cannot be read becomes its status
    /// (never a 200 with nothing in it).</summary>
    private FileStream? OpenFile(string full, out int status, out string type, out byte[] body)
    {
        var relative = full[root.Length..];
        try
        {
            // DataFile refuses a named pipe (or any file that cannot seek), whose read would hold this request for ever.
            var stream = Compute.IO.DataFile.OpenRead(full, bufferSize: 1 << 16);
            (status, type, body) = (200, ContentType(full), []);
            return stream;
        }
        catch (InvalidDataException) { (status, type, body, _) = Text(403, $"refused: {relative} is not a regular file\n"); }
        catch (UnauthorizedAccessException) { (status, type, body, _) = Text(403, $"refused: {relative} is not readable\n"); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { (status, type, body, _) = Text(404, $"not found: {relative}\n"); }
        catch (IOException e) { (status, type, body, _) = Text(500, $"cannot read {relative}: {e.GetType().Name}\n"); }
        return null;
    }

    private static string ContentType(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => "image/png", ".json" => "application/json", ".html" => "text/html; charset=utf-8", ".txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };

    /// <summary>The response for <paramref name="request"/>: a body, or (Path set) a file inside the result folder to stream.</summary>
    private (int Status, string Type, byte[] Body, string? Path) Route(HttpListenerRequest request)
    {
        if (request.HttpMethod is not ("GET" or "HEAD")) return Text(405, "only GET and HEAD\n");
        // Served on loopback, a request naming another host is a page whose name was made to resolve to this machine
        // (DNS rebinding) reading the result: refused here, as Jupyter does, rather than left to HttpListener's prefix
        // match (a request in absolute form passes that by its URI, whatever its Host header says).
        if (IsLoopback(Host) && !IsOwnHost(request.Headers["Host"]))
            return Text(403, "refused: this viewer serves only requests to its own loopback address\n");
        var path = request.Url?.AbsolutePath ?? "/";
        switch (path)
        {
            case "/" or "/index.html": return (200, "text/html; charset=utf-8", page, null);
            case "/viewer.bundle.js": return (200, "text/javascript; charset=utf-8", bundle, null);
            case "/licences.txt": return (200, "text/plain; charset=utf-8", licences, null);
            case "/data/meta.json": return (200, "application/json", meta, null);
            case "/data/payload.bin": return (200, "application/octet-stream", data.Payload, null);
            case "/favicon.ico": return (204, "image/x-icon", [], null);
        }
        if (path.StartsWith("/files/", StringComparison.Ordinal))
        {
            var relative = Uri.UnescapeDataString(path["/files/".Length..]);
            // A NUL is no file name (and Path.GetFullPath throws on one).
            if (relative.Contains('\0')) return Text(400, "bad request: a NUL in the path\n");
            var full = Path.GetFullPath(Path.Combine(root, relative));
            // Canonical path check: "..", absolute paths and encoded separators all end up outside the root here.
            if (!full.StartsWith(root, StringComparison.Ordinal))
                return Text(403, $"refused: {relative} is outside the result folder\n");
            if (!File.Exists(full)) return Text(404, $"not found: {relative}\n");
            if (ThroughLink(full)) return Text(403, $"refused: {relative} goes through a symbolic link\n");
            return (200, ContentType(full), [], full);
        }
        return Text(404, $"not found: {path}\n");
    }

    /// <summary>True when the file or a folder between the result folder and it is a symbolic link (which could lead
    /// outside the folder: only real files inside it are served).</summary>
    private bool ThroughLink(string full)
    {
        for (var p = full; p.Length > root.Length && p.StartsWith(root, StringComparison.Ordinal); p = Path.GetDirectoryName(p)!)
            if (new FileInfo(p).LinkTarget is not null) return true;
        return false;
    }

    private static (int, string, byte[], string?) Text(int status, string message) => (status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(message), null);

    public async ValueTask DisposeAsync()
    {
        // Close alone: Stop() then Close() unregisters the prefix twice, and the second time the managed HttpListener binds
        // the port again (HttpEndPointManager.GetEPListener) and removes whatever listener of this process now holds it.
        try { listener.Close(); } catch (ObjectDisposedException) { }
        await loop;
    }
}
