namespace UniCLift.Client.Viewer;

using System.Net;
using System.Text;
using System.Text.RegularExpressions;

/// <summary>
/// The browser side of the viewer, embedded in this assembly (no network, no npm at run time): the bundle
/// (Viewer/web/viewer.bundle.js: viewer.js + three.js + @mkkellogg/gaussian-splats-3d, rebuilt by build-viewer.sh),
/// its third-party licences, the page `uniclift view` serves, and the section report.html inlines.
/// </summary>
public static partial class ViewerAssets
{
    private static readonly Lazy<string> bundle = new(() => Resource("UniCLift.Client.Viewer.viewer.bundle.js"));
    private static readonly Lazy<string> licences = new(() => Resource("UniCLift.Client.Viewer.THIRD-PARTY.txt"));

    /// <summary>viewer.bundle.js (defines the global UniCLiftViewer).</summary>
    public static string Bundle => bundle.Value;

    /// <summary>Versions and licence texts of what the bundle contains.</summary>
    public static string Licences => licences.Value;

    private static string Resource(string name)
    {
        using var s = typeof(ViewerAssets).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"resource {name} is missing from {typeof(ViewerAssets).Assembly.Location}: rebuild the client.");
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }

    /// <summary>The page `uniclift view` serves at /: loads the bundle, then data/meta.json and data/payload.bin.</summary>
    public static string ServerPage(string title) =>
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>UniCLift viewer: " + WebUtility.HtmlEncode(title) + "</title>\n" +
        "<style>html,body{margin:0;height:100%}#viewer{height:100vh}</style>\n" +
        "<script src=\"viewer.bundle.js\"></script>\n</head>\n<body>\n<div id=\"viewer\"></div>\n" +
        "<script>UniCLiftViewer.startFromServer(document.getElementById('viewer'));</script>\n</body></html>\n";

    /// <summary>The bundle as an inline &lt;script&gt; for a self-contained page (once per page, in its head).</summary>
    public static string InlineBundle() => "<script>\n" + ScriptSafe(Bundle) + "\n</script>\n";

    /// <summary>
    /// report.html's section for one result: a 3D viewer over an inlined payload (base64) of at most
    /// <paramref name="maxGaussians"/> Gaussians. Needs <see cref="InlineBundle"/> in the page's head.
    /// </summary>
    public static string ReportSection(ViewerPayload data, string elementId)
    {
        var sb = new StringBuilder();
        sb.Append("<h3>3D viewer</h3>\n<p class=\"path\">").Append(WebUtility.HtmlEncode(Path.GetFileName(data.Source)))
          .Append(": ").Append(data.Total.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)).Append(" Gaussians")
          .Append(data.Shown < data.Total ? $", {data.Shown.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} inlined here (open the full scene with <code>uniclift view {WebUtility.HtmlEncode(data.ResultDirectory)}</code>)" : "")
          .Append(". Drag to orbit, right-drag to pan, wheel to zoom; click an instance (list or view) to isolate it, shift-click to hide it.</p>\n")
          .Append("<div class=\"viewer3d\" id=\"").Append(elementId).Append("\" style=\"height:560px;border:1px solid #ddd;margin-bottom:12px\"></div>\n")
          .Append("<script type=\"application/json\" id=\"").Append(elementId).Append("-meta\">").Append(data.MetaJson).Append("</script>\n")
          .Append("<script type=\"application/octet-stream\" id=\"").Append(elementId).Append("-payload\">")
          .Append(Convert.ToBase64String(data.Payload)).Append("</script>\n")
          .Append("<script>UniCLiftViewer.start(document.getElementById('").Append(elementId).Append("'), JSON.parse(document.getElementById('")
          .Append(elementId).Append("-meta').textContent), UniCLiftViewer.fromBase64(document.getElementById('").Append(elementId).Append("-payload').textContent));</script>\n");
        return sb.ToString();
    }

    /// <summary>
    /// Report options with the 3D viewer: the bundle inlined once in the head, and per result that holds labels.ply (or
    /// model.ply) a viewer over at most <see cref="ViewerPayload.ReportMaxGaussians"/> Gaussians in all: a page over
    /// <paramref name="results"/> results gives each its share (at least 25k), so a batch report stays small too.
    /// </summary>
    public static Compute.Reports.ReportOptions WithViewer(Compute.Reports.ReportOptions? options = null, int results = 1)
    {
        int perResult = Math.Max(25_000, ViewerPayload.ReportMaxGaussians / Math.Max(1, results));
        return (options ?? new()) with
        {
            HeadHtml = InlineBundle(),
            SceneSection = (dir, index) =>
                File.Exists(Path.Combine(dir, Compute.Segmentation.SceneSegmentation.LabelsPly)) || File.Exists(Path.Combine(dir, Compute.Segmentation.TrainedGaussians.FileName))
                    ? ReportSection(ViewerPayload.Build(dir, perResult), $"viewer3d-{index}")
                    : null,
        };
    }

    /// <summary>JavaScript that cannot close its &lt;script&gt; element early ("&lt;/script" only occurs in strings, where "&lt;\/" means the same).</summary>
    internal static string ScriptSafe(string js) => ScriptEnd().Replace(js, m => "<\\/" + m.Value[2..]);

    [GeneratedRegex("</script", RegexOptions.IgnoreCase)]
    private static partial Regex ScriptEnd();
}
