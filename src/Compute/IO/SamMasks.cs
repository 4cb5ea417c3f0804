namespace UniCLift.Compute.IO;

using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using UniCLift.Compute.Scenes;

/// <summary>
/// The output of Segment Anything's automatic mask generator (segment-anything's <c>scripts/amg.py</c>) read as one
/// instance map per view, so a scene's <c>masks/</c> folder can be amg.py's output folder as it is:
/// <list type="bullet">
/// <item>a folder per image, <c>&lt;stem&gt;/0.png, 1.png, ...</c> (8-bit, 255 inside the mask) with
/// <c>metadata.csv</c> (<c>id,area,bbox_x0,...</c>), amg.py's default;</item>
/// <item><c>&lt;stem&gt;.json</c>, a list of annotations whose <c>segmentation</c> is a COCO RLE
/// (<c>{"size": [h, w], "counts": "..."}</c>, compressed as pycocotools writes it, or a list of run lengths),
/// amg.py's <c>--convert-to-rle</c>.</item>
/// </list>
/// SAM's masks overlap (an object and its parts, a part and its sub-parts) and need not cover the image. They are
/// painted as SAM's own notebooks draw them: largest first, each smaller one over it, so a pixel takes the smallest
/// mask that covers it (ties: the lower index on top); mask i gets id i + 1, and a pixel no mask covers is 0
/// (unlabelled). Ids mean nothing across views, as with any per-view segmenter.
/// </summary>
public static partial class SamMasks
{
    /// <summary>Whether <paramref name="path"/> is SAM output this class reads (a folder or a .json file).</summary>
    public static bool IsSamOutput(string path) =>
        Directory.Exists(path) || Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Reads a folder or .json of SAM masks as one label map. <paramref name="width"/> and <paramref name="height"/>
    /// (the view's camera) size a view where SAM found no mask and check the masks' size otherwise; without them a
    /// view with no mask is an error.
    /// </summary>
    public static LabelMap Read(string path, int? width = null, int? height = null) =>
        Directory.Exists(path) ? ReadFolder(path, width, height) : ReadJson(path, width, height);

    /// <summary>amg.py's folder of binary PNGs (see the class summary).</summary>
    public static LabelMap ReadFolder(string dir, int? width = null, int? height = null)
    {
        var files = MaskFiles(dir);
        var masks = new List<Mask>(files.Count);
        int w = width ?? -1, h = height ?? -1;
        string? sizeFrom = width is null ? null : "the view's camera";
        foreach (var (index, file) in files)
        {
            var png = ImageIO.ReadLabels(file); // a single-channel PNG, 255 inside (amg.py writes 0 and 255)
            CheckSize(file, png.Width, png.Height, ref w, ref h, ref sizeFrom);
            var inside = new List<int>();
            for (int i = 0; i < png.Labels.Length; i++)
                if (png.Labels[i] != 0) inside.Add(i);
            masks.Add(new Mask(index, [.. inside]));
        }
        if (w < 0) throw new InvalidDataException($"{dir}: SAM found no mask in this view and nothing says the view's size.");
        return Paint(w, h, masks);
    }

    /// <summary>The most pixels a mask may have (16384 x 16384).</summary>
    public const long MaxPixels = 16384L * 16384;

