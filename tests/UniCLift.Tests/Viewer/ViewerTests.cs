namespace UniCLift.Tests.Viewer;

using System.Buffers.Binary;
using System.Net;
using System.Text.Json.Nodes;
using UniCLift.Client.Viewer;
using UniCLift.Compute.Export;
using UniCLift.Compute.IO;
using UniCLift.Tests.IO;

/// <summary>The viewer's data, server and CLI errors, without a browser (ViewerBrowserTests has the browser).</summary>
public class ViewerTests
{
    [Fact]
    public void Payload_RowsInstancesAndCamerasMatchTheResult()
    {
        using var dir = new TempDir();
        var made = ViewerResult.Write(dir.Path);
        var data = ViewerPayload.Build(made.Result);
        int n = made.Cloud.Count;
        Assert.Equal((n, n), (data.Total, data.Shown));
        Assert.Equal(n * 36, data.Payload.Length);
        Assert.Null(data.Note);
        foreach (int i in new[] { 0, n / 2, n - 1 })
        {
            var row = data.Payload.AsSpan(i * 32, 32);
            for (int k = 0; k < 3; k++)
            {
                Assert.Equal(made.Cloud.Means[i * 3 + k], BinaryPrimitives.ReadSingleLittleEndian(row.Slice(k * 4)));
                Assert.Equal(0.06f, BinaryPrimitives.ReadSingleLittleEndian(row.Slice(12 + k * 4)), 1e-5f);
                double colour = (0.5 + ViewerResult.ShC0 * made.Cloud.ShDc[i * 3 + k]) * 255;
                Assert.InRange(row[24 + k], colour - 1, colour + 1);
            }
            Assert.Equal((byte)Math.Round(255 / (1 + Math.Exp(-3))), row[27]);
            Assert.Equal(new byte[] { 255, 128, 128, 128 }, row[28..32].ToArray()); // identity quaternion, w first (clamped)
            Assert.Equal((int)made.Cloud.Extra["instance"][i], BinaryPrimitives.ReadInt32LittleEndian(data.Payload.AsSpan(n * 32 + i * 4)));
        }
        // The list is export --list's, and counts are the labels.ply's.
        var list = ResultExport.ListInstances(made.Result);
        Assert.Equal(list.Select(s => (s.Id, s.Gaussians)), data.Instances.Select(s => (s.Id, s.Gaussians)));
        Assert.Equal(made.Counts.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)), data.Instances.Select(s => (s.Id, s.Gaussians)));
        var meta = JsonNode.Parse(data.MetaJson)!;
        Assert.Equal(made.TrainViews, meta["cameras"]!.AsArray().Count);
        Assert.Equal(16, meta["cameras"]![0]!["c2w"]!.AsArray().Count);

        // Capped: evenly subsampled, every instance id still from the cloud, and a note that says so.
        var small = ViewerPayload.Build(made.Result, 100);
        Assert.Equal((n, 100, 100 * 36), (small.Total, small.Shown, small.Payload.Length));
        Assert.Contains("showing 100 of", small.Note);
        Assert.Equal(data.Instances.Count, small.Instances.Count); // the list still counts the whole cloud
    }

    [Fact]
    public void Payload_FallsBackToModelPly_AndNamesLabelsPlyWhenNeitherExists()
    {
        using var dir = new TempDir();
        var made = ViewerResult.Write(dir.Path);
        var cloud = made.Cloud;
        var labels = Path.Combine(made.Result, "labels.ply");
        GaussianPly.Write(Path.Combine(made.Result, "model.ply"), new GaussianCloud
        {
            Count = cloud.Count, Means = cloud.Means, Normals = cloud.Normals, ShDc = cloud.ShDc, ShRest = [], ShDegree = 0,
            Opacity = cloud.Opacity, LogScales = cloud.LogScales, Rotations = cloud.Rotations,
        });
        File.Delete(labels);
        var data = ViewerPayload.Build(made.Result);
        Assert.Equal("model.ply", Path.GetFileName(data.Source));
        Assert.Equal([(0, cloud.Count)], data.Instances.Select(s => (s.Id, s.Gaussians)));
        Assert.Contains("labels.ply", data.Note);

        File.Delete(Path.Combine(made.Result, "model.ply"));
        var e = Assert.Throws<FileNotFoundException>(() => ViewerPayload.Build(made.Result));
        Assert.Contains(labels, e.Message);

        // The CLI: one line naming the file, exit code 2, no server started.
        var err = new StringWriter();
        int code = UniCLift.Client.Cli.Build().Parse(["view", made.Result, "--port", "0"])
            .Invoke(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = err });
        Assert.Equal(2, code);
        Assert.Contains(labels, err.ToString());
        Assert.Single(err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Server_ServesThePageBundleAndData_AndRefusesPathsOutsideTheResult()
    {
        using var dir = new TempDir();
        var made = ViewerResult.Write(dir.Path);
        File.WriteAllText(Path.Combine(dir.Path, "secret.txt"), "not yours");
        var data = ViewerPayload.Build(made.Result);
        await using var server = ViewerServer.Start(data, "127.0.0.1", 0);
        Assert.StartsWith("http://127.0.0.1:", server.Url);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };

        var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("viewer.bundle.js", await page.Content.ReadAsStringAsync());
        var bundle = await http.GetAsync("/viewer.bundle.js");
        Assert.Equal("text/javascript", bundle.Content.Headers.ContentType?.MediaType);
        Assert.Contains("UniCLiftViewer", await bundle.Content.ReadAsStringAsync());
        Assert.Equal(data.MetaJson, await http.GetStringAsync("/data/meta.json"));
        Assert.Equal(data.Payload, await http.GetByteArrayAsync("/data/payload.bin"));
        Assert.Contains("@mkkellogg/gaussian-splats-3d", await http.GetStringAsync("/licences.txt"));
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(made.Result, "labels.ply")), await http.GetByteArrayAsync("/files/labels.ply"));

        // Nothing outside the result folder, however the path is spelled.
        foreach (var escape in new[] { "/files/..%2Fsecret.txt", "/files/%2e%2e/secret.txt", "/files/%2Fetc%2Fpasswd", "/files/..%2F..%2F..%2Fetc%2Fpasswd" })
        {
            var r = await http.GetAsync(escape);
            Assert.True(r.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound, $"{escape}: {r.StatusCode}");
            Assert.DoesNotContain("not yours", await r.Content.ReadAsStringAsync());
            Assert.DoesNotContain("root:", await r.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/files/..%2Fsecret.txt")).StatusCode);
        // A symbolic link inside the folder that points out of it is refused too.
        File.CreateSymbolicLink(Path.Combine(made.Result, "link.txt"), Path.Combine(dir.Path, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(made.Result, "up"), dir.Path);
        foreach (var link in new[] { "/files/link.txt", "/files/up/secret.txt" })
        {
            var r = await http.GetAsync(link);
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
            Assert.DoesNotContain("not yours", await r.Content.ReadAsStringAsync());
        }
        // A named pipe in the folder is refused at once, not read until a writer comes.
        UniCLift.Tests.IO.NamedPipe.Make(Path.Combine(made.Result, "pipe.png"));
        using (var quick = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
            Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/files/pipe.png", quick.Token)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/nothing")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync("/", new StringContent(""))).StatusCode);

        // A port in use: an error naming it (the environment's: exit 1; ViewerServerEdgeTests has the CLI).
        var e = Assert.Throws<UniCLift.Compute.EnvironmentException>(() => ViewerServer.Start(data, "127.0.0.1", server.Port));
        Assert.Contains(server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }

    [Fact]
    public void ScriptSafe_NeverClosesTheScriptElement()
    {
        var js = "var a = '</script><b>'; var b = \"</SCRIPT >\";";
        var safe = ViewerAssets.ScriptSafe(js);
        Assert.DoesNotContain("</script", safe, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("</script", ViewerAssets.InlineBundle()[8..^10], StringComparison.OrdinalIgnoreCase);
    }
}
