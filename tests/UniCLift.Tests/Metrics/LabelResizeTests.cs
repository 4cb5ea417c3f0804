namespace UniCLift.Tests.Metrics;

using UniCLift.Compute.Metrics;
using UniCLift.Compute.Scenes;

public class LabelResizeTests
{
    [Fact]
    public void PixelCentre_Matches_Pillow_Formula_For_640_To_512()
    {
        // Pillow NEAREST: floor((d + 0.5) * 640 / 512) = floor(1.25 d + 0.625).
        var idx = LabelResize.SourceIndices(640, 512, NearestMode.PixelCentre);
        Assert.Equal(new[] { 0, 1, 3, 4, 5, 6, 8, 9 }, idx.Take(8));
        Assert.Equal(639, idx[^1]);
    }

    [Fact]
    public void Floor_Matches_Torch_Formula_For_640_To_512()
    {
        var idx = LabelResize.SourceIndices(640, 512, NearestMode.Floor);
        Assert.Equal(new[] { 0, 1, 2, 3, 5, 6, 7, 8 }, idx.Take(8));
        Assert.Equal(638, idx[^1]);
    }

    [Fact]
    public void Upscale_NonSquare_5x3_To_512_Gives_Hand_Counted_Blocks()
    {
        var map = new LabelMap(5, 3);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++)
                map.Labels[y * 5 + x] = y * 5 + x + 1;

        // Pixel centre: column x gets the d with (2d+1)*5 in [1024x, 1024(x+1)): 102,103,102,103,102; rows: 171,170,171.
        AssertBlockCounts(LabelResize.Nearest(map, 512, 512), new[] { 102, 103, 102, 103, 102 }, new[] { 171, 170, 171 });
        // Floor: d*5 in [512x, 512(x+1)): 103,102,103,102,102; rows d*3 in [512y, 512(y+1)): 171,171,170.
        AssertBlockCounts(LabelResize.Nearest(map, 512, 512, NearestMode.Floor), new[] { 103, 102, 103, 102, 102 }, new[] { 171, 171, 170 });
    }

    [Fact]
    public void Downscale_Picks_Centre_Pixel()
    {
        // 4 -> 2 columns: pixel centre takes source 1 and 3 (Pillow), floor takes 0 and 2 (torch).
        var map = new LabelMap(4, 1, [10, 11, 12, 13]);
        Assert.Equal(new[] { 11, 13 }, LabelResize.Nearest(map, 2, 1).Labels);
        Assert.Equal(new[] { 10, 12 }, LabelResize.Nearest(map, 2, 1, NearestMode.Floor).Labels);
    }

    private static void AssertBlockCounts(LabelMap resized, int[] columns, int[] rows)
    {
        Assert.Equal(512, resized.Width);
        Assert.Equal(512, resized.Height);
        var counts = resized.Labels.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++)
                Assert.Equal(columns[x] * rows[y], counts[y * 5 + x + 1]);
    }
}
