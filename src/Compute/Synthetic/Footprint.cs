namespace UniCLift.Compute.Synthetic;

/// <summary>Floor footprint of an object: a circle (sphere, cylinder, cone, capsule) or a yaw-rotated rectangle (box).</summary>
internal readonly record struct Footprint(double X, double Y, double Radius, bool IsRect, double Hx, double Hy, double Yaw)
{
    public double BoundingRadius => IsRect ? Math.Sqrt(Hx * Hx + Hy * Hy) : Radius;

    public Footprint At(double x, double y) => this with { X = x, Y = y };

    /// <summary>True when the two footprints are closer than <paramref name="margin"/> (exact for circles and
    /// circle-rectangle, separating-axis test for two rectangles).</summary>
    public bool Overlaps(in Footprint o, double margin)
    {
        if (!IsRect && !o.IsRect)
        {
            double dx = o.X - X, dy = o.Y - Y, rr = Radius + o.Radius + margin;
            return dx * dx + dy * dy < rr * rr;
        }
        if (IsRect && !o.IsRect) return RectCircle(this, o, margin);
        if (!IsRect && o.IsRect) return RectCircle(o, this, margin);
        return RectRect(this, o, margin);
    }

    private static bool RectCircle(in Footprint rect, in Footprint circle, double margin)
    {
        double c = Math.Cos(rect.Yaw), s = Math.Sin(rect.Yaw);
        double px = circle.X - rect.X, py = circle.Y - rect.Y;
        double lx = c * px + s * py, ly = -s * px + c * py;
        double qx = Math.Clamp(lx, -rect.Hx, rect.Hx), qy = Math.Clamp(ly, -rect.Hy, rect.Hy);
        double dx = lx - qx, dy = ly - qy, rr = circle.Radius + margin;
        return dx * dx + dy * dy < rr * rr;
    }

    private static bool RectRect(in Footprint a, in Footprint b, double margin)
    {
        double dx = b.X - a.X, dy = b.Y - a.Y;
        Span<double> yaws = [a.Yaw, b.Yaw];
        foreach (var yaw in yaws)
        {
            for (int k = 0; k < 2; k++)
            {
                double ux = k == 0 ? Math.Cos(yaw) : -Math.Sin(yaw), uy = k == 0 ? Math.Sin(yaw) : Math.Cos(yaw);
                double dist = Math.Abs(dx * ux + dy * uy);
                if (dist >= Extent(a, ux, uy) + Extent(b, ux, uy) + margin) return false;
            }
        }
        return true;
    }

    /// <summary>Half-width of a rectangle projected on the unit axis (ux, uy).</summary>
    private static double Extent(in Footprint r, double ux, double uy)
    {
        double c = Math.Cos(r.Yaw), s = Math.Sin(r.Yaw);
        return r.Hx * Math.Abs(c * ux + s * uy) + r.Hy * Math.Abs(-s * ux + c * uy);
    }
}
