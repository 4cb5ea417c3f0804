namespace UniCLift.Compute.Scenes;

using UniCLift.Compute.Training;

/// <summary>
/// The lengths of the method that are in scene units, scaled with the scene. graphdeco's near plane (0.2) and METHOD.md's
/// L_3D radius (tau = 0.01, squared) are absolute: they suit rooms in metres whose training cameras span an extent
/// (graphdeco's getNerfppNorm radius: 1.1 x the largest camera distance from the cameras' centroid) of about 3, as
/// Replica's and the generated rooms do. A scene in other units (centimetres, a unit sphere, an arbitrary COLMAP scale)
/// keeps them in proportion here. Measured (issue #17, 2026-12-06): the generated room seed 1 and its trained geometry
/// scaled by 10 and by 0.1 lifted with the absolute lengths to PQ^scene 92.2 and 61.9 (97.7 unscaled; at 0.1 nearly
/// every Gaussian fell inside the near plane, at 10 floaters in front of the cameras that training never saw came
/// into view); with the near plane scaled, 97.9 and 97.8.
/// </summary>
public static class SceneScale
{
    /// <summary>The extent at which the absolute lengths hold as METHOD.md and graphdeco give them.</summary>
    public const double ReferenceExtent = 3.0;

    /// <summary>graphdeco's near plane at <see cref="ReferenceExtent"/>.</summary>
    public const double ReferenceNearPlane = 0.2;

    /// <summary>graphdeco's getNerfppNorm radius of the cameras: 1.1 x the largest distance from their centroid.</summary>
    public static double Extent(IEnumerable<Camera> cameras)
    {
        var centres = cameras.Select(c => c.Position).ToList();
        if (centres.Count == 0) throw new ArgumentException("A scene's extent needs at least one camera.", nameof(cameras));
        double mx = centres.Average(c => c.X), my = centres.Average(c => c.Y), mz = centres.Average(c => c.Z);
        double radius = centres.Max(c => Math.Sqrt((c.X - mx) * (c.X - mx) + (c.Y - my) * (c.Y - my) + (c.Z - mz) * (c.Z - mz)));
        return Math.Max(radius, 1e-3) * 1.1;
    }

    /// <summary>The extent of the scene's training cameras (every camera when it has no split): what the trainer uses.</summary>
    public static double Extent(Scene scene) => Extent(TrainingData.ViewNames(scene).Select(n => scene.View(n).Camera));

    /// <summary>How many times the median distance of the training cameras from their middle a camera may lie from it
    /// before <see cref="FarCamera"/> names it.</summary>
    public const double FarCameraFactor = 8;

    /// <summary>The training camera farthest from the others' middle (coordinate-wise median) when it lies more than
    /// <see cref="FarCameraFactor"/> times their median distance from it: a misregistered image. The extent follows the
    /// farthest camera (graphdeco's rule), and so do the near plane and the learning rates: one camera 50 m off a 6 m
    /// room made the near plane cull most of the room, silently (PQ 86 -> 37). Null with fewer than 4 cameras.</summary>
    public static (string View, double Distance, double Median)? FarCamera(Scene scene)
    {
        var cams = TrainingData.ViewNames(scene).Select(n => (Name: n, P: scene.View(n).Camera.Position)).ToList();
        if (cams.Count < 4) return null;
        static double Median(IEnumerable<double> v) { var a = v.Order().ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2; }
        double mx = Median(cams.Select(c => c.P.X)), my = Median(cams.Select(c => c.P.Y)), mz = Median(cams.Select(c => c.P.Z));
        var dist = cams.Select(c => (c.Name, D: Math.Sqrt((c.P.X - mx) * (c.P.X - mx) + (c.P.Y - my) * (c.P.Y - my) + (c.P.Z - mz) * (c.P.Z - mz)))).ToList();
        double median = Median(dist.Select(d => d.D));
        var far = dist.MaxBy(d => d.D);
        return far.D > FarCameraFactor * Math.Max(median, 1e-6) ? (far.Name, far.D, median) : null;
    }

    /// <summary>One line for a user about <see cref="FarCamera"/>'s camera, or null.</summary>
    public static string? FarCameraNote(Scene scene) => FarCamera(scene) is { } f
        ? $"training view '{f.View}' has its camera {f.Distance:0.##} from the cameras' middle, where the others' median is {f.Median:0.##}: " +
          "the scene's extent, near plane and learning rates follow the farthest camera, which may cull most of the scene; check its pose (a misregistered image?)"
        : null;

    /// <summary>The near plane for a scene of this extent: Gaussians at camera depth z at most this are culled, in training
    /// and in decoding alike.</summary>
    public static float NearPlane(double extent) => (float)(ReferenceNearPlane * extent / ReferenceExtent);

    /// <summary>L_3D's squared radius for a scene of this extent (tau is a squared length).</summary>
    public static double Tau(double tau, double extent) => tau * (extent / ReferenceExtent) * (extent / ReferenceExtent);
}
