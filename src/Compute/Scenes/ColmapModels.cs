namespace UniCLift.Compute.Scenes;

/// <summary>COLMAP's camera models: id, name, parameter count (src/colmap/sensor/models.h).</summary>
public static class ColmapModels
{
    public static readonly IReadOnlyList<(int Id, string Name, int Params)> All =
    [
        (0, "SIMPLE_PINHOLE", 3), (1, "PINHOLE", 4), (2, "SIMPLE_RADIAL", 4), (3, "RADIAL", 5), (4, "OPENCV", 8),
        (5, "OPENCV_FISHEYE", 8), (6, "FULL_OPENCV", 12), (7, "FOV", 5), (8, "SIMPLE_RADIAL_FISHEYE", 4),
        (9, "RADIAL_FISHEYE", 5), (10, "THIN_PRISM_FISHEYE", 12), (11, "RAD_TAN_THIN_PRISM_FISHEYE", 16),
    ];

    /// <summary>Models this reader turns into a pinhole camera plus a <see cref="Distortion"/>.</summary>
    public static readonly IReadOnlySet<string> Supported =
        new HashSet<string> { "SIMPLE_PINHOLE", "PINHOLE", "SIMPLE_RADIAL", "RADIAL", "OPENCV", "OPENCV_FISHEYE", "FULL_OPENCV" };

    public static (int Id, string Name, int Params)? ById(int id) => All.Where(m => m.Id == id).Select(m => ((int, string, int)?)m).FirstOrDefault();

    public static (int Id, string Name, int Params)? ByName(string name) =>
        All.Where(m => m.Name == name.ToUpperInvariant()).Select(m => ((int, string, int)?)m).FirstOrDefault();

    /// <summary>Pinhole intrinsics (identity pose) and distortion (null when none or all zero) of a supported model.</summary>
    public static (Camera Camera, Distortion? Distortion) ToCamera(string model, long width, long height, double[] p, string source)
    {
        if (width is <= 0 or > int.MaxValue || height is <= 0 or > int.MaxValue)
            throw new InvalidDataException($"{source}: image size {width}x{height} is not a positive 32-bit size.");
        foreach (var v in p)
            if (!double.IsFinite(v)) throw new InvalidDataException($"{source}: camera parameter {v} is not finite.");
        var (fx, fy, cx, cy) = model is "SIMPLE_PINHOLE" or "SIMPLE_RADIAL" or "RADIAL" ? (p[0], p[0], p[1], p[2]) : (p[0], p[1], p[2], p[3]);
        Distortion? d = model switch
        {
            "SIMPLE_PINHOLE" or "PINHOLE" => null,
            "SIMPLE_RADIAL" => new Distortion(model, K1: p[3]),
            "RADIAL" => new Distortion(model, K1: p[3], K2: p[4]),
            "OPENCV" => new Distortion(model, K1: p[4], K2: p[5], P1: p[6], P2: p[7]),
            "OPENCV_FISHEYE" => new Distortion(model, K1: p[4], K2: p[5], K3: p[6], K4: p[7], Fisheye: true),
            "FULL_OPENCV" => new Distortion(model, K1: p[4], K2: p[5], P1: p[6], P2: p[7], K3: p[8], K5: p[9], K6: p[10], K7: p[11], Rational: true),
            _ => throw new InvalidDataException($"{source}: camera model {model} is not supported ({string.Join(", ", Supported)}); " +
                "undistort with `colmap image_undistorter` first."),
        };
        double[] identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        var cam = new Camera((int)width, (int)height, fx, fy, cx, cy, identity).Validate(source);
        return (cam, d is null ? null : Distortion.OrNull(d));
    }

    /// <summary>Camera-to-world (OpenCV axes) of a COLMAP world-to-camera pose.</summary>
    public static double[] CameraToWorld(double qw, double qx, double qy, double qz, double tx, double ty, double tz, string source)
    {
        foreach (var v in new[] { qw, qx, qy, qz, tx, ty, tz })
            if (!double.IsFinite(v)) throw new InvalidDataException($"{source}: pose value {v} is not finite.");
        // world-to-camera R, t -> camera-to-world R^T, -R^T t
        var rw = LayoutFiles.QuaternionToMatrix(qw, qx, qy, qz, source);
        double[] rc = [rw[0], rw[3], rw[6], rw[1], rw[4], rw[7], rw[2], rw[5], rw[8]];
        double cx = -(rc[0] * tx + rc[1] * ty + rc[2] * tz);
        double cy = -(rc[3] * tx + rc[4] * ty + rc[5] * tz);
        double cz = -(rc[6] * tx + rc[7] * ty + rc[8] * tz);
        return LayoutFiles.Rigid(rc, cx, cy, cz);
    }
}
