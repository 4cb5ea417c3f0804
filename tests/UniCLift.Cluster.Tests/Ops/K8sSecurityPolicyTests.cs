namespace UniCLift.Cluster.Tests.Ops;

using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using UniCLift.Grains.Hosting;
using UniCLift.Silo.Telemetry;
using static Manifests;

/// <summary>
/// The deployment's security policy, checked on what each overlay really renders: `kubectl kustomize
/// k8s/overlays/&lt;x&gt;` where kubectl is installed (and then compared with the stand-in renderer in Manifests.cs), the
/// stand-in alone where it is not (CI machines need not have kubectl). docs/OPERATIONS.md, "Security model", says why
/// each rule is there.
/// </summary>
public sealed class K8sSecurityPolicyTests
{
    private static string[] OverlayNames() => Directory.GetDirectories(RepoPaths.Of("k8s", "overlays")).Select(Path.GetFileName).Order().ToArray()!;

    public static TheoryData<string> Overlays() => new(OverlayNames());

    private static readonly string? Kubectl = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(d => Path.Combine(d, "kubectl")).FirstOrDefault(File.Exists);

    /// <summary>The overlay as kubectl kustomize renders it, or as the stand-in does without kubectl.</summary>
    internal static List<Dictionary<string, object?>> Rendered(string overlay)
    {
        var dir = RepoPaths.Of("k8s", "overlays", overlay);
        if (Kubectl is null) return Render(dir);
        var psi = new ProcessStartInfo(Kubectl) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "kustomize", dir }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(60)), $"kubectl kustomize {dir} did not finish in 60 s");
        Assert.True(p.ExitCode == 0, $"kubectl kustomize {dir} failed ({p.ExitCode}): {stderr.Result}");
        return MappingDocuments(ParseText(stdout.Result, $"kubectl kustomize {dir}"), $"kubectl kustomize {dir}");
    }

    /// <summary>Every workload of the overlay, plus the example Job (applied by hand into the same namespace).</summary>
    private static List<(Dictionary<string, object?> Workload, Dictionary<string, object?> Template)> AllWorkloads(List<Dictionary<string, object?>> resources) =>
        Workloads(resources).Concat(Workloads(LoadDocuments(RepoPaths.Of("k8s", "examples", "submit-job.yaml")))).ToList();

    private static IEnumerable<Dictionary<string, object?>> AllContainers(Dictionary<string, object?> template) =>
        Containers(template).Concat(List(template, "spec", "initContainers").OfType<Dictionary<string, object?>>());

    private static string Where(Dictionary<string, object?> w, Dictionary<string, object?>? c = null) =>
        $"{Kind(w)}/{Name(w)}" + (c is null ? "" : $" container {Str(c, "name")}");

    [Fact]
    public void KubectlRendersWhatTheStandInRenders()
    {
        if (Kubectl is null) return; // nothing to compare with; the policy tests run on the stand-in
        foreach (var overlay in OverlayNames())
        {
            // Same resources (the stand-in does not generate ConfigMaps), and the same pod settings this file checks.
            static string Key(Dictionary<string, object?> r) => $"{Kind(r)}/{Name(r)}";
            static List<string> Keys(List<Dictionary<string, object?>> rs) => rs.Where(r => Kind(r) != "ConfigMap").Select(Key).Order().ToList();
            static List<string> Pods(List<Dictionary<string, object?>> rs) => Workloads(rs).Select(x => Canonical(new Dictionary<string, object?>
            {
                ["workload"] = Key(x.Workload),
                ["pod"] = Map(x.Template, "spec", "securityContext"),
                ["containers"] = Containers(x.Template).Select(c => new Dictionary<string, object?>
                {
                    ["image"] = Str(c, "image"), ["securityContext"] = At(c, "securityContext"), ["env"] = At(c, "env"), ["resources"] = At(c, "resources"),
                }).ToList<object?>(),
            })).Order().ToList();
            var kubectl = Rendered(overlay);
            var standIn = Render(RepoPaths.Of("k8s", "overlays", overlay));
            Assert.Equal(Keys(kubectl), Keys(standIn));
            Assert.Equal(Pods(kubectl), Pods(standIn));
        }
    }

    /// <summary>JSON with mapping keys sorted, for comparing trees.</summary>
    private static string Canonical(object? node)
    {
        static object? Sorted(object? n) => n switch
        {
            Dictionary<string, object?> m => new SortedDictionary<string, object?>(m.ToDictionary(kv => kv.Key, kv => Sorted(kv.Value)), StringComparer.Ordinal),
            List<object?> l => l.Select(Sorted).ToList(),
            _ => n,
        };
        return System.Text.Json.JsonSerializer.Serialize(Sorted(node));
    }

    [Theory, MemberData(nameof(Overlays))]
    public void ContainersRunUnprivileged(string overlay)
    {
        var workloads = AllWorkloads(Rendered(overlay));
        Assert.True(workloads.Count >= 4, $"{overlay}: only {workloads.Count} workloads"); // compute, control, redis, submit
        foreach (var (w, t) in workloads)
        {
            var pod = Map(t, "spec", "securityContext");
            Assert.False(Str(t, "spec", "hostNetwork") == "true" || Str(t, "spec", "hostPID") == "true" || Str(t, "spec", "hostIPC") == "true", $"{overlay}: {Where(w)} shares a host namespace");
            Assert.DoesNotContain(List(t, "spec", "volumes").OfType<Dictionary<string, object?>>(), v => v.ContainsKey("hostPath"));
            foreach (var c in AllContainers(t))
            {
                var where = $"{overlay}: {Where(w, c)}";
                var sc = Map(c, "securityContext");
                string? Either(string key) => Str(sc, key) ?? Str(pod, key);
                Assert.True(Either("runAsNonRoot") == "true", $"{where}: runAsNonRoot is not true");
                Assert.True(Either("runAsUser") is { } uid && uid != "0", $"{where}: no numeric non-root runAsUser");
                Assert.True((Str(sc, "seccompProfile", "type") ?? Str(pod, "seccompProfile", "type")) == "RuntimeDefault", $"{where}: seccompProfile is not RuntimeDefault");
                Assert.True(Str(sc, "allowPrivilegeEscalation") == "false", $"{where}: allowPrivilegeEscalation is not false");
                Assert.True(Str(sc, "readOnlyRootFilesystem") == "true", $"{where}: readOnlyRootFilesystem is not true");
                Assert.True(Str(sc, "privileged") != "true", $"{where}: privileged");
                Assert.Contains("ALL", List(sc, "capabilities", "drop").Cast<string>());
                Assert.Empty(List(sc, "capabilities", "add"));

                // A read-only root needs somewhere to write temporary files: /tmp from an emptyDir.
                var tmp = List(c, "volumeMounts").OfType<Dictionary<string, object?>>().SingleOrDefault(m => Str(m, "mountPath") == "/tmp");
                Assert.True(tmp is not null, $"{where}: no /tmp volume under a read-only root");
                Assert.Contains(List(t, "spec", "volumes").OfType<Dictionary<string, object?>>(), v => Str(v, "name") == Str(tmp, "name") && v.ContainsKey("emptyDir"));
            }
        }
    }

    [Theory, MemberData(nameof(Overlays))]
    public void ContainersHaveResourcesAndPinnedImages(string overlay)
    {
        foreach (var (w, t) in AllWorkloads(Rendered(overlay)))
            foreach (var c in AllContainers(t))
            {
                var where = $"{overlay}: {Where(w, c)}";
                foreach (var (section, key) in new[] { ("requests", "cpu"), ("requests", "memory"), ("limits", "memory") })
                    Assert.True(!string.IsNullOrEmpty(Str(c, "resources", section, key)), $"{where}: no resources.{section}.{key}");
                var image = Str(c, "image")!;
                if (image.Contains("@sha256:")) continue;
                var slash = image.LastIndexOf('/');
                var colon = image.LastIndexOf(':');
                Assert.True(colon > slash, $"{where}: image {image} has no tag (that is :latest)");
                Assert.NotEqual("latest", image[(colon + 1)..]);
            }
    }

    [Theory, MemberData(nameof(Overlays))]
    public void LongRunningContainersHaveProbes(string overlay)
    {
        var resources = Rendered(overlay);
        foreach (var (w, t) in Workloads(resources).Where(x => Kind(x.Workload) is "Deployment" or "StatefulSet" or "DaemonSet"))
            foreach (var c in Containers(t))
            {
                Assert.True(At(c, "readinessProbe") is not null, $"{overlay}: {Where(w, c)} has no readinessProbe");
                Assert.True(At(c, "livenessProbe") is not null, $"{overlay}: {Where(w, c)} has no livenessProbe");
            }
        var silos = Workloads(resources).Where(x => Labels(At(x.Template, "metadata", "labels")).GetValueOrDefault("app.kubernetes.io/name") == "uniclift-silo").ToList();
        Assert.Equal(2, silos.Count);
        foreach (var (_, t) in silos)
        {
            var c = Containers(t).Single();
            Assert.Equal(TelemetryExtensions.ReadyPath, Str(c, "readinessProbe", "httpGet", "path"));
            Assert.Equal(TelemetryExtensions.LivePath, Str(c, "livenessProbe", "httpGet", "path"));
        }
    }

    [Theory, MemberData(nameof(Overlays))]
    public void NetworkPoliciesAdmitOnlyTheClusterPods(string overlay)
    {
        var resources = Rendered(overlay);
        var policies = resources.Where(r => Kind(r) == "NetworkPolicy").ToList();
        Assert.True(policies.Count > 0, $"{overlay}: no NetworkPolicy");
        Assert.Contains(policies, p => Map(p, "spec", "podSelector").Count == 0 && List(p, "spec", "policyTypes").Contains("Ingress") && List(p, "spec", "ingress").Count == 0);

        // Which sources may reach a pod with these labels on this port (podSelector / namespaceSelector / ipBlock).
        List<Dictionary<string, object?>> Sources(Dictionary<string, string?> podLabels, int port) =>
            policies.Where(p => Labels(At(p, "spec", "podSelector", "matchLabels")).All(kv => podLabels.GetValueOrDefault(kv.Key) == kv.Value))
                .SelectMany(p => List(p, "spec", "ingress").OfType<Dictionary<string, object?>>())
                .Where(rule => List(rule, "ports").Count == 0 || List(rule, "ports").OfType<Dictionary<string, object?>>().Any(x => Str(x, "port") == port.ToString()))
                .SelectMany(rule => List(rule, "from").Count == 0 ? [new Dictionary<string, object?> { ["anywhere"] = "true" }] : List(rule, "from").OfType<Dictionary<string, object?>>())
                .ToList();
        Dictionary<string, string?> PodLabels(string name) =>
            Labels(At(Workloads(resources).Single(x => Name(x.Workload) == name).Template, "metadata", "labels"));
        bool SameNamespacePods(Dictionary<string, object?> from, string label, string value) =>
            from.Count == 1 && Labels(At(from, "podSelector", "matchLabels")).GetValueOrDefault(label) == value;

        var redis = PodLabels("redis");
        var redisFrom = Sources(redis, 6379);
        Assert.NotEmpty(redisFrom);
        Assert.All(redisFrom, f => Assert.True(SameNamespacePods(f, "app.kubernetes.io/part-of", "uniclift"), $"{overlay}: Redis admits {System.Text.Json.JsonSerializer.Serialize(f)}"));
        foreach (var silo in new[] { "uniclift-compute", "uniclift-control" })
        {
            var labels = PodLabels(silo);
            Assert.All(Sources(labels, 11111), f => Assert.True(SameNamespacePods(f, "app.kubernetes.io/name", "uniclift-silo"), $"{overlay}: {silo}'s silo port admits {System.Text.Json.JsonSerializer.Serialize(f)}"));
            Assert.All(Sources(labels, 30000), f => Assert.True(SameNamespacePods(f, "app.kubernetes.io/part-of", "uniclift"), $"{overlay}: {silo}'s gateway admits {System.Text.Json.JsonSerializer.Serialize(f)}"));
            var metrics = Sources(labels, 8080);
            Assert.NotEmpty(metrics);
            Assert.All(metrics, f => Assert.True(At(f, "namespaceSelector") is not null && At(f, "podSelector") is not null && At(f, "ipBlock") is null,
                $"{overlay}: {silo}'s metrics port admits {System.Text.Json.JsonSerializer.Serialize(f)} (only Prometheus' pods should)"));
            Assert.NotEmpty(Sources(labels, 11111));
            Assert.NotEmpty(Sources(labels, 30000));
        }
        // The client Job's pods carry the label the policies admit.
        var job = Workloads(LoadDocuments(RepoPaths.Of("k8s", "examples", "submit-job.yaml"))).Single();
        Assert.Equal("uniclift", Labels(At(job.Template, "metadata", "labels")).GetValueOrDefault("app.kubernetes.io/part-of"));
    }

    [Theory, MemberData(nameof(Overlays))]
    public void SecretsStayOutOfTheManifests(string overlay)
    {
        var resources = Rendered(overlay);
        Assert.DoesNotContain(resources, r => Kind(r) == "Secret"); // created by hand (docs/OPERATIONS.md), never committed
        foreach (var (w, t) in AllWorkloads(resources))
            foreach (var c in AllContainers(t))
            {
                var env = List(c, "env").OfType<Dictionary<string, object?>>().ToList();
                foreach (var e in env)
                {
                    var value = Str(e, "value") ?? "";
                    Assert.False(System.Text.RegularExpressions.Regex.IsMatch(value, @"password=(?!\$\()"), $"{overlay}: {Where(w, c)} env {Str(e, "name")} has a literal password");
                    if (value.Contains("$(REDIS_PASSWORD)") || Str(e, "name") is "REDIS_PASSWORD")
                        Assert.Equal("uniclift-redis", Str(env.Single(x => Str(x, "name") == "REDIS_PASSWORD"), "valueFrom", "secretKeyRef", "name"));
                }
                // A password on the command line is readable by every process of the pod (ps): Redis takes it on stdin.
                Assert.DoesNotContain("--requirepass", string.Join(" ", List(c, "command").Concat(List(c, "args")).Cast<string>()));
            }

        // Redis: TLS only, password required, from the Secrets.
        var (_, redisTemplate) = Workloads(resources).Single(x => Name(x.Workload) == "redis");
        var redis = Containers(redisTemplate).Single();
        var script = string.Join("\n", List(redis, "command").Concat(List(redis, "args")).Cast<string>());
        Assert.Contains("--port 0", script);
        Assert.Contains("--tls-port 6379", script);
        Assert.Contains("requirepass $REDIS_PASSWORD", script);
        Assert.Contains(List(redisTemplate, "spec", "volumes").OfType<Dictionary<string, object?>>(), v => Str(v, "secret", "secretName") == "uniclift-redis-tls");

        // Silos: the Redis password and Orleans TLS from their Secrets.
        foreach (var (w, t) in Workloads(resources).Where(x => Containers(x.Template).Any(c => Str(c, "image")!.StartsWith("uniclift/silo"))))
        {
            var c = Containers(t).Single();
            var env = List(c, "env").OfType<Dictionary<string, object?>>().ToDictionary(e => Str(e, "name")!);
            Assert.Contains("$(REDIS_PASSWORD)", Str(env["UniCLift__Redis"], "value"));
            var tlsDir = Path.GetDirectoryName(Str(env["UniCLift__Tls__Certificate"], "value"));
            var mount = List(c, "volumeMounts").OfType<Dictionary<string, object?>>().Single(m => Str(m, "mountPath") == tlsDir);
            Assert.Equal("uniclift-orleans-tls", Str(List(t, "spec", "volumes").OfType<Dictionary<string, object?>>().Single(v => Str(v, "name") == Str(mount, "name")), "secret", "secretName"));
        }
    }

    [Theory, MemberData(nameof(Overlays))]
    public void RbacGrantsOnlyWhatKubernetesHostingNeeds(string overlay)
    {
        var resources = Rendered(overlay);
        Assert.DoesNotContain(resources, r => Kind(r) is "ClusterRole" or "ClusterRoleBinding");
        var role = resources.Single(r => Kind(r) == "Role");
        var rule = Assert.Single(List(role, "rules").OfType<Dictionary<string, object?>>());
        Assert.Equal(new[] { "" }, List(rule, "apiGroups").Cast<string>());
        Assert.Equal(new[] { "pods" }, List(rule, "resources").Cast<string>());
        Assert.Equal(new[] { "get", "list", "patch", "watch" }, List(rule, "verbs").Cast<string>().Order());
        // Only the silos hold a token: other pods never call the API.
        foreach (var (w, t) in AllWorkloads(resources))
        {
            var account = Str(t, "spec", "serviceAccountName");
            if (account is null) Assert.True(Str(t, "spec", "automountServiceAccountToken") == "false", $"{overlay}: {Where(w)} mounts the default service account's token");
            else Assert.Equal("uniclift-silo", account);
        }
    }

    /// <summary>Every silo's env, read as the silo reads it, passes the silo's own checks: a control silo with TrainingSlots=0 included.</summary>
    [Theory, MemberData(nameof(Overlays))]
    public void SiloSettingsAreAcceptedByTheSilo(string overlay)
    {
        var silos = Workloads(Rendered(overlay)).Where(x => Containers(x.Template).Any(c => Str(c, "image")!.StartsWith("uniclift/silo"))).ToList();
        Assert.Equal(2, silos.Count);
        foreach (var (w, t) in silos)
        {
            var settings = new Dictionary<string, string?>();
            foreach (var e in List(Containers(t).Single(), "env").OfType<Dictionary<string, object?>>())
                settings[Str(e, "name")!.Replace("__", ":")] = Str(e, "value") ?? "from-the-downward-api-or-a-secret";
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(settings);
            var e2 = Record.Exception(() => builder.AddUniCLiftSilo());
            Assert.True(e2 is null, $"{overlay}: {Where(w)}: the silo rejects its settings: {e2?.Message}");
            if (Labels(At(t, "metadata", "labels")).GetValueOrDefault("app.kubernetes.io/component") == "control")
            {
                Assert.Equal("0", settings["UniCLift:TrainingSlots"]);
                Assert.Equal("false", settings["UniCLift:Compute"]);
            }
        }
        // ...and a compute silo without a slot is still refused.
        var refused = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        refused.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["UniCLift:Compute"] = "true", ["UniCLift:TrainingSlots"] = "0" });
        Assert.Contains("TrainingSlots", Assert.Throws<SiloOptionsException>(() => refused.AddUniCLiftSilo()).Message);
    }

    [Fact]
    public void ImagesRunAsANonRootUser()
    {
        foreach (var file in new[] { "Dockerfile.silo", "Dockerfile.client" })
        {
            var lines = File.ReadAllLines(RepoPaths.Of("docker", file));
            var lastFrom = Array.FindLastIndex(lines, l => l.StartsWith("FROM "));
            var user = lines.Skip(lastFrom).LastOrDefault(l => l.StartsWith("USER "));
            Assert.True(user is not null, $"docker/{file}: the final stage has no USER (it would run as root)");
            var id = user["USER ".Length..].Split(':')[0].Trim();
            Assert.True(int.TryParse(id, out var uid) && uid > 0, $"docker/{file}: USER {id} is not a numeric non-root id (runAsNonRoot cannot check a name)");
            foreach (var pod in Rendered("gpu").Concat(LoadDocuments(RepoPaths.Of("k8s", "examples", "submit-job.yaml"))))
                foreach (var (w, t) in Workloads([pod]).Where(x => Containers(x.Template).Any(c => Str(c, "image")!.StartsWith("uniclift/"))))
                    Assert.Equal(id, Str(t, "spec", "securityContext", "runAsUser"));
        }
    }
}
