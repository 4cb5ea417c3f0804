namespace UniCLift.Cluster.Tests.Ops;

using System.Text.Json;

/// <summary>
/// The Grafana dashboard only queries metrics a running silo really exports, under their exported names:
/// UniCLift metrics from the in-process silo's real training run (<see cref="RunningSilo.TrainingRun"/>: scrapes while
/// the scene trained and after its batch finished); Orleans and runtime metrics from the real silo program in a
/// child process (see <see cref="ChildSilo"/> for why not in-process).
/// </summary>
[Collection(RunningSiloCollection.Name)]
public sealed class DashboardTests(RunningSilo silo)
{
    private static IReadOnlyList<(string Panel, string Expr)> Expressions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(RepoPaths.Of("k8s", "monitoring", "grafana-dashboard.json")));
        var found = new List<(string, string)>();
        void Walk(JsonElement panels)
        {
            foreach (var p in panels.EnumerateArray())
            {
                var title = p.TryGetProperty("title", out var t) ? t.GetString() ?? "" : "";
                if (p.TryGetProperty("targets", out var targets))
                    foreach (var target in targets.EnumerateArray())
                        if (target.TryGetProperty("expr", out var e)) found.Add((title, e.GetString()!));
                if (p.TryGetProperty("panels", out var nested)) Walk(nested);
            }
        }
        Walk(doc.RootElement.GetProperty("panels"));
        return found;
    }

    /// <summary>The alerts' expressions (k8s/monitoring/uniclift-alerts.yml), named by their alert.</summary>
    private static IReadOnlyList<(string Alert, string Expr)> AlertExpressions()
    {
        var doc = Manifests.LoadDocuments(RepoPaths.Of("k8s", "monitoring", "uniclift-alerts.yml")).Single();
        return ((List<object?>)Manifests.At(doc, "groups")!).SelectMany(g => (List<object?>)Manifests.At(g, "rules")!)
            .Select(r => ((string)Manifests.At(r, "alert")!, (string)Manifests.At(r, "expr")!)).ToList();
    }

    [Fact]
    public void TheAlertsAreLoadedAndNameWhatToDo()
    {
        var alerts = AlertExpressions();
        Assert.Contains(alerts, a => a.Alert == "UniCLiftDeviceBroken");
        Assert.Contains(alerts, a => a.Alert == "UniCLiftCheckpointWritesFailing");
        // prometheus.yml loads the file, and the ConfigMap that holds prometheus.yml holds it too (mounted beside it).
        Assert.Contains("uniclift-alerts.yml", (List<object?>)Manifests.At(Manifests.LoadDocuments(RepoPaths.Of("k8s", "monitoring", "prometheus.yml")).Single(), "rule_files")!);
        Assert.Contains("      - uniclift-alerts.yml", File.ReadAllLines(RepoPaths.Of("k8s", "monitoring", "kustomization.yaml")));
        var doc = Manifests.LoadDocuments(RepoPaths.Of("k8s", "monitoring", "uniclift-alerts.yml")).Single();
        foreach (var rule in ((List<object?>)Manifests.At(doc, "groups")!).SelectMany(g => (List<object?>)Manifests.At(g, "rules")!))
        {
            Assert.Contains((string)Manifests.At(rule, "labels", "severity")!, new[] { "critical", "warning", "info" });
            Assert.False(string.IsNullOrWhiteSpace((string?)Manifests.At(rule, "annotations", "description")), $"{Manifests.At(rule, "alert")} says nothing to do");
        }
    }

    [Fact]
    public void ExtractorFindsMetricNamesAndNothingElse()
    {
        var names = PromQl.MetricNames(
            "histogram_quantile(0.95, sum by (le, pod) (rate(a_seconds_bucket{x=\"y\",le!=\"1\"}[$__rate_interval]))) / on(pod) group_left max(b_total offset 5m) > 0.5");
        Assert.Equal(new HashSet<string> { "a_seconds_bucket", "b_total" }, names);
    }

    [Fact]
    public async Task EveryDashboardMetricIsInALiveScrape()
    {
        var expressions = Expressions();
        Assert.True(expressions.Count >= 15, $"Expected a full dashboard, found {expressions.Count} queries.");
        var wanted = expressions.SelectMany(e => PromQl.MetricNames(e.Expr).Select(n => (n, Panel: $"panel '{e.Panel}'")))
            // The alerts too, but for Prometheus' own up.
            .Concat(AlertExpressions().SelectMany(a => PromQl.MetricNames(a.Expr).Where(n => n != "up").Select(n => (n, Panel: $"alert {a.Alert}")))).ToList();
        Assert.Contains(wanted, w => w.n.StartsWith("orleans_", StringComparison.Ordinal)); // cluster health comes from Orleans

        await using var child = await ChildSilo.StartAsync();
        var childNames = (await child.ScrapeAsync()).Names.ToHashSet();

        // Per-scene gauges exist only while a scene trains, histograms once something finished: take both moments.
        var run = await silo.TrainingRun();
        var own = run.WhileTraining.Append(run.After).SelectMany(s => s.Names).Where(n => n.StartsWith("uniclift_", StringComparison.Ordinal));
        var present = childNames.Where(n => !n.StartsWith("uniclift_", StringComparison.Ordinal)).Concat(own).ToHashSet();
        var missing = wanted.Where(w => !present.Contains(w.n)).Select(w => $"{w.n} ({w.Panel})").Distinct().ToArray();
        Assert.True(missing.Length == 0, "The dashboard or the alerts query metrics the silo does not export: " + string.Join("; ", missing));

        // No exported label is one the scrape config adds to its targets (or job/instance): Prometheus would rename the
        // metric's own to exported_<name>, and a query by it would find nothing (the loss terms were labelled component,
        // which prometheus.yml also adds from the pod's label: "Render loss per scene" showed nothing).
        var targetLabels = File.ReadLines(RepoPaths.Of("k8s", "monitoring", "prometheus.yml"))
            .Select(l => l.Trim()).Where(l => l.StartsWith("target_label:", StringComparison.Ordinal))
            .Select(l => l["target_label:".Length..].Trim()).Where(l => !l.StartsWith("__", StringComparison.Ordinal))
            .Concat(["job", "instance"]).ToHashSet();
        Assert.Contains("component", targetLabels); // the parse found the config's labels
        var clashes = run.WhileTraining.Append(run.After).Append(await child.ScrapeAsync()).SelectMany(s => s.Samples)
            .SelectMany(x => x.Labels.Keys.Where(targetLabels.Contains).Select(k => $"{x.Name}{{{k}}}")).Distinct().ToArray();
        Assert.True(clashes.Length == 0, "Exported labels that the scrape config's target labels would rename: " + string.Join("; ", clashes));

        // rate()/increase() only over counters and histogram series.
        var badRates = expressions.SelectMany(e => PromQl.RatedMetrics(e.Expr))
            .Where(n => !(n.EndsWith("_total") || n.EndsWith("_bucket") || n.EndsWith("_sum") || n.EndsWith("_count"))).ToArray();
        Assert.Empty(badRates);
    }
}
