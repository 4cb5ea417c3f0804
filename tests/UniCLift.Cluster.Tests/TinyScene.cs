namespace UniCLift.Cluster.Tests;

using UniCLift.Compute.Scenes;

/// <summary>
/// A small, exactly consistent scene for cluster tests: a plane z = 0 seen by 4 cameras from z = -3; x &lt; 0 is one
/// red instance, x &gt;= 0 one blue instance. Predicted masks swap the two ids on odd views (inconsistent ids, as
/// UniC-Lift expects); ground truth is consistent. Depth is exact.
/// </summary>
internal static class TinyScene
{
    public static string Write(string dir, int width = 32, int height = 24)
    {
        var views = new List<ViewData>();
        double[] offsets = [-0.3, -0.1, 0.1, 0.3];
        for (int k = 0; k < offsets.Length; k++)
        {
            var c2w = Camera.LookAtPose((offsets[k], 0.1 * k - 0.15, -3), (0, 0, 0), (0, 1, 0));
            var cam = new Camera(width, height, width * 0.9, width * 0.9, width / 2.0, height / 2.0, c2w);
            var image = new RgbImage(width, height);
            var depth = new DepthMap(width, height);
            var gt = new LabelMap(width, height);
            var mask = new LabelMap(width, height);
            for (int v = 0; v < height; v++)
            {
                for (int u = 0; u < width; u++)
                {
                    // Pixel centre ray in camera axes, z = 1, to world.
                    double dx = (u + 0.5 - cam.Cx) / cam.Fx, dy = (v + 0.5 - cam.Cy) / cam.Fy;
                    double wx = c2w[0] * dx + c2w[1] * dy + c2w[2], wy = c2w[4] * dx + c2w[5] * dy + c2w[6], wz = c2w[8] * dx + c2w[9] * dy + c2w[10];
                    double t = -c2w[11] / wz; // depth along the optical axis
                    double x = c2w[3] + t * wx;
                    int i = v * width + u;
                    int id = x < 0 ? 1 : 2;
                    depth.Meters[i] = (float)t;
                    gt.Labels[i] = id;
                    mask.Labels[i] = k % 2 == 1 ? 3 - id : id;
                    image.Pixels[i * 3 + 0] = (byte)(id == 1 ? 220 : 30);
                    image.Pixels[i * 3 + 1] = (byte)(40 + (int)(20 * Math.Clamp(c2w[7] + t * wy, -1, 1)));
                    image.Pixels[i * 3 + 2] = (byte)(id == 1 ? 30 : 220);
                }
            }
            views.Add(new ViewData($"{k:D4}", cam, image, depth, Mask: mask, GtInstance: gt, GtSemantic: gt, MaskSemantic: mask));
        }
        PanopticLiftingLayout.Write(dir, views, ["0000", "0001", "0002"], ["0003"]);
        return dir;
    }
}
