namespace UniCLift.Cluster.Tests.Ops;

using System.Globalization;

/// <summary>One Prometheus text-format scrape: samples by metric name, with their label sets.</summary>
public sealed class Scrape
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value, string Line);

    public string Text { get; }
    public IReadOnlyList<Sample> Samples { get; }

    private Scrape(string text, IReadOnlyList<Sample> samples) => (Text, Samples) = (text, samples);

    public static Scrape Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int brace = line.IndexOf('{'), space = line.IndexOf(' ');
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            string name, rest;
            if (brace >= 0 && (space < 0 || brace < space))
            {
                name = line[..brace];
                int close = line.IndexOf('}', brace);
                ParseLabels(line[(brace + 1)..close], labels);
                rest = line[(close + 1)..].Trim();
            }
            else
            {
                name = line[..space];
                rest = line[(space + 1)..].Trim();
            }
            var valueText = rest.Split(' ')[0];
            var value = valueText switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(valueText, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(name, labels, value, line));
        }
        return new Scrape(text, samples);
    }

    private static void ParseLabels(string s, Dictionary<string, string> labels)
    {
        int i = 0;
        while (i < s.Length)
        {
            int eq = s.IndexOf('=', i);
            var key = s[i..eq].Trim().TrimStart(',').Trim();
            int j = eq + 2; // past ="
            var value = new System.Text.StringBuilder();
            while (s[j] != '"')
            {
                if (s[j] == '\\') j++;
                value.Append(s[j++]);
            }
            labels[key] = value.ToString();
            i = j + 1;
            while (i < s.Length && (s[i] == ',' || s[i] == ' ')) i++;
        }
    }

    public IEnumerable<string> Names => Samples.Select(s => s.Name).Distinct();

    public bool Has(string name) => Samples.Any(s => s.Name == name);

    /// <summary>Samples of <paramref name="name"/> whose labels include all of <paramref name="labels"/> ("k=v").</summary>
    public IEnumerable<Sample> Find(string name, params string[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l =>
        {
            var kv = l.Split('=', 2);
            return s.Labels.TryGetValue(kv[0], out var v) && v == kv[1];
        }));

    /// <summary>The one value of <paramref name="name"/> with these labels; fails if there is not exactly one.</summary>
    public double Value(string name, params string[] labels)
    {
        var found = Find(name, labels).ToList();
        Assert.True(found.Count == 1,
            $"Expected one sample {name}{{{string.Join(',', labels)}}}, found {found.Count}: {string.Join(" | ", found.Select(f => f.Line))}");
        return found[0].Value;
    }
}
