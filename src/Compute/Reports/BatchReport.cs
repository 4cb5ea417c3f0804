namespace UniCLift.Compute.Reports;

using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using UniCLift.Compute.IO;
using UniCLift.Compute.Metrics;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;

public sealed record ReportOptions
{
    /// <summary>Views shown per scene (test views first, evenly spaced).</summary>
    public int ViewsPerScene { get; init; } = 4;

    /// <summary>Pictures wider than this are embedded downscaled to it (images area-averaged, label maps nearest), so a
    /// report over full-resolution views stays small; 0 embeds them at their own size. The files keep full resolution.</summary>
    public int ThumbnailWidth { get; init; } = 320;

    /// <summary>HTML added to the page's head once (the 3D viewer's script bundle, which lives in the client), or null.</summary>
    public string? HeadHtml { get; init; }

    /// <summary>HTML for one result folder (its full path, its index on the page), placed after its metrics: the 3D
    /// viewer; null returned or no function: no section.</summary>
    public Func<string, int, string?>? SceneSection { get; init; }
}

/// <summary>
/// A static HTML page over one or more segmentation results (folders written by SceneSegmentation): per scene a grid
/// of views (image, predicted instances, input mask, ground truth, each colourised with <see cref="LabelColors"/>),
/// the figures of metrics.json and the loss curves as inline SVG.
/// <para>Images are embedded as PNG data URIs: the page is one self-contained file that opens from disk, survives
/// being moved, mailed or attached to a CI run, and needs no server (relative paths would break as soon as the page
/// or a result folder moves). The cost is size (~1.35x the PNG bytes), acceptable for a few views per scene.
/// A small inline script writes data-images-loaded="loaded/total" on &lt;body&gt; at window load, for headless checks.</para>
/// </summary>
public static class BatchReport
{
    public static void Write(IReadOnlyList<string> resultDirs, string outPath, ReportOptions? options = null) =>
        AtomicFile.WriteAllText(outPath, Build(resultDirs, options));

