namespace UniCLift.Tests.IO;

using System.Text;
using System.Text.Json;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;

/// <summary>Segment Anything's automatic-mask output (segment-anything scripts/amg.py) written for tests: a folder of
/// binary PNGs with metadata.csv, or --convert-to-rle's JSON with pycocotools' compressed counts.</summary>
internal static class SamFixtures
{
    public const string MetadataHeader = "id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h";

    /// <summary>pycocotools' rleToString (common/maskApi.c), line for line: the encoder the decoder must invert.</summary>
    public static string CocoString(IReadOnlyList<long> counts)
    {
        var s = new StringBuilder();
        for (int i = 0; i < counts.Count; i++)
        {
            long x = counts[i];
            if (i > 2) x -= counts[i - 2];
            bool more = true;
            while (more)
            {
                int c = (int)(x & 0x1f);
                x >>= 5;
                more = (c & 0x10) != 0 ? x != -1 : x != 0;
                if (more) c |= 0x20;
                s.Append((char)(c + 48));
            }
        }
        return s.ToString();
    }

    /// <summary>COCO run lengths of a row-major mask: column-major order, starting with a run outside.</summary>
    public static long[] Runs(bool[] mask, int h, int w)
    {
        var runs = new List<long>();
        bool inside = false;
        long run = 0;
        for (int x = 0; x < w; x++)
            for (int y = 0; y < h; y++)
            {
                if (mask[y * w + x] != inside)
                {
                    runs.Add(run);
                    run = 0;
                    inside = !inside;
                }
                run++;
            }
        runs.Add(run);
        return [.. runs];
    }

    public static void WriteMaskPng(string path, bool[] mask, int w, int h)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var f = File.Create(path);
        Png.Encode8(f, w, h, 1, mask.Select(b => b ? (byte)255 : (byte)0).ToArray());
    }

    /// <summary>amg.py's folder for these masks (index = position), metadata.csv included.</summary>
    public static void WriteFolder(string dir, IReadOnlyList<bool[]> masks, int w, int h)
    {
        Directory.CreateDirectory(dir);
        var lines = new List<string> { MetadataHeader };
        for (int i = 0; i < masks.Count; i++)
        {
            WriteMaskPng(Path.Combine(dir, $"{i}.png"), masks[i], w, h);
            lines.Add($"{i},{masks[i].Count(b => b)},0,0,{w},{h},1.5,2.5,0.95,0.97,0,0,{w},{h}");
        }
        File.WriteAllText(Path.Combine(dir, "metadata.csv"), string.Join("\n", lines));
    }

    /// <summary>amg.py --convert-to-rle's JSON for these masks (compressed counts, as pycocotools writes them).</summary>
    public static void WriteJson(string path, IReadOnlyList<bool[]> masks, int w, int h)
    {
        var anns = masks.Select(m => new
        {
            segmentation = new { size = new[] { h, w }, counts = CocoString(Runs(m, h, w)) },
            area = m.Count(b => b),
            bbox = new[] { 0, 0, w, h },
            predicted_iou = 0.95,
            point_coords = new[] { new[] { 1.5, 2.5 } },
            stability_score = 0.97,
            crop_box = new[] { 0, 0, w, h },
        });
        File.WriteAllText(path, JsonSerializer.Serialize(anns));
    }

    /// <summary>
    /// A view's instance mask as SAM would give it: one binary mask per segment, plus a mask over the whole view and
    /// one over the two lowest segments together (SAM's coarser levels). Painted smallest on top, they give back the
    /// same segments (ids renamed; the background is the whole-view mask). Written as masksDir/name/ or name.json.
    /// </summary>
    public static void WriteAsSam(LabelMap m, string masksDir, string name, bool json)
    {
        var ids = m.Labels.Where(l => l != 0).Distinct().OrderBy(l => l).ToArray();
        var sam = ids.Select(id => m.Labels.Select(l => l == id).ToArray()).ToList();
        sam.Insert(0, m.Labels.Select(_ => true).ToArray());
        if (ids.Length >= 2) sam.Add(m.Labels.Select(l => l == ids[0] || l == ids[1]).ToArray());
        if (json) WriteJson(Path.Combine(masksDir, name + ".json"), sam, m.Width, m.Height);
        else WriteFolder(Path.Combine(masksDir, name), sam, m.Width, m.Height);
    }

    /// <summary>
    /// A view's instance mask as SAM masks that paint back to exactly the same ids: mask i is segment i + 1 (empty where
    /// the view has no such segment), then one mask over all the view's segments together, which the smaller ones
    /// cover. Written as masksDir/name/ or name.json.
    /// </summary>
    public static void WriteAsSamExact(LabelMap m, string masksDir, string name, bool json)
    {
        int max = m.Labels.Max();
        var sam = Enumerable.Range(1, max).Select(id => m.Labels.Select(l => l == id).ToArray()).ToList();
        if (m.Labels.Where(l => l != 0).Distinct().Count() >= 2) sam.Add(m.Labels.Select(l => l != 0).ToArray());
        if (json) WriteJson(Path.Combine(masksDir, name + ".json"), sam, m.Width, m.Height);
        else WriteFolder(Path.Combine(masksDir, name), sam, m.Width, m.Height);
    }
}
