namespace UniCLift.Cluster.Tests.Ops;

using System.Text.RegularExpressions;

/// <summary>Just enough PromQL lexing to list the metric names an expression selects.</summary>
internal static partial class PromQl
{
    private static readonly HashSet<string> NotMetrics = new(StringComparer.Ordinal)
    {
        // aggregations and keywords
        "sum", "avg", "min", "max", "count", "count_values", "stddev", "stdvar", "topk", "bottomk", "quantile", "group",
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan",
        // functions
        "rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "histogram_quantile", "abs", "ceil", "floor",
        "round", "clamp", "clamp_min", "clamp_max", "scalar", "vector", "time", "timestamp", "sort", "sort_desc", "label_replace",
        "label_join", "absent", "absent_over_time", "changes", "resets", "exp", "ln", "log2", "log10", "sqrt",
        "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time", "quantile_over_time",
    };

    [GeneratedRegex("\"(?:[^\"\\\\]|\\\\.)*\"")] private static partial Regex Strings();
    [GeneratedRegex(@"\{[^}]*\}")] private static partial Regex Matchers();
    [GeneratedRegex(@"\[[^\]]*\]")] private static partial Regex Ranges();
    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")] private static partial Regex Groupings();
    [GeneratedRegex(@"\$\{?\w+\}?")] private static partial Regex Variables();
    [GeneratedRegex(@"(?<![\w.])\d+(\.\d+)?([eE][+-]?\d+)?[smhdwy]?\b")] private static partial Regex Numbers();
    [GeneratedRegex(@"[A-Za-z_:][A-Za-z0-9_:]*")] private static partial Regex Identifiers();
    [GeneratedRegex(@"\b(rate|irate|increase)\s*\(\s*([A-Za-z_:][A-Za-z0-9_:]*)")] private static partial Regex RateOf();

    public static IReadOnlySet<string> MetricNames(string expr)
    {
        var s = Strings().Replace(expr, " ");
        s = Matchers().Replace(s, " ");
        s = Ranges().Replace(s, " ");
        s = Groupings().Replace(s, " ");
        s = Variables().Replace(s, " ");
        s = Numbers().Replace(s, " ");
        return Identifiers().Matches(s).Select(m => m.Value).Where(n => !NotMetrics.Contains(n)).ToHashSet();
    }

    /// <summary>Metric names passed straight to rate/irate/increase (those must be counters or histogram parts).</summary>
    public static IEnumerable<string> RatedMetrics(string expr) =>
        RateOf().Matches(Matchers().Replace(expr, "")).Select(m => m.Groups[2].Value);
}
