namespace UniCLift.Cluster.Tests.Ops;

using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using UniCLift.Grains.Hosting;
using UniCLift.Silo;
using UniCLift.Silo.Telemetry;
using static Manifests;

/// <summary>Consistency of k8s/ and docker/ without a cluster or a kustomize binary.</summary>
public sealed class K8sManifestTests
{
    public static TheoryData<string> Kustomizations => new() { "base", "overlays/gpu", "overlays/cpu-dev" };

    private static List<Dictionary<string, object?>> RenderOf(string dir) => Render(RepoPaths.Of("k8s", dir));

    private static readonly HashSet<string> OptionNames =
        typeof(UniCLiftSiloOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);

    private static bool IsSilo(Dictionary<string, object?> c) => Str(c, "image")!.StartsWith("uniclift/silo", StringComparison.Ordinal);

    private static Dictionary<string, Dictionary<string, object?>> Env(Dictionary<string, object?> c) =>
        List(c, "env").OfType<Dictionary<string, object?>>().ToDictionary(e => Str(e, "name")!);

    private static int Port(Dictionary<string, object?> container, object? port)
    {
        var ports = List(container, "ports").OfType<Dictionary<string, object?>>().ToList();
        var text = port?.ToString();
        var match = ports.FirstOrDefault(p => Str(p, "name") == text || Str(p, "containerPort") == text);
        Assert.True(match is not null, $"container {Str(container, "name")}: port '{text}' is not one of its container ports");
        return int.Parse(Str(match, "containerPort")!);
    }

