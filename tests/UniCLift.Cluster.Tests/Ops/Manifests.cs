namespace UniCLift.Cluster.Tests.Ops;

using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

/// <summary>
/// YAML as plain trees (Dictionary&lt;string, object?&gt; / List&lt;object?&gt; / string scalars) and a small
/// kustomize stand-in: resources, replicas, images and JSON 6902 patches, each checked as it is applied.
/// </summary>
internal static class Manifests
{
    /// <summary>Every document of a (multi-document) YAML file, whatever its shape.</summary>
    public static List<object?> ParseAll(string path) => ParseText(File.ReadAllText(path), path);

    /// <summary>Every document of YAML text (kubectl kustomize's output, say); <paramref name="path"/> names it in errors.</summary>
    public static List<object?> ParseText(string yaml, string path)
    {
        var deserializer = new DeserializerBuilder().Build();
        var docs = new List<object?>();
        try
        {
            var parser = new Parser(new StringReader(yaml));
            parser.Consume<StreamStart>();
            while (parser.Accept<DocumentStart>(out _)) docs.Add(Normalize(deserializer.Deserialize<object?>(parser)));
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"{path}: YAML does not parse: {e.Message}", e);
        }
        return docs;
    }

    /// <summary>The mapping documents of a file (Kubernetes resources, kustomizations, configs).</summary>
    public static List<Dictionary<string, object?>> LoadDocuments(string path) => MappingDocuments(ParseAll(path), path);

    public static List<Dictionary<string, object?>> MappingDocuments(List<object?> parsed, string path)
    {
        var docs = parsed.Where(d => d is not null).ToList();
        var bad = docs.FirstOrDefault(d => d is not Dictionary<string, object?>);
        if (bad is not null) throw new InvalidDataException($"{path}: expected mapping documents, found a {bad.GetType().Name}.");
        return docs.Cast<Dictionary<string, object?>>().ToList();
    }

    private static object? Normalize(object? node) => node switch
    {
        IDictionary<object, object?> map => map.ToDictionary(kv => kv.Key.ToString()!, kv => Normalize(kv.Value)),
        IList<object?> list => list.Select(Normalize).ToList(),
        _ => node?.ToString(),
    };

    // ---- tree access ----
    public static object? At(object? node, params string[] path)
    {
        foreach (var key in path)
        {
            node = node switch
            {
                Dictionary<string, object?> m => m.GetValueOrDefault(key),
                List<object?> l when int.TryParse(key, out var i) && i >= 0 && i < l.Count => l[i],
                _ => null,
            };
            if (node is null) return null;
        }
        return node;
    }

    public static string? Str(object? node, params string[] path) => At(node, path) as string;
    public static Dictionary<string, object?> Map(object? node, params string[] path) => At(node, path) as Dictionary<string, object?> ?? [];
    public static List<object?> List(object? node, params string[] path) => At(node, path) as List<object?> ?? [];
    public static string Kind(Dictionary<string, object?> r) => Str(r, "kind") ?? "";
    public static string Name(Dictionary<string, object?> r) => Str(r, "metadata", "name") ?? "";
    public static Dictionary<string, string?> Labels(object? node) => Map(node).ToDictionary(kv => kv.Key, kv => kv.Value as string);

    /// <summary>Deployment/StatefulSet/Job/DaemonSet resources with their pod templates.</summary>
    public static IEnumerable<(Dictionary<string, object?> Workload, Dictionary<string, object?> Template)> Workloads(IEnumerable<Dictionary<string, object?>> resources) =>
        resources.Where(r => Kind(r) is "Deployment" or "StatefulSet" or "Job" or "DaemonSet")
            .Select(r => (r, Map(r, "spec", "template")));

    public static IEnumerable<Dictionary<string, object?>> Containers(Dictionary<string, object?> template) =>
        List(template, "spec", "containers").OfType<Dictionary<string, object?>>();

    // ---- kustomize stand-in ----
    public static List<Dictionary<string, object?>> Render(string dir)
    {
        var kfile = Path.Combine(dir, "kustomization.yaml");
        Assert.True(File.Exists(kfile), $"{dir}: no kustomization.yaml");
        var k = LoadDocuments(kfile).Single();
        var resources = new List<Dictionary<string, object?>>();
        foreach (var entry in List(k, "resources").Cast<string>())
        {
            var full = Path.GetFullPath(Path.Combine(dir, entry));
            if (Directory.Exists(full)) resources.AddRange(Render(full));
            else
            {
                Assert.True(File.Exists(full), $"{kfile}: resource '{entry}' does not exist");
                resources.AddRange(LoadDocuments(full));
            }
        }
        foreach (var gen in List(k, "configMapGenerator").OfType<Dictionary<string, object?>>())
            foreach (var file in List(gen, "files").Cast<string>())
                Assert.True(File.Exists(Path.Combine(dir, file)), $"{kfile}: configMapGenerator {Str(gen, "name")} file '{file}' does not exist");

        foreach (var rep in List(k, "replicas").OfType<Dictionary<string, object?>>())
        {
            var targets = resources.Where(r => Name(r) == Str(rep, "name") && Kind(r) is "Deployment" or "StatefulSet").ToList();
            Assert.True(targets.Count == 1, $"{kfile}: replicas target '{Str(rep, "name")}' matches {targets.Count} workloads");
            Map(targets[0], "spec")["replicas"] = Str(rep, "count");
        }
        foreach (var img in List(k, "images").OfType<Dictionary<string, object?>>())
        {
            var name = Str(img, "name")!;
            var hits = 0;
            foreach (var (_, template) in Workloads(resources))
                foreach (var c in Containers(template))
                {
                    var image = Str(c, "image")!;
                    var (repo, tag) = SplitImage(image);
                    if (repo != name) continue;
                    hits++;
                    c["image"] = $"{Str(img, "newName") ?? repo}:{Str(img, "newTag") ?? tag}";
                }
            Assert.True(hits > 0, $"{kfile}: images entry '{name}' matches no container image");
        }
        foreach (var patch in List(k, "patches").OfType<Dictionary<string, object?>>())
        {
            var path = Path.Combine(dir, Str(patch, "path") ?? throw new InvalidDataException($"{kfile}: a patch without path"));
            Assert.True(File.Exists(path), $"{kfile}: patch file '{Str(patch, "path")}' does not exist");
            var kind = Str(patch, "target", "kind");
            var name = Str(patch, "target", "name");
            var targets = resources.Where(r => Kind(r) == kind && Name(r) == name).ToList();
            Assert.True(targets.Count == 1, $"{kfile}: patch target {kind}/{name} matches {targets.Count} resources");
            var ops = ParseAll(path).Single() as List<object?> ?? throw new InvalidDataException($"{path}: expected a JSON 6902 list of operations.");
            foreach (var op in ops.Cast<Dictionary<string, object?>>()) ApplyJsonPatch(targets[0], op, $"{path}: {Str(op, "op")} {Str(op, "path")}");
        }
        return resources;
    }

    public static (string Repo, string Tag) SplitImage(string image)
    {
        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        return colon > slash ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    private static void ApplyJsonPatch(Dictionary<string, object?> doc, Dictionary<string, object?> op, string where)
    {
        var tokens = Str(op, "path")!.Split('/').Skip(1).Select(t => t.Replace("~1", "/").Replace("~0", "~")).ToArray();
        object? parent = doc;
        foreach (var t in tokens[..^1])
        {
            parent = At(parent, t);
            Assert.True(parent is not null, $"{where}: path does not exist (at '{t}')");
        }
        var last = tokens[^1];
        var kind = Str(op, "op");
        var value = op.GetValueOrDefault("value");
        switch (parent)
        {
            case Dictionary<string, object?> m:
                if (kind != "add") Assert.True(m.ContainsKey(last), $"{where}: path does not exist");
                if (kind == "test") Assert.True(Same(m[last], value), $"{where}: test failed, found {m[last]}");
                else if (kind == "remove") m.Remove(last);
                else if (kind is "replace" or "add") m[last] = value;
                else Assert.Fail($"{where}: op not supported here");
                break;
            case List<object?> l:
                var index = last == "-" ? l.Count : int.Parse(last);
                if (kind != "add") Assert.True(index >= 0 && index < l.Count, $"{where}: index out of range");
                if (kind == "test") Assert.True(Same(l[index], value), $"{where}: test failed, found {l[index]}");
                else if (kind == "remove") l.RemoveAt(index);
                else if (kind == "replace") l[index] = value;
                else if (kind == "add") l.Insert(index, value);
                break;
            default:
                Assert.Fail($"{where}: parent is not a mapping or a list");
                break;
        }
    }

    private static bool Same(object? a, object? b) =>
        System.Text.Json.JsonSerializer.Serialize(a) == System.Text.Json.JsonSerializer.Serialize(b);
}
