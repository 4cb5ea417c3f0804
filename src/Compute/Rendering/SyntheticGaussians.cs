namespace UniCLift.Compute.Rendering;

using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>Random Gaussians in front of a camera, for tests and `bench raster`.</summary>
public static class SyntheticGaussians
{
    /// <summary>A camera at <paramref name="eye"/> looking at <paramref name="target"/> (OpenCV axes, world up = -y).</summary>
    public static Camera LookAt(int width, int height, double fovXDegrees, (double X, double Y, double Z) eye, (double X, double Y, double Z) target)
    {
        double fx = 0.5 * width / Math.Tan(0.5 * fovXDegrees * Math.PI / 180);
        return new Camera(width, height, fx, fx, 0.5 * width, 0.5 * height, Camera.LookAtPose(eye, target, (0, -1, 0)));
    }

    /// <summary>N Gaussians whose means project into (a margin around) the image at depths [zNear, zFar], with
    /// screen-space standard deviations between minPx and maxPx pixels; fractionBehind of them are put behind the
    /// camera (or nearly on its plane) to exercise culling. Means project to u in [-0.1, maxU] x width (maxU &lt; 1
    /// leaves the right of the image empty). Leaf tensors on CPU in the given dtype.</summary>
    public static GaussianTensors Random(Camera cam, int n, int shDegree, int featureChannels, int seed,
        double minPx = 1.5, double maxPx = 12, double zNear = 2, double zFar = 8, double fractionBehind = 0, ScalarType dtype = ScalarType.Float32,
        double opacityLogitMean = 0, bool requiresGrad = true, double maxU = 1.1)
    {
        var rng = new System.Random(seed);
        int k = (shDegree + 1) * (shDegree + 1);
        var means = new double[n * 3]; var logScales = new double[n * 3]; var quats = new double[n * 4];
        var opac = new double[n]; var sh = new double[n * k * 3]; var feat = new double[n * Math.Max(featureChannels, 0)];
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        for (int i = 0; i < n; i++)
        {
            bool behind = rng.NextDouble() < fractionBehind;
            // Behind: camera-space depth in [-1.5, 0.008], i.e. behind the camera or in front of a 0.01 near plane.
            double z = behind ? -1.5 + 1.508 * rng.NextDouble() : zNear + (zFar - zNear) * rng.NextDouble();
            double u = (-0.1 + (maxU + 0.1) * rng.NextDouble()) * cam.Width, v = (-0.1 + 1.2 * rng.NextDouble()) * cam.Height;
            var p = cam.Unproject(u, v, z);
            means[3 * i] = p.X; means[3 * i + 1] = p.Y; means[3 * i + 2] = p.Z;
            double px = minPx * Math.Pow(maxPx / minPx, rng.NextDouble());
            double sigma = px * Math.Abs(behind ? 3 : z) / cam.Fx;
            for (int a = 0; a < 3; a++) logScales[3 * i + a] = Math.Log(sigma) + 0.4 * Gauss();
            for (int a = 0; a < 4; a++) quats[4 * i + a] = Gauss();
            opac[i] = opacityLogitMean + 1.5 * Gauss();
            for (int j = 0; j < k; j++)
                for (int c = 0; c < 3; c++)
                    sh[(i * k + j) * 3 + c] = j == 0 ? 0.8 * Gauss() : 0.15 * Gauss();
            for (int c = 0; c < featureChannels; c++) feat[i * featureChannels + c] = Gauss();
        }
        Tensor T(double[] a, params long[] shape) => tensor(a, dtype: dtype).reshape(shape).requires_grad_(requiresGrad);
        return new GaussianTensors(T(means, n, 3), T(logScales, n, 3), T(quats, n, 4), T(opac, n), T(sh, n, k, 3),
            featureChannels > 0 ? T(feat, n, featureChannels) : null);
    }
}