    public static string Build(IReadOnlyList<string> resultDirs, ReportOptions? options = null)
    {
        options ??= new ReportOptions();
        if (resultDirs.Count == 0) throw new ArgumentException("No result folders given for the report.");
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>UniCLift report</title>\n<style>\n")
          .Append("body{font-family:system-ui,sans-serif;margin:20px;background:#fafafa;color:#222}\n")
          .Append("section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin-bottom:20px}\n")
          .Append("h2{margin:0 0 4px 0;font-size:18px} .path{color:#666;font-size:12px;margin-bottom:8px}\n")
          .Append("table.grid td,table.grid th{padding:3px;text-align:center;font-size:12px} table.grid img{width:200px;image-rendering:pixelated;border:1px solid #ccc}\n")
          .Append("table.metrics{border-collapse:collapse;margin:8px 0} table.metrics td{border:1px solid #ddd;padding:3px 8px;font-size:13px}\n")
          .Append(".plots{display:flex;flex-wrap:wrap;gap:8px} .warn{color:#a60}\n</style>\n")
          .Append("<script>\nwindow.addEventListener('load', function () {\n  var imgs = document.images, ok = 0;\n")
          .Append("  for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;\n")
          .Append("  document.body.setAttribute('data-images-loaded', ok + '/' + imgs.length);\n});\n</script>\n")
          .Append(options.HeadHtml ?? "")
          .Append("</head>\n<body>\n")
          .Append("<h1>UniCLift segmentation report</h1>\n");
        for (int i = 0; i < resultDirs.Count; i++) AppendScene(sb, resultDirs[i], i, options);
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private static string H(string? s) => WebUtility.HtmlEncode(s ?? "");

    private static void AppendScene(StringBuilder sb, string dir, int index, ReportOptions options)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Result folder not found: {dir}");
        var root = Path.GetFullPath(dir);
        var metricsPath = Path.Combine(root, "metrics.json");
        JsonObject? metrics = null;
        if (File.Exists(metricsPath))
        {
            try { metrics = JsonNode.Parse(DataFile.ReadAllText(metricsPath)) as JsonObject; }
            catch (JsonException e) { throw new InvalidDataException($"{metricsPath}: not valid JSON ({e.Message}).", e); }
            if (metrics is null) throw new InvalidDataException($"{metricsPath}: expected a JSON object.");
        }
        var predDir = Path.Combine(root, "instance");
        if (!Directory.Exists(predDir)) throw new InvalidDataException($"{predDir}: missing (a result folder holds instance/<frame>.png).");

        // The scene (for images, input masks and ground truth) when metrics.json names one that still exists.
        Scene? scene = null;
        string? sceneNote = null;
        var scenePath = metrics?["scene"]?.GetValue<string>();
        if (scenePath is not null && Directory.Exists(scenePath))
        {
            // With the mask folder the run used (metrics.json's "masks"), so the input masks shown are those it lifted.
            try { scene = SceneInspector.Read(scenePath, metrics?["masks"]?.GetValue<string>()); }
            catch (Exception e) when (e is InvalidDataException or DirectoryNotFoundException or ArgumentException) { sceneNote = "scene could not be read: " + e.Message; }
        }
        else sceneNote = scenePath is null ? "metrics.json names no scene: showing predictions only" : $"scene folder {scenePath} not found: showing predictions only";

        sb.Append("<section>\n<h2>").Append(H(scene is null ? Path.GetFileName(root) : Path.GetFileName(scene.Root.TrimEnd('/', '\\')))).Append("</h2>\n")
          .Append("<div class=\"path\">result ").Append(H(root)).Append(scene is null ? "" : " &middot; scene " + H(scene.Root) + " (" + scene.Layout + ")").Append("</div>\n");
        if (sceneNote is not null) sb.Append("<p class=\"warn\">").Append(H(sceneNote)).Append("</p>\n");
        if (metrics is null) sb.Append("<p class=\"warn\">no metrics.json</p>\n");
        else AppendMetrics(sb, metrics);
        if (options.SceneSection?.Invoke(root, index) is { } section) sb.Append(section);

        // Views: prediction files by stem; scene views matched through their prediction file name.
        var preds = Directory.EnumerateFiles(predDir, "*.png").ToDictionary(f => Path.GetFileNameWithoutExtension(f)!, f => f, StringComparer.Ordinal);
        var rows = new List<(string Name, SceneView? View, string Pred)>();
        if (scene is not null)
        {
            // Test views first (evenly spaced), then evenly spaced other views to fill the grid; scene order within each.
            bool HasPred(SceneView v) => preds.ContainsKey(Path.GetFileNameWithoutExtension(SceneEvaluator.PredictionFileName(v)));
            var test = scene.TestViews.ToHashSet(StringComparer.Ordinal);
            var chosen = Spread(scene.Views.Where(v => test.Contains(v.Name) && HasPred(v)).ToList(), options.ViewsPerScene);
            chosen.AddRange(Spread(scene.Views.Where(v => !test.Contains(v.Name) && HasPred(v)).ToList(), options.ViewsPerScene - chosen.Count));
            foreach (var v in chosen)
                rows.Add((v.Name + (test.Contains(v.Name) ? " (test)" : ""), v, preds[Path.GetFileNameWithoutExtension(SceneEvaluator.PredictionFileName(v))]));
        }
        else
        {
            foreach (var name in Spread(preds.Keys.Order(StringComparer.Ordinal).ToList(), options.ViewsPerScene))
                rows.Add((name, null, preds[name]));
        }

        bool gt = rows.Any(r => r.View?.GtInstancePath is not null);
        bool mask = rows.Any(r => r.View?.MaskPath is not null);
        sb.Append("<table class=\"grid\"><tr><th>view</th><th>image</th><th>predicted instances</th>");
        if (mask) sb.Append("<th>input mask</th>");
        if (gt) sb.Append("<th>ground truth</th>");
        sb.Append("</tr>\n");
        foreach (var (name, view, pred) in rows)
        {
            sb.Append("<tr><td>").Append(H(name)).Append("</td>");
            var overlay = Path.Combine(root, "overlays", (view?.Name ?? name) + ".png");
            RgbImage? image = view is not null ? ImageIO.ReadRgb(view.ImagePath) : File.Exists(overlay) ? ImageIO.ReadRgb(overlay) : null;
            int tw = options.ThumbnailWidth;
            Cell(sb, image is null ? null : Thumbnail(image, tw), "image " + name);
            Cell(sb, LabelColors.Colorize(Thumbnail(ImageIO.ReadLabels(pred), tw)), "prediction " + name);
            if (mask) Cell(sb, view?.MaskPath is { } m ? LabelColors.Colorize(Thumbnail(ImageIO.ReadLabels(m, view.Camera.Width, view.Camera.Height), tw)) : null, "mask " + name);
            if (gt) Cell(sb, view?.GtInstancePath is { } g ? LabelColors.Colorize(Thumbnail(ImageIO.ReadLabels(g), tw)) : null, "ground truth " + name);
            sb.Append("</tr>\n");
        }
        sb.Append("</table>\n");

        if (metrics?["loss_curve"] is JsonArray curve && curve.Count > 0) AppendLossCurves(sb, curve);
        sb.Append("</section>\n");
    }

