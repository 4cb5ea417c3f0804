namespace UniCLift.Compute.Synthetic;

/// <summary>
/// The room (floor z = 0, four walls, open ceiling) with its objects and one point light: traces primary and
/// shadow rays analytically. Immutable after construction, so views can be traced in parallel.
/// </summary>
internal sealed class SyntheticRoom
{
    public required double Half { get; init; }
    public required double WallHeight { get; init; }
    public required Primitive[] Objects { get; init; }
    public required ProceduralTexture Floor { get; init; }
    /// <summary>Walls at x = +Half, x = -Half, y = +Half, y = -Half.</summary>
    public required ProceduralTexture[] Walls { get; init; }
    public required double[] Light { get; init; }
    public double Ambient { get; init; } = 0.28;
    public double Diffuse { get; init; } = 0.95;
    /// <summary>Strength of the white highlight on objects with a <see cref="Primitive.Shininess"/>; 0 = none.</summary>
    public double Specular { get; init; }
    public static readonly double[] Sky = [0.70, 0.80, 0.95];

    /// <summary>
    /// Traces one unit-length ray from inside the room. Returns the distance t (0 when the ray leaves through the
    /// open ceiling), the instance id and semantic class hit, and the shaded colour in 0..1.
    /// </summary>
    public double Trace(double ox, double oy, double oz, double dx, double dy, double dz,
        out int instance, out int cls, out double r, out double g, out double b)
    {
        // Stuff: the ray leaves the square [-Half, Half]^2 through a wall unless it hits the floor first.
        double tBest = double.PositiveInfinity;
        int surface = -1; // 0 floor, 1..4 walls
        if (dz < 0)
        {
            double t = -oz / dz;
            double x = ox + t * dx, y = oy + t * dy;
            if (t > 0 && Math.Abs(x) <= Half && Math.Abs(y) <= Half) { tBest = t; surface = 0; }
        }
        if (surface < 0)
        {
            double tx = dx > 0 ? (Half - ox) / dx : dx < 0 ? (-Half - ox) / dx : double.PositiveInfinity;
            double ty = dy > 0 ? (Half - oy) / dy : dy < 0 ? (-Half - oy) / dy : double.PositiveInfinity;
            double t = Math.Min(tx, ty);
            double z = oz + t * dz;
            if (double.IsFinite(t) && z >= 0 && z <= WallHeight)
            {
                tBest = t;
                surface = tx <= ty ? (dx > 0 ? 1 : 2) : (dy > 0 ? 3 : 4);
            }
        }

        Primitive? hitObject = null;
        double hnx = 0, hny = 0, hnz = 0;
        foreach (var p in Objects)
        {
            if (p.MayHit(ox, oy, oz, dx, dy, dz, 1e-9, tBest) && p.Intersect(ox, oy, oz, dx, dy, dz, 1e-9, tBest, out double t, out double nx, out double ny, out double nz))
            {
                tBest = t; hitObject = p; hnx = nx; hny = ny; hnz = nz;
            }
        }

        if (hitObject is null && surface < 0)
        {
            instance = 0; cls = SyntheticClasses.Void;
            r = Sky[0]; g = Sky[1]; b = Sky[2];
            return 0;
        }

        double px = ox + tBest * dx, py = oy + tBest * dy, pz = oz + tBest * dz;
        double ar, ag, ab;
        if (hitObject is not null)
        {
            instance = hitObject.Instance; cls = hitObject.Class;
            hitObject.ToLocal(px, py, pz, out double lx, out double ly, out double lz);
            hitObject.Texture.Evaluate(lx, ly, lz, out ar, out ag, out ab);
        }
        else
        {
            instance = 0;
            if (surface == 0)
            {
                cls = SyntheticClasses.Floor; hnz = 1;
                Floor.Evaluate(px, py, pz, out ar, out ag, out ab);
            }
            else
            {
                cls = SyntheticClasses.Wall;
                if (surface == 1) hnx = -1; else if (surface == 2) hnx = 1; else if (surface == 3) hny = -1; else hny = 1;
                // Texture coordinates along the wall: the horizontal coordinate and height.
                double u = surface <= 2 ? py : px;
                Walls[surface - 1].Evaluate(u, pz, 0, out ar, out ag, out ab);
            }
        }
        // Face the viewer (a ray can graze the far side of a cap or a cone edge).
        if (hnx * dx + hny * dy + hnz * dz > 0) { hnx = -hnx; hny = -hny; hnz = -hnz; }

        double light = Ambient, highlight = 0;
        double lxv = Light[0] - px, lyv = Light[1] - py, lzv = Light[2] - pz;
        double dist = Math.Sqrt(lxv * lxv + lyv * lyv + lzv * lzv);
        lxv /= dist; lyv /= dist; lzv /= dist;
        double ndl = hnx * lxv + hny * lyv + hnz * lzv;
        if (ndl > 0)
        {
            const double offset = 1e-5;
            double sx = px + hnx * offset, sy = py + hny * offset, sz = pz + hnz * offset;
            if (!Occluded(sx, sy, sz, lxv, lyv, lzv, dist))
            {
                light += Diffuse * ndl / (1 + 0.03 * dist * dist);
                if (hitObject is { Shininess: > 0 } && Specular > 0)
                {
                    // Blinn-Phong: the half vector between the light and the viewer (-ray); white, so the object's
                    // colour changes with the viewpoint, which only view-dependent colour (SH) can fit.
                    double hx = lxv - dx, hy = lyv - dy, hz = lzv - dz;
                    double hl = Math.Sqrt(hx * hx + hy * hy + hz * hz);
                    double ndh = hl > 0 ? (hnx * hx + hny * hy + hnz * hz) / hl : 0;
                    if (ndh > 0) highlight = Specular * Math.Pow(ndh, hitObject.Shininess) / (1 + 0.03 * dist * dist);
                }
            }
        }
        r = ar * light + highlight; g = ag * light + highlight; b = ab * light + highlight;
        return tBest;
    }

    /// <summary>Shadow ray: only objects can sit between a surface and the light (the light is inside the room).</summary>
    public bool Occluded(double ox, double oy, double oz, double dx, double dy, double dz, double dist)
    {
        foreach (var p in Objects)
            if (p.MayHit(ox, oy, oz, dx, dy, dz, 1e-9, dist) && p.Intersect(ox, oy, oz, dx, dy, dz, 1e-9, dist, out _, out _, out _, out _)) return true;
        return false;
    }
}