    /// <summary>amg.py's <c>--convert-to-rle</c> JSON (see the class summary).</summary>
    public static LabelMap ReadJson(string path, int? width = null, int? height = null)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(ImageIO.ReadBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("annotations", out var list)) root = list;
            if (root.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{path}: expected a list of SAM annotations (amg.py --convert-to-rle), found {root.ValueKind}.");
            int w = width ?? -1, h = height ?? -1;
            string? sizeFrom = width is null ? null : "the view's camera";
            var masks = new List<Mask>();
            int index = 0;
            foreach (var a in root.EnumerateArray())
            {
                string where = $"{path}: annotation {index}";
                if (a.ValueKind != JsonValueKind.Object || !a.TryGetProperty("segmentation", out var seg) || seg.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"{where} has no \"segmentation\" object (a COCO RLE: {{\"size\": [h, w], \"counts\": ...}}).");
                if (!seg.TryGetProperty("size", out var size) || size.ValueKind != JsonValueKind.Array || size.GetArrayLength() != 2
                    || size[0].ValueKind != JsonValueKind.Number || size[1].ValueKind != JsonValueKind.Number
                    || !size[0].TryGetInt32(out int rh) || !size[1].TryGetInt32(out int rw) || rh <= 0 || rw <= 0)
                    throw new InvalidDataException($"{where}: segmentation \"size\" must be [height, width], two positive integers.");
                // Read without a camera to compare with (eval), a corrupt size would allocate its mask first.
                if ((long)rh * rw > MaxPixels)
                    throw new InvalidDataException($"{where}: segmentation \"size\" [{rh}, {rw}] is over {MaxPixels / 1_000_000} million pixels, larger than any view this reads.");
                CheckSize($"{where}", rw, rh, ref w, ref h, ref sizeFrom);
                if (!seg.TryGetProperty("counts", out var counts))
                    throw new InvalidDataException($"{where}: segmentation has no \"counts\".");
                long[] runs = counts.ValueKind switch
                {
                    JsonValueKind.String => DecodeCounts(counts.GetString()!, where),
                    JsonValueKind.Array => counts.EnumerateArray().Select((c, i) => c.TryGetInt64(out long v) && v >= 0 ? v
                        : throw new InvalidDataException($"{where}: counts[{i}] must be a non-negative integer, found {c.GetRawText()}.")).ToArray(),
                    _ => throw new InvalidDataException($"{where}: \"counts\" must be a string (compressed RLE) or a list of run lengths."),
                };
                masks.Add(new Mask(index, Inside(runs, rh, rw, where)));
                index++;
            }
            if (w < 0) throw new InvalidDataException($"{path}: SAM found no mask in this view and nothing says the view's size.");
            return Paint(w, h, masks);
        }
    }

    /// <summary>
    /// pycocotools' compressed RLE string (<c>rleToString</c>: 5 bits a character from '0', 0x20 to continue, the
    /// last character's 0x10 the sign, and every count after the third stored as the difference from the count two
    /// before) to the run lengths.
    /// </summary>
    public static long[] DecodeCounts(string s, string where)
    {
        var counts = new List<long>();
        int p = 0;
        while (p < s.Length)
        {
            long x = 0;
            int k = 0;
            bool more = true;
            while (more)
            {
                if (p >= s.Length) throw new InvalidDataException($"{where}: compressed RLE ends inside a count (at character {p}).");
                int c = s[p] - 48;
                if (c < 0 || c > 63) throw new InvalidDataException($"{where}: compressed RLE has '{s[p]}' at character {p}, outside '0'..'o'.");
                if (k > 12) throw new InvalidDataException($"{where}: compressed RLE count at character {p} is too long.");
                x |= (long)(c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) != 0) x |= -1L << (5 * k);
            }
            if (counts.Count > 2) x += counts[^2];
            if (x < 0) throw new InvalidDataException($"{where}: compressed RLE decodes to a negative run ({x}) at count {counts.Count}.");
            counts.Add(x);
        }
        return [.. counts];
    }

    /// <summary>
    /// The row-major pixel indices a COCO RLE covers: runs alternate outside / inside, starting outside, over the
    /// pixels in column-major order (down each column, then the next column).
    /// </summary>
    public static int[] Inside(IReadOnlyList<long> runs, int height, int width, string where)
    {
        long n = (long)height * width, at = 0;
        var inside = new List<int>();
        for (int i = 0; i < runs.Count; i++)
        {
            long end = at + runs[i];
            if (end > n) throw new InvalidDataException($"{where}: RLE runs cover {runs.Sum()} pixels, more than {height}x{width} = {n}.");
            if (i % 2 == 1)
                for (long t = at; t < end; t++) inside.Add((int)(t % height * width + t / height));
            at = end;
        }
        if (at != n) throw new InvalidDataException($"{where}: RLE runs cover {at} pixels, not {height}x{width} = {n}.");
        inside.Sort();
        return [.. inside];
    }

    /// <summary>Largest first, each smaller one over it; mask i gets id i + 1.</summary>
    public static LabelMap Paint(int width, int height, IReadOnlyList<Mask> masks)
    {
        var map = new LabelMap(width, height);
        foreach (var m in masks.OrderByDescending(m => m.Pixels.Length).ThenByDescending(m => m.Index))
            foreach (int i in m.Pixels) map.Labels[i] = m.Index + 1;
        return map;
    }

    /// <summary>One SAM mask: its index in amg.py's output and the row-major pixels it covers.</summary>
    public sealed record Mask(int Index, int[] Pixels);

    /// <summary>The folder's mask files by index: metadata.csv's ids when it is there (each must have its PNG), else every N.png.</summary>
    private static List<(int Index, string File)> MaskFiles(string dir)
    {
        var metadata = Path.Combine(dir, "metadata.csv");
        List<int> ids;
        if (File.Exists(metadata))
        {
            ids = [];
            int line = 0;
            foreach (var row in DataFile.ReadLines(metadata))
            {
                line++;
                if (line == 1 || row.Length == 0) continue; // the header
                var first = row.Split(',')[0];
                if (!int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                    throw new InvalidDataException($"{metadata}: line {line}: the mask id \"{first}\" is not a non-negative integer.");
                ids.Add(id);
            }
            foreach (int id in ids)
                if (!File.Exists(Path.Combine(dir, $"{id}.png")))
                    throw new InvalidDataException($"{Path.Combine(dir, $"{id}.png")}: missing (metadata.csv lists mask {id}).");
            // amg.py lists every mask it writes; masks it does not list are a metadata.csv cut short (an empty one made
            // the view all background).
            var listed = ids.ToHashSet();
            var unlisted = NumberedPngs(dir).Where(id => !listed.Contains(id)).Order().ToList();
            if (unlisted.Count > 0)
                throw new InvalidDataException($"{metadata}: lists {ids.Count} masks, but the folder also holds {string.Join(", ", unlisted.Take(3).Select(i => i + ".png"))}" +
                                               $"{(unlisted.Count > 3 ? $" and {unlisted.Count - 3} more" : "")}; amg.py lists every mask it writes.");
        }
        else
        {
            ids = [.. NumberedPngs(dir)];
            if (ids.Count == 0 && Directory.EnumerateFileSystemEntries(dir).Any())
                throw new InvalidDataException($"{dir}: a mask folder must hold SAM's masks as 0.png, 1.png, ... (amg.py's output) with its metadata.csv; found neither.");
        }
        ids.Sort();
        return [.. ids.Distinct().Select(id => (id, Path.Combine(dir, $"{id}.png")))];
    }

    /// <summary>The N of every N.png in <paramref name="dir"/> (amg.py's mask files).</summary>
    private static IEnumerable<int> NumberedPngs(string dir) =>
        Directory.EnumerateFiles(dir, "*.png").Select(Path.GetFileName).Select(f => MaskName().Match(f!))
            .Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    private static void CheckSize(string what, int w, int h, ref int width, ref int height, ref string? from)
    {
        if (width < 0)
        {
            (width, height, from) = (w, h, what);
            return;
        }
        if (w != width || h != height)
            throw new InvalidDataException($"{what}: mask is {w}x{h}, but {from} is {width}x{height}.");
    }

    [GeneratedRegex(@"^(\d+)\.png$")]
    private static partial Regex MaskName();
}