    /// <summary>The image at most <paramref name="width"/> wide (aspect kept), each pixel the mean of the source pixels it covers.</summary>
    public static RgbImage Thumbnail(RgbImage image, int width)
    {
        if (width <= 0 || image.Width <= width) return image;
        int w = width, h = Math.Max(1, (int)Math.Round((double)image.Height * width / image.Width));
        var dst = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        {
            int y0 = (int)((long)y * image.Height / h), y1 = Math.Max(y0 + 1, (int)((long)(y + 1) * image.Height / h));
            for (int x = 0; x < w; x++)
            {
                int x0 = (int)((long)x * image.Width / w), x1 = Math.Max(x0 + 1, (int)((long)(x + 1) * image.Width / w));
                int r = 0, g = 0, b = 0, n = (y1 - y0) * (x1 - x0);
                for (int sy = y0; sy < y1; sy++)
                    for (int sx = x0; sx < x1; sx++)
                    {
                        int i = (sy * image.Width + sx) * 3;
                        r += image.Pixels[i]; g += image.Pixels[i + 1]; b += image.Pixels[i + 2];
                    }
                int o = (y * w + x) * 3;
                dst[o] = (byte)((r + n / 2) / n); dst[o + 1] = (byte)((g + n / 2) / n); dst[o + 2] = (byte)((b + n / 2) / n);
            }
        }
        return new RgbImage(w, h, dst);
    }

    /// <summary>The label map at most <paramref name="width"/> wide (aspect kept), nearest neighbour: ids are not averaged.</summary>
    public static LabelMap Thumbnail(LabelMap labels, int width) =>
        width <= 0 || labels.Width <= width ? labels
            : LabelResize.Nearest(labels, width, Math.Max(1, (int)Math.Round((double)labels.Height * width / labels.Width)));

    private static List<T> Spread<T>(IReadOnlyList<T> items, int k)
    {
        if (k <= 0) return [];
        if (items.Count <= k) return items.ToList();
        return Enumerable.Range(0, k).Select(i => items[(int)((long)i * items.Count / k)]).ToList();
    }

    private static void Cell(StringBuilder sb, RgbImage? image, string alt)
    {
        if (image is null) { sb.Append("<td>&ndash;</td>"); return; }
        sb.Append("<td><img alt=\"").Append(H(alt)).Append("\" src=\"").Append(DataUri(image)).Append("\"></td>");
    }

    /// <summary>A PNG data URI of the image.</summary>
    public static string DataUri(RgbImage image)
    {
        using var ms = new MemoryStream();
        Png.EncodeRgb8(ms, image.Width, image.Height, image.Pixels);
        return "data:image/png;base64," + Convert.ToBase64String(ms.GetBuffer(), 0, (int)ms.Length);
    }