    [Fact]
    public void EveryYamlFileParses()
    {
        var files = Directory.EnumerateFiles(RepoPaths.Of("k8s"), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml") || f.EndsWith(".yml")).ToList();
        Assert.True(files.Count >= 10, $"only {files.Count} YAML files under k8s/");
        foreach (var f in files) Assert.NotEmpty(ParseAll(f)); // throws InvalidDataException naming the file
        Assert.Contains(files, f => ParseAll(f).Count > 1); // multi-document files are read whole
    }

    [Fact]
    public void OverlaysBuildOnTheBase()
    {
        foreach (var overlay in new[] { "gpu", "cpu-dev" })
        {
            var k = LoadDocuments(RepoPaths.Of("k8s", "overlays", overlay, "kustomization.yaml")).Single();
            Assert.Contains("../../base", List(k, "resources").Cast<string>());
        }
    }

    [Theory, MemberData(nameof(Kustomizations))]
    public void SelectorsMatchPodLabels(string dir)
    {
        var resources = RenderOf(dir);
        var templates = Workloads(resources).ToList();
        Assert.NotEmpty(templates);
        foreach (var (w, t) in templates)
        {
            var selector = Labels(At(w, "spec", "selector", "matchLabels"));
            var labels = Labels(At(t, "metadata", "labels"));
            Assert.True(selector.Count > 0 || Kind(w) == "Job", $"{Kind(w)}/{Name(w)} has no selector");
            foreach (var (key, value) in selector)
                Assert.True(labels.GetValueOrDefault(key) == value, $"{Kind(w)}/{Name(w)}: selector {key}={value} not on its pod template");
        }
        foreach (var r in resources.Where(r => Kind(r) is "Service" or "PodDisruptionBudget"))
        {
            var selector = Labels(Kind(r) == "Service" ? At(r, "spec", "selector") : At(r, "spec", "selector", "matchLabels"));
            Assert.True(selector.Count > 0, $"{Kind(r)}/{Name(r)} selects nothing");
            var selected = templates.Where(x => selector.All(s => Labels(At(x.Template, "metadata", "labels")).GetValueOrDefault(s.Key) == s.Value)).ToList();
            Assert.True(selected.Count > 0, $"{Kind(r)}/{Name(r)}: no pod template carries {string.Join(",", selector.Select(s => $"{s.Key}={s.Value}"))}");
            if (Kind(r) != "Service") continue;
            foreach (var p in List(r, "spec", "ports").OfType<Dictionary<string, object?>>())
                foreach (var (w, t) in selected)
                    Assert.True(Containers(t).Any(c => List(c, "ports").OfType<Dictionary<string, object?>>()
                            .Any(cp => Str(cp, "name") == Str(p, "targetPort") || Str(cp, "containerPort") == (Str(p, "targetPort") ?? Str(p, "port")))),
                        $"{dir}: Service/{Name(r)} port {Str(p, "name")} targets '{Str(p, "targetPort")}', which {Kind(w)}/{Name(w)} does not expose");
        }
    }

    [Theory, MemberData(nameof(Kustomizations))]
    public void SiloPodsAreConfiguredConsistently(string dir)
    {
        var resources = RenderOf(dir);
        var services = resources.Where(r => Kind(r) == "Service").ToList();
        var claims = resources.Where(r => Kind(r) == "PersistentVolumeClaim").Select(Name).ToHashSet();
        var silos = Workloads(resources).Where(x => Containers(x.Template).Any(IsSilo)).ToList();
        Assert.Equal(2, silos.Count); // compute and control
        var computeFlags = new List<string?>();
        foreach (var (w, t) in silos)
        {
            var where = $"{dir}: {Kind(w)}/{Name(w)}";
            var c = Containers(t).Single(IsSilo);
            var env = Env(c);

            // Only names the silo reads: UniCLiftSiloOptions properties, the TLS files (ClusterTlsFiles), silo metadata,
            // Kubernetes hosting, Kestrel, .NET's CA directory, or names other values refer to as $(NAME).
            var referenced = env.Values.SelectMany(e => Regex.Matches(Str(e, "value") ?? "", @"\$\(([A-Za-z_][A-Za-z0-9_]*)\)").Select(m => m.Groups[1].Value)).ToHashSet();
            foreach (var name in env.Keys)
            {
                var known = name.StartsWith("UniCLift__Tls__", StringComparison.Ordinal) ? name["UniCLift__Tls__".Length..] is "Certificate" or "Key" or "CaCertificate"
                    : name.StartsWith("UniCLift__", StringComparison.Ordinal) ? OptionNames.Contains(name["UniCLift__".Length..])
                    : name.StartsWith("ORLEANS__METADATA__", StringComparison.Ordinal) || name is "POD_NAME" or "POD_NAMESPACE" or "POD_IP" or "ASPNETCORE_URLS" or "SSL_CERT_DIR"
                        || referenced.Contains(name);
                Assert.True(known, $"{where}: env {name} is read by nothing in the silo");
            }
            // A $(NAME) is expanded only when NAME comes earlier in the list; otherwise the silo gets the text "$(NAME)".
            var names = env.Keys.ToList();
            foreach (var (name, e) in env)
                foreach (Match m in Regex.Matches(Str(e, "value") ?? "", @"\$\(([A-Za-z_][A-Za-z0-9_]*)\)"))
                    Assert.True(names.IndexOf(m.Groups[1].Value) is >= 0 and var i && i < names.IndexOf(name), $"{where}: env {name} refers to $({m.Groups[1].Value}), which is not defined before it");
            string? Value(string name) => env.TryGetValue(name, out var e) ? Str(e, "value") : null;
            string? FieldRef(string name) => env.TryGetValue(name, out var e) ? Str(e, "valueFrom", "fieldRef", "fieldPath") : null;
            computeFlags.Add(Value("UniCLift__Compute"));

            // Clustering through the in-cluster Redis service, over TLS, with the password from its Secret.
            Assert.Equal("redis", Value("UniCLift__Clustering"));
            var redis = StackExchange.Redis.ConfigurationOptions.Parse(Value("UniCLift__Redis")!);
            var endpoint = Assert.IsType<System.Net.DnsEndPoint>(Assert.Single(redis.EndPoints));
            Assert.Contains(services, s => Name(s) == endpoint.Host && List(s, "spec", "ports").OfType<Dictionary<string, object?>>().Any(p => Str(p, "port") == endpoint.Port.ToString()));
            Assert.True(redis.Ssl, $"{where}: UniCLift__Redis has no ssl=true");
            Assert.Equal("$(REDIS_PASSWORD)", redis.Password);
            Assert.Equal("uniclift-redis", Str(env["REDIS_PASSWORD"], "valueFrom", "secretKeyRef", "name"));
            Assert.Contains("/etc/uniclift/redis-ca", Value("SSL_CERT_DIR")!.Split(':'));

            // Orleans Kubernetes hosting: labels and downward API.
            var labels = Labels(At(t, "metadata", "labels"));
            Assert.False(string.IsNullOrEmpty(labels.GetValueOrDefault("orleans/serviceId")), $"{where}: no orleans/serviceId label");
            Assert.False(string.IsNullOrEmpty(labels.GetValueOrDefault("orleans/clusterId")), $"{where}: no orleans/clusterId label");
            Assert.Equal("metadata.name", FieldRef("POD_NAME"));
            Assert.Equal("metadata.namespace", FieldRef("POD_NAMESPACE"));
            Assert.Equal("status.podIP", FieldRef("POD_IP"));
            Assert.Equal("metadata.labels['orleans/serviceId']", FieldRef("UniCLift__ServiceId"));
            Assert.Equal("metadata.labels['orleans/clusterId']", FieldRef("UniCLift__ClusterId"));
            // These pod variables switch the silo to Orleans Kubernetes hosting (beside Redis clustering).
            var k8sFlag = Value("UniCLift__Kubernetes") is { } flag ? bool.Parse(flag) : (bool?)null;
            Assert.True(KubernetesHosting.UseKubernetes(new UniCLiftSiloOptions { Kubernetes = k8sFlag }, n => env.ContainsKey(n) ? "set" : null),
                $"{where}: the silo would not use Kubernetes hosting with this env");
            var sa = Str(t, "spec", "serviceAccountName");
            Assert.Contains(resources, r => Kind(r) == "ServiceAccount" && Name(r) == sa);
            var binding = resources.Single(r => Kind(r) == "RoleBinding" && List(r, "subjects").OfType<Dictionary<string, object?>>().Any(s => Str(s, "name") == sa));
            var role = resources.Single(r => Kind(r) == "Role" && Name(r) == Str(binding, "roleRef", "name"));
            var verbs = List(role, "rules").OfType<Dictionary<string, object?>>()
                .Where(rule => List(rule, "resources").Contains("pods")).SelectMany(rule => List(rule, "verbs").Cast<string>()).ToHashSet();
            Assert.Superset(new HashSet<string> { "get", "list", "watch", "patch" }, verbs);

            // Ports: silo and gateway as configured; HTTP on 8080 for probes and scraping.
            Assert.Equal(int.Parse(Value("UniCLift__SiloPort")!), Port(c, "silo"));
            Assert.Equal(int.Parse(Value("UniCLift__GatewayPort")!), Port(c, "gateway"));
            var http = Port(c, "http");
            Assert.Equal(8080, http);
            // HTTP on the pod's address and loopback only, not on every interface.
            Assert.Equal(new[] { $"http://$(POD_IP):{http}", $"http://127.0.0.1:{http}" }, Value("ASPNETCORE_URLS")!.Split(';'));
            Assert.Equal("/health/ready", Str(c, "readinessProbe", "httpGet", "path"));
            Assert.Equal("/health/live", Str(c, "livenessProbe", "httpGet", "path"));
            foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
                if (At(c, probe) is not null) Assert.Equal(http, Port(c, At(c, probe, "httpGet", "port")));
            var annotations = Labels(At(t, "metadata", "annotations"));
            Assert.Equal("true", annotations.GetValueOrDefault("prometheus.io/scrape"));
            Assert.Equal(http.ToString(), annotations.GetValueOrDefault("prometheus.io/port"));
            Assert.Equal(TelemetryExtensions.MetricsPath, annotations.GetValueOrDefault("prometheus.io/path"));

            // Graceful stop: Kubernetes waits longer than the host's own shutdown timeout.
            Assert.True(int.Parse(Str(t, "spec", "terminationGracePeriodSeconds")!) > SiloHost.ShutdownTimeout.TotalSeconds,
                $"{where}: terminationGracePeriodSeconds must exceed SiloHost.ShutdownTimeout ({SiloHost.ShutdownTimeout.TotalSeconds} s)");

            // Shared data volume holds the checkpoints.
            var mounts = List(c, "volumeMounts").OfType<Dictionary<string, object?>>().ToList();
            var data = mounts.Single(m => Str(m, "mountPath") == "/data");
            var volume = List(t, "spec", "volumes").OfType<Dictionary<string, object?>>().Single(v => Str(v, "name") == Str(data, "name"));
            Assert.Contains(Str(volume, "persistentVolumeClaim", "claimName") ?? "", claims);
            Assert.StartsWith("/data/", Value("UniCLift__CheckpointDirectory"));
            // Clients are confined to the volume's scene and result folders (the submit Job's), never the checkpoints.
            Assert.Equal("/data/scenes", Value("UniCLift__SceneRoots"));
            Assert.Equal("/data/results", Value("UniCLift__OutputRoots"));

            // GPU, device and image agree: a CUDA device needs a GPU limit and the CUDA image, one slot per GPU.
            var gpus = Str(c, "resources", "limits", "nvidia.com/gpu");
            var device = Value("UniCLift__Device") ?? "cpu";
            var cudaImage = SplitImage(Str(c, "image")!).Repo == "uniclift/silo-cuda";
            Assert.True((gpus is not null) == device.StartsWith("cuda") && cudaImage == device.StartsWith("cuda"),
                $"{where}: nvidia.com/gpu={gpus ?? "none"}, device={device}, image={Str(c, "image")} disagree");
            if (gpus is not null)
            {
                Assert.Equal(gpus, Value("UniCLift__TrainingSlots"));
                Assert.Equal("true", Value("UniCLift__Compute"));
                Assert.NotEmpty(Map(t, "spec", "nodeSelector"));
                Assert.Contains(List(t, "spec", "tolerations").OfType<Dictionary<string, object?>>(), x => Str(x, "key") == "nvidia.com/gpu");
            }
        }
        Assert.Contains("true", computeFlags);
        Assert.Contains("false", computeFlags);
        Assert.Equal(dir != "overlays/cpu-dev", silos.Any(s => Containers(s.Template).Any(c => Str(c, "resources", "limits", "nvidia.com/gpu") is not null)));
    }

    [Fact]
    public void ImagesComeFromTheDockerfiles()
    {
        var build = File.ReadAllLines(RepoPaths.Of("docker", "build.sh")).Where(l => l.TrimStart().StartsWith("docker build")).ToList();
        var built = new HashSet<string>();
        foreach (var line in build)
        {
            var file = Regex.Match(line, @"-f ""\$root/([^""]+)""").Groups[1].Value;
            Assert.True(File.Exists(RepoPaths.Of(file.Split('/'))), $"docker/build.sh builds from missing {file}");
            built.Add(Regex.Match(line, @"-t ""([^"":]+):").Groups[1].Value);
        }
        Assert.Superset(new HashSet<string> { "uniclift/silo", "uniclift/silo-cuda", "uniclift/client" }, built);

        var used = new[] { "base", "overlays/gpu", "overlays/cpu-dev" }.SelectMany(RenderOf)
            .Concat(Directory.EnumerateFiles(RepoPaths.Of("k8s", "examples"), "*.yaml").SelectMany(LoadDocuments))
            .SelectMany(r => Workloads([r])).SelectMany(x => Containers(x.Template)).Select(c => SplitImage(Str(c, "image")!).Repo)
            .Where(i => i.StartsWith("uniclift/")).ToHashSet();
        Assert.Contains("uniclift/client", used);
        Assert.Contains("uniclift/silo-cuda", used);
        foreach (var image in used) Assert.True(built.Contains(image), $"k8s uses {image}, which docker/build.sh does not build");
    }

    [Fact]
    public void DockerfilesCopyExistingPathsAndRunTheBuiltAssemblies()
    {
        foreach (var (file, project) in new[] { ("Dockerfile.silo", "src/Silo/Silo.csproj"), ("Dockerfile.client", "src/Client/Client.csproj") })
        {
            var lines = File.ReadAllLines(RepoPaths.Of("docker", file));
            foreach (var copy in lines.Where(l => l.StartsWith("COPY ") && !l.Contains("--from")))
                foreach (var src in copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1])
                    Assert.True(File.Exists(RepoPaths.Of(src.TrimEnd('/').Split('/'))) || Directory.Exists(RepoPaths.Of(src.TrimEnd('/').Split('/'))),
                        $"docker/{file}: COPY source {src} does not exist");
            Assert.Contains(lines, l => l.Contains($"dotnet publish {project}"));
            var assembly = Regex.Match(File.ReadAllText(RepoPaths.Of(project.Split('/'))), "<AssemblyName>([^<]+)</AssemblyName>").Groups[1].Value;
            Assert.Contains(lines, l => l.Contains($"/app/{assembly}.dll"));
        }
        var silo = File.ReadAllText(RepoPaths.Of("docker", "Dockerfile.silo"));
        Assert.Contains("ARG TORCH_VARIANT=cpu", silo);
        Assert.Contains("-p:TorchVariant=${TORCH_VARIANT}", silo);
        Assert.Contains("FROM runtime-${TORCH_VARIANT}", silo);
        // OPERATIONS.md has `uniclift check gpu` run in a compute pod: the silo image carries the console, built against
        // the same libtorch, on PATH (it had the silo alone).
        Assert.Contains("dotnet publish src/Client/Client.csproj -c Release -o /app --no-restore -p:TorchVariant=${TORCH_VARIANT}", silo);
        Assert.Contains("exec dotnet /app/uniclift.dll \"$@\"\\n' > /usr/local/bin/uniclift", silo);
        Assert.Contains("`uniclift check gpu` in a compute pod", File.ReadAllText(RepoPaths.Of("docs", "OPERATIONS.md")).ReplaceLineEndings(" "));
        // The switch the Dockerfile relies on exists, and CPU stays the default.
        var compute = File.ReadAllText(RepoPaths.Of("src", "Compute", "Compute.csproj"));
        Assert.Contains("Condition=\"'$(TorchVariant)' != 'cuda'\"", compute);
        Assert.Contains("Condition=\"'$(TorchVariant)' == 'cuda'\"", compute);
    }

