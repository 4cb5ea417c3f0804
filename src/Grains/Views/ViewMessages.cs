namespace UniCLift.Grains.Views;

using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;

/// <summary>Conversions between the compute library's types and the plain-array messages grains exchange.</summary>
public static class ViewMessages
{
    /// <param name="stuff">The scene's stuff classes when its stuff segments are background (StuffBackground); the view
    /// grain then makes them 0 in the mask it counts the codes against, as training and in-process decoding do.</param>
    public static ViewSource ToSource(this SceneView v, IReadOnlySet<int>? stuff = null) => new(
        v.ImagePath, v.MaskPath, v.Camera.Width, v.Camera.Height, v.Camera.Fx, v.Camera.Fy, v.Camera.Cx, v.Camera.Cy,
        (double[])v.Camera.CameraToWorld.Clone(), v.Distortion?.Model,
        v.Distortion is { } d ? [d.K1, d.K2, d.K3, d.K4, d.P1, d.P2, d.K5, d.K6, d.K7, d.Rational ? 1 : 0, d.Fisheye ? 1 : 0] : null,
        stuff is { Count: > 0 } ? v.MaskSemanticPath : null,
        stuff is { Count: > 0 } && v.MaskSemanticPath is not null ? stuff.Order().ToArray() : null,
        v.Downscale);

    /// <summary>The view's lens distortion, or null for a pinhole camera.</summary>
    public static Distortion? ToDistortion(this ViewSource s)
    {
        if (s.DistortionModel is null || s.DistortionCoefficients is not { Length: 11 } c) return null;
        return new Distortion(s.DistortionModel, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9] != 0, c[10] != 0);
    }

    /// <summary>The factor the view's files are downscaled by (0, from a sender before it, is 1).</summary>
    public static int DownscaleFactor(this ViewSource s) => Math.Max(1, s.Downscale);

    public static Camera ToCamera(this ViewSource s) => new(s.Width, s.Height, s.Fx, s.Fy, s.Cx, s.Cy, s.CameraToWorld);

    public static ViewCodeStatistics ToMessage(this CodeStatistics s)
    {
        var (codes, area, votes, pixels) = s.ToArrays();
        var (absorbed, into, absorbedPixels) = s.AbsorbedToArrays();
        var (pairA, pairB, shared, coVisible) = s.PairsToArrays();
        var (front, behind) = s.OcclusionOf(codes);
        return new ViewCodeStatistics(codes, area, votes, pixels, absorbed, into, absorbedPixels, pairA, pairB, shared, coVisible, s.InteriorOf(codes),
            s.SurfaceOf(codes), front, behind, s.BorderOf(codes));
    }

    public static CodeStatistics ToStatistics(this ViewCodeStatistics m)
    {
        var s = CodeStatistics.FromArrays(m.Codes, m.Area, m.BackgroundVotes, m.Pixels, m.AbsorbedCodes, m.AbsorbedInto, m.AbsorbedPixels)
            .WithPairs(m.PairA ?? [], m.PairB ?? [], m.PairShared ?? [], m.PairCoVisible ?? [])
            .WithInterior(m.Interior is null ? [] : m.Codes, m.Interior ?? [])
            .WithSurface(m.Surface is null ? [] : m.Codes, m.Surface ?? []);
        if (m.Front is { } front && m.Behind is { } behind) s.WithOcclusion(m.Codes, front, behind);
        return m.Border is { } border ? s.WithBorder(m.Codes, border) : s;
    }

    public static SceneCodebook ToMessage(this LabelCodebook c) => new(c.Codes, c.BackgroundCode, c.MergedCodes, c.MergedIds);

    public static LabelCodebook ToCodebook(this SceneCodebook m) => new(m.Codes, m.BackgroundCode, m.MergedCodes, m.MergedIds);
}
