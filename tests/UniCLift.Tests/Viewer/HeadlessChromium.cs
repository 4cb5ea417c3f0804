namespace UniCLift.Tests.Viewer;

using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

/// <summary>
/// A real headless Chromium driven over the Chrome DevTools Protocol (a WebSocket, System.Net.WebSockets): WebGL
/// through SwiftShader (no GPU here), one page target, its console messages and uncaught exceptions collected,
/// Runtime.evaluate, mouse events and screenshots. Fails (never skips) when chromium is not installed.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    private readonly Process process;
    private readonly ClientWebSocket socket = new();
    private readonly string profile;
    private readonly Dictionary<int, TaskCompletionSource<JsonObject>> pending = [];
    private readonly List<string> problems = [];
    private readonly List<string> console = [];
    private readonly CancellationTokenSource stop = new();
    private Task reader = Task.CompletedTask;
    private int nextId;
    private string? session;

    /// <summary>Console errors, uncaught exceptions and failed loads the page reported so far.</summary>
    public IReadOnlyList<string> Problems { get { lock (problems) return problems.ToList(); } }

    /// <summary>Every console message so far ("type: text").</summary>
    public IReadOnlyList<string> Console { get { lock (problems) return console.ToList(); } }

    private HeadlessChromium(Process process, string profile)
    {
        this.process = process;
        this.profile = profile;
    }

    public static string Executable() =>
        new[] { "chromium", "chromium-browser", "google-chrome" }
            .Select(n => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(p => Path.Combine(p, n)).FirstOrDefault(File.Exists))
            .FirstOrDefault(p => p is not null)
        ?? throw new Xunit.Sdk.XunitException("chromium is not installed: `apt-get install -y chromium` (build/test.sh does; the viewer tests need a real headless browser).");

    /// <summary>Starts Chromium (window <paramref name="width"/> x <paramref name="height"/>) with one blank page attached.</summary>
    public static async Task<HeadlessChromium> StartAsync(int width = 1200, int height = 800)
    {
        var profile = Directory.CreateTempSubdirectory("uniclift-chrome-").FullName;
        var psi = new ProcessStartInfo(Executable()) { RedirectStandardError = true, RedirectStandardOutput = true };
        // Chromium keeps its singleton socket in a directory of its own under TMPDIR, removed only on a clean exit;
        // Dispose kills it, so that directory goes inside the profile, which Dispose deletes.
        psi.Environment["TMPDIR"] = profile;
        foreach (var a in new[]
                 {
                     "--headless=new", "--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                     "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--disable-quic", "--remote-debugging-port=0", "--user-data-dir=" + profile,
                     $"--window-size={width},{height}", "about:blank",
                 })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var chrome = new HeadlessChromium(p, profile);
        try
        {
            // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr.
            var endpoint = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var stderr = new StringBuilder();
            _ = Task.Run(async () =>
            {
                while (await p.StandardError.ReadLineAsync() is { } line)
                {
                    lock (stderr) stderr.AppendLine(line);
                    if (DevToolsLine().Match(line) is { Success: true } m) endpoint.TrySetResult(m.Groups[1].Value);
                }
                endpoint.TrySetException(new Xunit.Sdk.XunitException($"chromium exited before its DevTools endpoint was up: {stderr}"));
            });
            _ = p.StandardOutput.ReadToEndAsync();
            // Generous: on a loaded 2-core machine a cold headless start has taken over a minute.
            var url = await endpoint.Task.WaitAsync(TimeSpan.FromSeconds(120));
            await chrome.socket.ConnectAsync(new Uri(url), CancellationToken.None);
            chrome.reader = Task.Run(chrome.ReadLoop);
            var target = await chrome.SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, browser: true);
            var attach = await chrome.SendAsync("Target.attachToTarget", new JsonObject { ["targetId"] = target["targetId"]!.GetValue<string>(), ["flatten"] = true }, browser: true);
            chrome.session = attach["sessionId"]!.GetValue<string>();
            await chrome.SendAsync("Runtime.enable");
            await chrome.SendAsync("Log.enable");
            await chrome.SendAsync("Page.enable");
            await chrome.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
            return chrome;
        }
        catch
        {
            await chrome.DisposeAsync();
            throw;
        }
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex DevToolsLine();

    public async Task NavigateAsync(string url)
    {
        var r = await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        if (r["errorText"] is { } e) throw new Xunit.Sdk.XunitException($"navigating to {url}: {e}");
    }

    /// <summary>Evaluates <paramref name="expression"/> in the page (awaiting a promise) and returns its value as JSON.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var r = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (r["exceptionDetails"] is JsonObject ex)
            throw new Xunit.Sdk.XunitException($"page threw evaluating `{expression}`: {ex["exception"]?["description"] ?? ex["text"]}");
        return r["result"]?["value"]?.DeepClone();
    }

    /// <summary>Polls <paramref name="expression"/> until it is true; fails with <paramref name="what"/> and the page's problems on timeout.</summary>
    public async Task WaitForAsync(string expression, string what, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            if ((await EvaluateAsync(expression))?.GetValue<bool>() == true) return;
            if (DateTime.UtcNow > until)
                throw new Xunit.Sdk.XunitException($"timed out after {timeout.TotalSeconds:F0} s waiting for {what}; page problems: [{string.Join("; ", Problems)}]; console: [{string.Join("; ", Console)}]");
            await Task.Delay(200);
        }
    }

    /// <summary>A left click (press and release) at CSS pixel (x, y), with shift held when asked.</summary>
    public async Task ClickAsync(double x, double y, bool shift = false)
    {
        int modifiers = shift ? 8 : 0;
        await SendAsync("Input.dispatchMouseEvent", new JsonObject { ["type"] = "mouseMoved", ["x"] = x, ["y"] = y });
        await SendAsync("Input.dispatchMouseEvent", new JsonObject { ["type"] = "mousePressed", ["x"] = x, ["y"] = y, ["button"] = "left", ["clickCount"] = 1, ["modifiers"] = modifiers });
        await SendAsync("Input.dispatchMouseEvent", new JsonObject { ["type"] = "mouseReleased", ["x"] = x, ["y"] = y, ["button"] = "left", ["clickCount"] = 1, ["modifiers"] = modifiers });
    }

    /// <summary>A PNG of the viewport.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var r = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(r["data"]!.GetValue<string>());
    }

    private async Task<JsonObject> SendAsync(string method, JsonObject? parameters = null, bool browser = false)
    {
        int id = Interlocked.Increment(ref nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        if (!browser && session is not null) message["sessionId"] = session;
        var done = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (pending) pending[id] = done;
        await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        var reply = await done.Task.WaitAsync(TimeSpan.FromSeconds(120));
        if (reply["error"] is JsonObject error) throw new Xunit.Sdk.XunitException($"CDP {method} failed: {error.ToJsonString()}");
        return reply["result"] as JsonObject ?? new JsonObject();
    }

    private async Task ReadLoop()
    {
        var buffer = new byte[1 << 16];
        var text = new MemoryStream();
        try
        {
            while (!stop.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                var r = await socket.ReceiveAsync(buffer, stop.Token);
                if (r.MessageType == WebSocketMessageType.Close) break;
                text.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                var message = JsonNode.Parse(text.GetBuffer().AsSpan(0, (int)text.Length))!.AsObject();
                text.SetLength(0);
                if (message["id"] is { } id)
                {
                    TaskCompletionSource<JsonObject>? waiter;
                    lock (pending) pending.Remove(id.GetValue<int>(), out waiter);
                    waiter?.TrySetResult(message);
                }
                else Observe(message["method"]?.GetValue<string>(), message["params"] as JsonObject);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        lock (pending)
            foreach (var w in pending.Values) w.TrySetException(new Xunit.Sdk.XunitException("chromium's DevTools connection closed"));
    }

    private void Observe(string? method, JsonObject? p)
    {
        if (p is null) return;
        lock (problems)
        {
            switch (method)
            {
                case "Runtime.consoleAPICalled":
                    var type = p["type"]?.GetValue<string>();
                    var args = string.Join(" ", (p["args"] as JsonArray ?? []).Select(a => a?["value"]?.ToString() ?? a?["description"]?.ToString() ?? ""));
                    console.Add($"{type}: {args}");
                    if (type is "error" or "assert") problems.Add($"console.{type}: {args}");
                    break;
                case "Runtime.exceptionThrown":
                    var d = p["exceptionDetails"];
                    problems.Add($"uncaught: {d?["exception"]?["description"] ?? d?["text"]}");
                    break;
                case "Log.entryAdded":
                    var entry = p["entry"];
                    if (entry?["level"]?.GetValue<string>() == "error") problems.Add($"log ({entry["source"]}): {entry["text"]} {entry["url"]}");
                    break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        try { if (socket.State == WebSocketState.Open) socket.Abort(); } catch (WebSocketException) { }
        try { await reader.WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception e) when (e is TimeoutException or OperationCanceledException) { }
        socket.Dispose();
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
        process.Dispose();
        try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
