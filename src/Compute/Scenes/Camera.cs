namespace UniCLift.Compute.Scenes;

/// <summary>
/// A pinhole camera in OpenCV axes: x right, y down, z forward (looking along +z).
/// <see cref="CameraToWorld"/> is a 4x4 row-major rigid transform taking camera coordinates to world
/// coordinates (the Panoptic Lifting pose/*.txt convention). Pixel (u, v) = (fx x/z + cx, fy y/z + cy),
/// with the centre of the top-left pixel at (0.5, 0.5).
/// </summary>
public sealed record Camera(int Width, int Height, double Fx, double Fy, double Cx, double Cy, double[] CameraToWorld)
{
    public Camera Validate(string source)
    {
        if (Width <= 0 || Height <= 0) throw new InvalidDataException($"{source}: image size {Width}x{Height} is not positive.");
        if (!(Fx > 0) || !(Fy > 0)) throw new InvalidDataException($"{source}: focal lengths fx={Fx}, fy={Fy} must be positive.");
        // In pixels: a focal length under 4% of the image (a field of view past 170 degrees for a pinhole camera; a
        // 180-degree fisheye has about 32%) is intrinsics given in units of the image size, which trained to nothing.
        if (Fx < 0.04 * Width || Fy < 0.04 * Height)
            throw new InvalidDataException($"{source}: focal lengths fx={Fx:G4}, fy={Fy:G4} for a {Width}x{Height} image are not in pixels " +
                                           "(a field of view past 170 degrees); intrinsics normalised by the image size must be multiplied by it.");
        // A principal point far off the image (cx 5000 for a 64-pixel image trained to nothing, in silence): more than half
        // an image beyond its border is a typo or intrinsics of another image, not a crop.
        if (!(Cx >= -0.5 * Width && Cx <= 1.5 * Width && Cy >= -0.5 * Height && Cy <= 1.5 * Height))
            throw new InvalidDataException($"{source}: principal point cx={Cx:G6}, cy={Cy:G6} lies far outside the {Width}x{Height} image " +
                                           "(more than half an image beyond its border); it should be near the image's centre, in pixels.");
        if (CameraToWorld.Length != 16) throw new InvalidDataException($"{source}: camera-to-world must have 16 values, has {CameraToWorld.Length}.");
        foreach (var v in CameraToWorld)
            if (!double.IsFinite(v)) throw new InvalidDataException($"{source}: camera-to-world has a non-finite value.");
        return this;
    }

    /// <summary>Camera-to-world (row-major 4x4, OpenCV axes) at <paramref name="eye"/> looking at <paramref name="target"/>:
    /// x (right) = forward x up, y (down) = forward x right, so <paramref name="up"/> points to the top of the image. Where
    /// forward is parallel to up, z (or x, looking along z) stands in for it.</summary>
    public static double[] LookAtPose((double X, double Y, double Z) eye, (double X, double Y, double Z) target, (double X, double Y, double Z) up)
    {
        var f = Normalize((target.X - eye.X, target.Y - eye.Y, target.Z - eye.Z));
        var right = Normalize(Cross(f, up));
        if (double.IsNaN(right.X)) right = Normalize(Cross(f, Math.Abs(f.Z) < 0.9 ? (0, 0, 1) : (1, 0, 0)));
        var down = Cross(f, right);
        // Columns of the rotation are the camera axes in world coordinates.
        return
        [
            right.X, down.X, f.X, eye.X,
            right.Y, down.Y, f.Y, eye.Y,
            right.Z, down.Z, f.Z, eye.Z,
            0, 0, 0, 1,
        ];
    }

    private static (double X, double Y, double Z) Cross((double X, double Y, double Z) a, (double X, double Y, double Z) b) =>
        (a.Y * b.Z - a.Z * b.Y, a.Z * b.X - a.X * b.Z, a.X * b.Y - a.Y * b.X);

    private static (double X, double Y, double Z) Normalize((double X, double Y, double Z) a)
    {
        double l = Math.Sqrt(a.X * a.X + a.Y * a.Y + a.Z * a.Z);
        return (a.X / l, a.Y / l, a.Z / l);
    }

    /// <summary>Camera centre in world coordinates.</summary>
    public (double X, double Y, double Z) Position => (CameraToWorld[3], CameraToWorld[7], CameraToWorld[11]);

    /// <summary>World-to-camera 4x4 row-major (inverse of the rigid camera-to-world).</summary>
    public double[] WorldToCamera()
    {
        var m = CameraToWorld;
        var r = new double[16];
        // R^T
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                r[i * 4 + j] = m[j * 4 + i];
        // -R^T t
        for (int i = 0; i < 3; i++)
            r[i * 4 + 3] = -(r[i * 4 + 0] * m[3] + r[i * 4 + 1] * m[7] + r[i * 4 + 2] * m[11]);
        r[15] = 1;
        return r;
    }

    /// <summary>World point to (u, v, depth along the optical axis). Depth &lt;= 0 means behind the camera.</summary>
    public (double U, double V, double Depth) Project(double x, double y, double z)
    {
        var w = WorldToCamera();
        double cx = w[0] * x + w[1] * y + w[2] * z + w[3];
        double cy = w[4] * x + w[5] * y + w[6] * z + w[7];
        double cz = w[8] * x + w[9] * y + w[10] * z + w[11];
        return (Fx * cx / cz + Cx, Fy * cy / cz + Cy, cz);
    }

    /// <summary>Pixel (u, v) at depth z (along the optical axis) to a world point.</summary>
    public (double X, double Y, double Z) Unproject(double u, double v, double depth)
    {
        double x = (u - Cx) / Fx * depth, y = (v - Cy) / Fy * depth, z = depth;
        var m = CameraToWorld;
        return (m[0] * x + m[1] * y + m[2] * z + m[3],
                m[4] * x + m[5] * y + m[6] * z + m[7],
                m[8] * x + m[9] * y + m[10] * z + m[11]);
    }

    /// <summary>The same camera for an image resized to width x height.</summary>
    public Camera Resized(int width, int height) => Scaled(width, height, (double)width / Width, (double)height / Height);

    /// <summary>
    /// The camera of this one's image taken <paramref name="factor"/> times smaller, each output pixel an N x N block
    /// of its pixels: floor(W/N) x floor(H/N), the up to N-1 pixels left over on the right and bottom cropped. Unlike
    /// <see cref="Resized"/> (the whole image stretched to a size) the scale is exactly 1/N on both axes, so a point
    /// projects to its full-size pixel position divided by N: with pixel i's centre at i + 0.5, the block of full-size
    /// pixels [N i, N i + N) is pixel i here.
    /// </summary>
    public Camera Downscaled(int factor) => Scaled(Width / factor, Height / factor, 1.0 / factor, 1.0 / factor);

    /// <summary>The inverse of <see cref="Downscaled"/> for an image of <paramref name="width"/> x <paramref name="height"/>
    /// (the file's size, its cropped remainder included): intrinsics times N.</summary>
    public Camera Upscaled(int factor, int width, int height) => Scaled(width, height, factor, factor);

    private Camera Scaled(int width, int height, double sx, double sy) =>
        this with { Width = width, Height = height, Fx = Fx * sx, Fy = Fy * sy, Cx = Cx * sx, Cy = Cy * sy };
}