    private static void AppendMetrics(StringBuilder sb, JsonObject m)
    {
        var cells = new List<(string, string)>();
        void Add(string label, JsonNode? n, string fmt = "0.##")
        {
            if (n is JsonValue v && v.TryGetValue<double>(out var d)) cells.Add((label, d.ToString(fmt, CultureInfo.InvariantCulture)));
            else if (n is JsonValue s && s.TryGetValue<string>(out var str)) cells.Add((label, str));
        }
        Add("mode", m["mode"]);
        Add("iterations", m["iterations"]);
        Add("seconds", m["seconds"], "0.0");
        Add("Gaussians", m["gaussians"]);
        Add("instances", m["instances"]);
        // How the background was chosen: from the masks' 0, or (masks without background, SAM's) from geometry.
        Add("background from", m["background_from"]);
        if (m["pq"] is JsonObject pq)
        {
            Add("PQ<sup>scene</sup>", pq["pq_scene"], "0.00");
            Add("PQ things", pq["pq_things"], "0.00");
            Add("SQ", pq["sq"], "0.00");
            Add("RQ", pq["rq"], "0.00");
            Add("eval frames", pq["frames"]);
            if (SceneSegmentation.PqNote(m) is { } note) cells.Add(("PQ measured", note));
        }
        else cells.Add(("PQ<sup>scene</sup>", $"n/a ({SceneSegmentation.PqNote(m)})"));
        sb.Append("<table class=\"metrics\"><tr>");
        foreach (var (l, _) in cells) sb.Append("<td><b>").Append(l).Append("</b></td>"); // labels are ours, not user text
        sb.Append("</tr><tr>");
        foreach (var (_, v) in cells) sb.Append("<td>").Append(H(v)).Append("</td>");
        sb.Append("</tr></table>\n");
        // The options as the command line takes them back: --set for training, --decode for decoding (older results
        // recorded neither, or only the first).
        foreach (var (key, what, flag) in new[] { ("settings", "training options", "--set"), ("decode_settings", "decode options", "--decode") })
        {
            if (m[key] is not JsonArray settings) continue;
            var lines = settings.Select(n => n is JsonValue v && v.TryGetValue<string>(out var str) ? str : null).OfType<string>().ToList();
            sb.Append("<div class=\"path\">").Append(what).Append(": ")
              .Append(lines.Count == 0 ? "the defaults" : H(string.Join(" ", lines.Select(l => flag + " " + l)))).Append("</div>\n");
        }
    }

    private static readonly (string Key, string Colour)[] Series =
        [("total", "#222"), ("render", "#1f77b4"), ("cluster", "#d62728"), ("triplet", "#2ca02c"), ("smooth3d", "#9467bd")];

    /// <summary>One small SVG plot per loss term (own y range each: the terms differ by orders of magnitude and the
    /// cluster loss can be negative), x = step.</summary>
    private static void AppendLossCurves(StringBuilder sb, JsonArray curve)
    {
        double Val(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN;
        var steps = curve.Select(p => Val(p?["step"])).ToArray();
        sb.Append("<h3>Loss curves</h3><div class=\"plots\">\n");
        const int W = 260, Ht = 140, L = 48, R = 8, T = 20, B = 22;
        foreach (var (key, colour) in Series)
        {
            var ys = curve.Select(p => Val(p?[key])).ToArray();
            var pts = Enumerable.Range(0, ys.Length).Where(i => double.IsFinite(ys[i]) && double.IsFinite(steps[i])).ToList();
            if (pts.Count == 0 || pts.All(i => ys[i] == 0)) continue;
            double x0 = pts.Min(i => steps[i]), x1 = pts.Max(i => steps[i]), y0 = pts.Min(i => ys[i]), y1 = pts.Max(i => ys[i]);
            if (x1 == x0) x1 = x0 + 1;
            if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
            string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
            string G(double v) => (v + 0.0).ToString("G3", CultureInfo.InvariantCulture); // + 0.0: no "-0"
            var poly = string.Join(' ', pts.Select(i => F(L + (steps[i] - x0) / (x1 - x0) * (W - L - R)) + "," + F(T + (y1 - ys[i]) / (y1 - y0) * (Ht - T - B))));
            sb.Append($"<svg class=\"loss\" data-series=\"{key}\" width=\"{W}\" height=\"{Ht}\" viewBox=\"0 0 {W} {Ht}\" xmlns=\"http://www.w3.org/2000/svg\">")
              .Append($"<rect x=\"{L}\" y=\"{T}\" width=\"{W - L - R}\" height=\"{Ht - T - B}\" fill=\"#fff\" stroke=\"#ccc\"/>")
              .Append($"<text x=\"{L}\" y=\"13\" font-size=\"12\" fill=\"{colour}\">{key}</text>")
              .Append($"<text x=\"{L - 4}\" y=\"{T + 9}\" font-size=\"10\" text-anchor=\"end\">{G(y1)}</text>")
              .Append($"<text x=\"{L - 4}\" y=\"{Ht - B}\" font-size=\"10\" text-anchor=\"end\">{G(y0)}</text>")
              .Append($"<text x=\"{L}\" y=\"{Ht - 6}\" font-size=\"10\">{F(x0)}</text>")
              .Append($"<text x=\"{W - R}\" y=\"{Ht - 6}\" font-size=\"10\" text-anchor=\"end\">step {F(x1)}</text>")
              .Append($"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{poly}\"/></svg>\n");
        }
        sb.Append("</div>\n");
    }
}