    [Fact]
    public void SubmitJobUsesTheClientAndTheSharedVolume()
    {
        var job = LoadDocuments(RepoPaths.Of("k8s", "examples", "submit-job.yaml")).Single(r => Kind(r) == "Job");
        var t = Map(job, "spec", "template");
        var c = Containers(t).Single();
        Assert.Equal("uniclift/client", SplitImage(Str(c, "image")!).Repo);
        var command = string.Join(" ", List(c, "command").Concat(List(c, "args")).Cast<string>());
        Assert.Contains("uniclift submit /data/scenes/* --out /data/results --wait", command);
        var env = Env(c);
        Assert.Equal(UniCLift.Client.ClusterConnection.RedisEnvironmentVariable, "UNICLIFT_REDIS");
        Assert.Equal("redis:6379,password=$(REDIS_PASSWORD),ssl=true", Str(env["UNICLIFT_REDIS"], "value"));
        Assert.Equal("uniclift-redis", Str(env["REDIS_PASSWORD"], "valueFrom", "secretKeyRef", "name"));
        Assert.Equal("/etc/uniclift/orleans-tls/tls.crt", Str(env["UniCLift__Tls__Certificate"], "value"));
        Assert.StartsWith("/bin/sh -c", command); // the glob needs a shell
        var claim = Str(List(t, "spec", "volumes")[0], "persistentVolumeClaim", "claimName");
        Assert.Contains(RenderOf("base"), r => Kind(r) == "PersistentVolumeClaim" && Name(r) == claim);
    }

