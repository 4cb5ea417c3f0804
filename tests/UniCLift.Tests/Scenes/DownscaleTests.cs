namespace UniCLift.Tests.Scenes;

using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Tests.IO;

/// <summary>
/// --downscale N (<see cref="Scene.Downscaled"/>): small synthetic files written as real PNGs and loaded through
/// <see cref="SceneData"/> at factors 2 and 3 (sizes that leave a remainder): the image is the exact mean of each N x N
/// block, labels and depth the pixel at each block's centre, the remainder cropped, and a 3D point projects to its
/// full-size position divided by N. Factor 1 is the scene as read.
/// </summary>
public class DownscaleTests
{
    private const int W = 13, H = 8; // 13 = 2*6 + 1 = 3*4 + 1; 8 = 2*4 = 3*2 + 2
    private static readonly double[] Pose = Camera.LookAtPose((0.3, -0.2, -4), (0, 0, 0), (0, -1, 0));
    private static readonly Camera Cam = new(W, H, 11.5, 12.25, 6.4, 4.1, Pose);

    private static byte Pixel(int x, int y, int c) => (byte)((x * 17 + y * 29 + c * 53) % 251);
    private static int Label(int x, int y) => 1000 + y * W + x;

    private static (Scene Scene, TempDir Dir) Write()
    {
        var dir = new TempDir();
        var img = new RgbImage(W, H);
        var labels = new LabelMap(W, H);
        var depth = new DepthMap(W, H);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                for (int c = 0; c < 3; c++) img.Pixels[(y * W + x) * 3 + c] = Pixel(x, y, c);
                labels.Labels[y * W + x] = Label(x, y);
                depth.Meters[y * W + x] = 1 + (y * W + x) / 1000f;
            }
        ImageIO.WriteRgb(dir.File("img.png"), img);
        ImageIO.WriteLabels16(dir.File("mask.png"), labels);
        ImageIO.WriteLabels16(dir.File("gt.png"), labels);
        ImageIO.WriteLabels16(dir.File("sem.png"), labels);
        ImageIO.WriteDepth16(dir.File("depth.png"), depth, 1000);
        var view = new SceneView("v", Cam, dir.File("img.png"), dir.File("depth.png"), dir.File("mask.png"), dir.File("gt.png"), dir.File("sem.png"), dir.File("sem.png"));
        return (new Scene(dir.Path, SceneLayout.PanopticLifting, [view], ["v"], ["v"]), dir);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Image_Is_The_Block_Mean_And_Maps_The_Block_Centre_With_The_Remainder_Cropped(int n)
    {
        var (full, dir) = Write();
        using var _ = dir;
        var scene = full.Downscaled(n);
        var v = scene.Views[0];
        int w = W / n, h = H / n;
        Assert.Equal((w, h, n), (v.Camera.Width, v.Camera.Height, v.Downscale));
        Assert.Equal(n, scene.Downscale);

        var img = SceneData.LoadImage(scene, v);
        Assert.Equal((w, h), (img.Width, img.Height));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                {
                    int sum = 0;
                    for (int j = 0; j < n; j++)
                        for (int i = 0; i < n; i++) sum += Pixel(n * x + i, n * y + j, c);
                    Assert.Equal((byte)Math.Round(sum / (double)(n * n), MidpointRounding.AwayFromZero), img.Pixels[(y * w + x) * 3 + c]);
                }

        foreach (var map in new[] { SceneData.LoadMask(scene, v), SceneData.LoadGtInstance(scene, v), SceneData.LoadGtSemantic(scene, v), SceneData.LoadMaskSemantic(scene, v) })
        {
            Assert.Equal((w, h), (map.Width, map.Height));
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    Assert.Equal(Label(n * x + n / 2, n * y + n / 2), map.Labels[y * w + x]);
        }
        var depth = SceneData.LoadDepth(scene, v);
        Assert.Equal((w, h), (depth.Width, depth.Height));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                Assert.Equal(1 + ((n * y + n / 2) * W + n * x + n / 2) / 1000f, depth.Meters[y * w + x], 1e-3f);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void A_Point_Projects_To_Its_Full_Size_Position_Divided_By_N(int n)
    {
        var small = Cam.Downscaled(n);
        foreach (var (x, y, z) in new[] { (0.0, 0.0, 0.0), (0.4, -0.3, 0.2), (-0.5, 0.25, -0.3) })
        {
            var (u, vv, d) = Cam.Project(x, y, z);
            var (us, vs, ds) = small.Project(x, y, z);
            Assert.Equal(u / n, us, 1e-12);
            Assert.Equal(vv / n, vs, 1e-12);
            Assert.Equal(d, ds, 1e-12);
        }
        // Pixel i's centre (i + 0.5) is the centre of full-size block [N i, N i + N).
        Assert.Equal((0.5 * n - Cam.Cx) / Cam.Fx, (0.5 - small.Cx) / small.Fx, 1e-12);
        var back = small.Upscaled(n, W, H); // the full-size pinhole camera a distorted view undistorts to
        Assert.Equal((W, H), (back.Width, back.Height));
        Assert.Equal([Cam.Fx, Cam.Fy, Cam.Cx, Cam.Cy], new[] { back.Fx, back.Fy, back.Cx, back.Cy }, (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void A_Distorted_View_Is_Undistorted_At_Full_Size_Then_Downscaled()
    {
        var (plain, dir) = Write();
        using var _ = dir;
        var full = plain with { Views = [plain.Views[0] with { Distortion = new Distortion("OPENCV", K1: -0.15, K2: 0.03, P1: 0.002) }] };
        var half = full.Downscaled(2);
        var (v1, v2) = (full.Views[0], half.Views[0]);
        Assert.Equal(SceneData.AreaMean(SceneData.LoadImage(full, v1), 2).Pixels, SceneData.LoadImage(half, v2).Pixels);
        Assert.Equal(SceneData.BlockCentres(SceneData.LoadMask(full, v1), 2).Labels, SceneData.LoadMask(half, v2).Labels);
        Assert.Equal(SceneData.BlockCentres(SceneData.LoadDepth(full, v1), 2).Meters, SceneData.LoadDepth(half, v2).Meters);
        Assert.NotEqual(SceneData.LoadImage(plain.Downscaled(2), plain.Downscaled(2).Views[0]).Pixels, SceneData.LoadImage(half, v2).Pixels);
    }

    [Fact]
    public void Factor_One_Is_The_Scene_As_Read()
    {
        var (full, dir) = Write();
        using var _ = dir;
        Assert.Same(full, full.Downscaled(1));
        Assert.Equal(1, full.Views[0].Downscale);
        var img = SceneData.LoadImage(full, full.Views[0]);
        Assert.Equal(ImageIO.ReadRgb(dir.File("img.png")).Pixels, img.Pixels);
        Assert.Equal(ImageIO.ReadLabels(dir.File("mask.png")).Labels, SceneData.LoadMask(full, full.Views[0]).Labels);
    }

    [Fact]
    public void A_File_Of_Another_Size_Names_The_File_And_Both_Sizes()
    {
        var (full, dir) = Write();
        using var _ = dir;
        ImageIO.WriteLabels16(dir.File("mask.png"), new LabelMap(W - 2, H));
        var scene = full.Downscaled(2);
        var e = Assert.Throws<InvalidDataException>(() => SceneData.LoadMask(scene, scene.Views[0]));
        Assert.Contains(dir.File("mask.png"), e.Message);
        Assert.Contains($"{W - 2}x{H}", e.Message);
        Assert.Contains($"{W / 2}x{H / 2} camera at --downscale 2", e.Message);
        Assert.Throws<ArgumentException>(() => full.Downscaled(9)); // 8 rows leave none at 1/9
    }
}
