namespace UniCLift.Tests.Scenes;

using System.Text.Json;
using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Tests.IO;

/// <summary>
/// Undistortion at load: a synthetic view is rendered through a distorted camera (each distorted pixel looks up the
/// pinhole pattern through this file's own inversion of the OpenCV model), written as a real PNG, loaded through
/// <see cref="SceneData"/> and compared with the pinhole pattern.
/// </summary>
public class UndistortionTests
{
    private const int W = 160, H = 120;
    private static readonly Camera Cam = new(W, H, 150, 146, 81.3, 58.7, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    private static readonly Distortion Barrel = new("OPENCV", K1: -0.18, K2: 0.04, P1: 0.003, P2: -0.002);

    // The OpenCV model, written out here independently of Distortion.Apply.
    private static (double X, double Y) Forward(double k1, double k2, double p1, double p2, double x, double y)
    {
        double r2 = x * x + y * y, rad = 1 + k1 * r2 + k2 * r2 * r2;
        return (x * rad + 2 * p1 * x * y + p2 * (r2 + 2 * x * x), y * rad + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y);
    }

    /// <summary>Distorted pixel -> pinhole pixel by fixed-point iteration, checked by the forward model.</summary>
    private static (double U, double V) ToPinhole(Distortion d, double ud, double vd)
    {
        double xd = (ud - Cam.Cx) / Cam.Fx, yd = (vd - Cam.Cy) / Cam.Fy, x = xd, y = yd;
        for (int it = 0; it < 200; it++)
        {
            var (fx, fy) = Forward(d.K1, d.K2, d.P1, d.P2, x, y);
            x += xd - fx; y += yd - fy;
        }
        var (cx, cy) = Forward(d.K1, d.K2, d.P1, d.P2, x, y);
        Assert.True(Math.Abs(cx - xd) < 1e-9 && Math.Abs(cy - yd) < 1e-9, "inversion did not converge");
        return (Cam.Fx * x + Cam.Cx, Cam.Fy * y + Cam.Cy);
    }

    /// <summary>Where the pinhole pixel centre (u, v) lies in the distorted image.</summary>
    private static (double U, double V) ToDistorted(Distortion d, double u, double v)
    {
        var (x, y) = Forward(d.K1, d.K2, d.P1, d.P2, (u - Cam.Cx) / Cam.Fx, (v - Cam.Cy) / Cam.Fy);
        return (Cam.Fx * x + Cam.Cx, Cam.Fy * y + Cam.Cy);
    }

    private static double[] Pattern(double u, double v) =>
        [128 + 90 * Math.Sin(u / 6), 128 + 90 * Math.Cos(v / 5), 128 + 60 * Math.Sin((u + v) / 8)];

    private static readonly int[] LabelSet = [3, 7, 42, 1000];

    private static int LabelAt(double u, double v) =>
        LabelSet[(int)(Math.Floor(u / 12) + 3 * Math.Floor(v / 12)) & 3];

    private static (RgbImage Image, LabelMap Labels) RenderDistorted(Distortion d)
    {
        var img = new RgbImage(W, H);
        var lab = new LabelMap(W, H);
        for (int j = 0; j < H; j++)
            for (int i = 0; i < W; i++)
            {
                var (u, v) = ToPinhole(d, i + 0.5, j + 0.5);
                var p = Pattern(u, v);
                for (int c = 0; c < 3; c++) img.Pixels[(j * W + i) * 3 + c] = (byte)Math.Round(p[c]);
                lab.Labels[j * W + i] = LabelAt(u, v);
            }
        return (img, lab);
    }

    private static SceneView WriteView(string dir, Distortion d)
    {
        var (img, lab) = RenderDistorted(d);
        var ip = Path.Combine(dir, "view.png");
        var mp = Path.Combine(dir, "mask.png");
        ImageIO.WriteRgb(ip, img);
        ImageIO.WriteLabels16(mp, lab);
        return new SceneView("view", Cam, ip, MaskPath: mp, GtInstancePath: mp, Distortion: d);
    }

    private static bool Inside(Distortion d, int i, int j, double margin)
    {
        var (su, sv) = ToDistorted(d, i + 0.5, j + 0.5);
        return su >= margin && su <= W - margin && sv >= margin && sv <= H - margin;
    }

    [Fact]
    public void Image_UndistortedMatchesThePinholeView()
    {
        using var dir = new TempDir();
        var view = WriteView(dir.Path, Barrel);
        var raw = ImageIO.ReadRgb(view.ImagePath);
        var und = SceneData.LoadImage(view);
        Assert.Equal((W, H), (und.Width, und.Height));

        double maxErr = 0, maxRawErr = 0;
        int compared = 0;
        for (int j = 0; j < H; j++)
            for (int i = 0; i < W; i++)
            {
                if (!Inside(Barrel, i, j, 2)) continue;
                var p = Pattern(i + 0.5, j + 0.5);
                for (int c = 0; c < 3; c++)
                {
                    maxErr = Math.Max(maxErr, Math.Abs(und.Pixels[(j * W + i) * 3 + c] - p[c]));
                    maxRawErr = Math.Max(maxRawErr, Math.Abs(raw.Pixels[(j * W + i) * 3 + c] - p[c]));
                }
                compared++;
            }
        Assert.True(compared > W * H * 3 / 4, $"only {compared} pixels compared");
        // The pattern changes by up to 15 levels per pixel: 5 levels is a third of a pixel.
        Assert.True(maxErr <= 5, $"undistorted image differs from the pinhole view by up to {maxErr} levels");
        Assert.True(maxRawErr > 60, $"the distorted image was already pinhole-like (max difference {maxRawErr}): the test proves nothing");
    }

    [Fact]
    public void Labels_NearestNeighbourKeepsOnlyInputLabelsAndLandWithinAPixel()
    {
        using var dir = new TempDir();
        var view = WriteView(dir.Path, Barrel);
        foreach (var und in new[] { SceneData.LoadMask(view), SceneData.LoadGtInstance(new Scene(dir.Path, SceneLayout.Colmap, [view], ["view"], ["view"]), view) })
        {
            Assert.Subset(new HashSet<int>(LabelSet.Append(0)), und.Labels.ToHashSet());
            int agree = 0, compared = 0;
            for (int j = 0; j < H; j++)
                for (int i = 0; i < W; i++)
                {
                    if (!Inside(Barrel, i, j, 1)) continue;
                    compared++;
                    int got = und.Labels[j * W + i];
                    if (got == LabelAt(i + 0.5, j + 0.5)) { agree++; continue; }
                    // A disagreement is a block edge moved by at most a pixel.
                    bool near = false;
                    for (int dj = -1; dj <= 1 && !near; dj++)
                        for (int di = -1; di <= 1 && !near; di++)
                            near = LabelAt(i + 0.5 + di, j + 0.5 + dj) == got;
                    Assert.True(near, $"pixel ({i}, {j}) has label {got}, none of its pinhole neighbours has it");
                }
            Assert.True(agree > compared * 0.85, $"{agree} of {compared} labels agree");
        }
    }

    [Fact]
    public void Pincushion_SourceOutsideTheImage_IsBlackAndVoid()
    {
        using var dir = new TempDir();
        var d = new Distortion("RADIAL", K1: 0.45, K2: 0.1);
        var view = WriteView(dir.Path, d);
        Assert.False(Inside(d, 0, 0, 0));
        var img = SceneData.LoadImage(view);
        var lab = SceneData.LoadMask(view);
        Assert.Equal(new byte[3], img.Pixels[..3]);
        Assert.Equal(0, lab.Labels[0]);
        int c = (H / 2 * W + W / 2);
        Assert.NotEqual(0, lab.Labels[c]);
        Assert.True(img.Pixels[c * 3] + img.Pixels[c * 3 + 1] + img.Pixels[c * 3 + 2] > 0);
        Assert.Equal(LabelAt(W / 2 + 0.5, H / 2 + 0.5), lab.Labels[c]);
    }

    [Fact]
    public void Fisheye_AndFullOpenCv_FollowTheirFormulas()
    {
        var f = new Distortion("OPENCV_FISHEYE", K1: 0.1, K2: -0.02, K3: 0.003, K4: -0.0004, Fisheye: true);
        double x = 0.4, y = -0.3, r = Math.Sqrt(x * x + y * y), th = Math.Atan(r);
        double thd = th * (1 + 0.1 * Math.Pow(th, 2) - 0.02 * Math.Pow(th, 4) + 0.003 * Math.Pow(th, 6) - 0.0004 * Math.Pow(th, 8));
        var (fx, fy) = f.Apply(x, y);
        Assert.Equal(x * thd / r, fx, 1e-12);
        Assert.Equal(y * thd / r, fy, 1e-12);
        Assert.Equal((0.0, 0.0), f.Apply(0, 0));
    }

    [Fact]
    public void Nerfstudio_DistortionCoefficientsAreUndistortedAtLoad()
    {
        using var dir = new TempDir();
        var (img, _) = RenderDistorted(Barrel);
        ImageIO.WriteRgb(Path.Combine(dir.Path, "images", "f0.png"), img);
        var doc = new
        {
            fl_x = Cam.Fx, fl_y = Cam.Fy, cx = Cam.Cx, cy = Cam.Cy, w = W, h = H, camera_model = "OPENCV",
            k1 = Barrel.K1, k2 = Barrel.K2, p1 = Barrel.P1, p2 = Barrel.P2,
            frames = new[] { new { file_path = "images/f0.png", transform_matrix = new double[][] { [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1] } } },
        };
        File.WriteAllText(Path.Combine(dir.Path, "transforms.json"), JsonSerializer.Serialize(doc));
        var s = SceneInspector.Read(dir.Path);
        Assert.Equal(SceneLayout.Nerfstudio, s.Layout);
        Assert.Equal(Barrel, s.Views[0].Distortion);
        Assert.Equal("OPENCV k1=-0.18 k2=0.04 p1=0.003 p2=-0.002 on 1 view, undistorted to pinhole at load", SceneInspector.DescribeDistortion(s));
        var und = SceneData.LoadImage(s, s.Views[0]);
        int i = 10, j = 8; // near a corner, where the distortion moves pixels most
        Assert.True(Inside(Barrel, i, j, 2));
        var p = Pattern(i + 0.5, j + 0.5);
        for (int c = 0; c < 3; c++) Assert.InRange(und.Pixels[(j * W + i) * 3 + c], p[c] - 5, p[c] + 5);
    }
}