    [Fact]
    public void PrometheusScrapesAnnotatedPods()
    {
        var config = LoadDocuments(RepoPaths.Of("k8s", "monitoring", "prometheus.yml")).Single();
        var job = List(config, "scrape_configs").OfType<Dictionary<string, object?>>().Single(j => Str(j, "job_name") == "uniclift-silos");
        Assert.Equal("pod", Str(List(job, "kubernetes_sd_configs")[0], "role"));
        var relabels = List(job, "relabel_configs").OfType<Dictionary<string, object?>>().ToList();
        Assert.Contains(relabels, r => List(r, "source_labels").Contains("__meta_kubernetes_pod_annotation_prometheus_io_scrape") && Str(r, "action") == "keep");
        Assert.Contains(relabels, r => Str(r, "target_label") == "__metrics_path__");
        Assert.Contains(relabels, r => Str(r, "target_label") == "__address__" && List(r, "source_labels").Contains("__meta_kubernetes_pod_annotation_prometheus_io_port"));
        // The dashboard's per-silo legends use the pod label this config sets.
        Assert.Contains(relabels, r => Str(r, "target_label") == "pod");
    }

    [Fact]
    public void AppSettingsUseOnlyKnownOptions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(RepoPaths.Of("src", "Silo", "appsettings.json")));
        foreach (var p in doc.RootElement.GetProperty(UniCLiftSiloOptions.Section).EnumerateObject())
            Assert.True(OptionNames.Contains(p.Name), $"appsettings.json: UniCLift:{p.Name} is not a UniCLiftSiloOptions property");
    }
}
