namespace UniCLift.Compute.Synthetic;

/// <summary>One convex part of an object as the ray tracer sees it: shape parameters in its own frame (origin at
/// (Bx, By, Bz) under its centre, z up, rotated by yaw) plus a bounding sphere in world coordinates for a cheap
/// per-ray rejection. A concave object (a table, an L-block) is several parts sharing an instance and a texture
/// frame. <see cref="Shape"/> is the part's geometry: sphere, box, cylinder, cone or capsule.</summary>
internal sealed class Primitive
{
    public required ShapeKind Shape { get; init; }
    public required int Instance { get; init; }
    public required int Class { get; init; }
    public required double Bx { get; init; }
    public required double By { get; init; }
    /// <summary>Height of the part's base (0 = on the floor).</summary>
    public double Bz { get; init; }
    public required double Yaw { get; init; }
    /// <summary>Origin of the texture frame (the whole object's base), so the pattern runs on across parts; NaN = (Bx, By).</summary>
    public double TextureX { get; init; } = double.NaN;
    public double TextureY { get; init; } = double.NaN;
    /// <summary>Blinn-Phong exponent of the object's highlight; 0 = matte.</summary>
    public double Shininess { get; init; }
    /// <summary>Radius (sphere, cylinder, cone base, capsule) and full height (cylinder, cone, capsule).</summary>
    public double R { get; init; }
    public double H { get; init; }
    /// <summary>Box half extents.</summary>
    public double Hx { get; init; }
    public double Hy { get; init; }
    public double Hz { get; init; }
    public required ProceduralTexture Texture { get; init; }

    private double _cos, _sin, _sx, _sy, _sz, _sr2, _tx, _ty;

    /// <summary>Computes the cached rotation and bounding sphere; call once after construction.</summary>
    public Primitive Prepare()
    {
        _cos = Math.Cos(Yaw);
        _sin = Math.Sin(Yaw);
        double halfHeight = Shape switch { ShapeKind.Sphere => R, ShapeKind.Box => Hz, _ => H / 2 };
        double radial = Shape == ShapeKind.Box ? Math.Sqrt(Hx * Hx + Hy * Hy) : R;
        _sx = Bx; _sy = By; _sz = Bz + halfHeight;
        _tx = double.IsNaN(TextureX) ? Bx : TextureX;
        _ty = double.IsNaN(TextureY) ? By : TextureY;
        double br = Math.Sqrt(radial * radial + halfHeight * halfHeight) * 1.0001 + 1e-6;
        _sr2 = br * br;
        return this;
    }

    public double BoundingRadius => Math.Sqrt(_sr2);

    /// <summary>World point to the object's texture frame.</summary>
    public void ToLocal(double x, double y, double z, out double lx, out double ly, out double lz)
    {
        double px = x - _tx, py = y - _ty;
        lx = _cos * px + _sin * py;
        ly = -_sin * px + _cos * py;
        lz = z;
    }

    /// <summary>Bounding-sphere test: false when the ray certainly misses within (tMin, tMax). Most rays miss most objects.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool MayHit(double ox, double oy, double oz, double dx, double dy, double dz, double tMin, double tMax)
    {
        double cx = _sx - ox, cy = _sy - oy, cz = _sz - oz;
        double tc = cx * dx + cy * dy + cz * dz;
        double d2 = cx * cx + cy * cy + cz * cz - tc * tc;
        if (d2 > _sr2) return false;
        double half = Math.Sqrt(_sr2 - d2);
        return tc + half > tMin && tc - half < tMax;
    }

    /// <summary>Nearest hit with t in (tMin, tMax) along a unit-length world ray; normal in world axes, unit length.</summary>
    public bool Intersect(double ox, double oy, double oz, double dx, double dy, double dz, double tMin, double tMax,
        out double t, out double nx, out double ny, out double nz)
    {
        t = nx = ny = nz = 0;
        if (!MayHit(ox, oy, oz, dx, dy, dz, tMin, tMax)) return false;

        double px = ox - Bx, py = oy - By;
        double lx = _cos * px + _sin * py, ly = -_sin * px + _cos * py, lz = oz - Bz;
        double ldx = _cos * dx + _sin * dy, ldy = -_sin * dx + _cos * dy, ldz = dz;
        var hit = new LocalHit(tMin, tMax);
        switch (Shape)
        {
            case ShapeKind.Sphere: SphereHit(ref hit, lx, ly, lz, ldx, ldy, ldz, 0, 0, R, R); break;
            case ShapeKind.Box: BoxHit(ref hit, lx, ly, lz, ldx, ldy, ldz); break;
            case ShapeKind.Cylinder:
                SideHit(ref hit, lx, ly, lz, ldx, ldy, ldz, 0, H);
                DiskHit(ref hit, lz, ldz, lx, ly, ldx, ldy, H, 1);
                DiskHit(ref hit, lz, ldz, lx, ly, ldx, ldy, 0, -1);
                break;
            case ShapeKind.Cone:
                ConeHit(ref hit, lx, ly, lz, ldx, ldy, ldz);
                DiskHit(ref hit, lz, ldz, lx, ly, ldx, ldy, 0, -1);
                break;
            case ShapeKind.Capsule:
                SideHit(ref hit, lx, ly, lz, ldx, ldy, ldz, R, H - R);
                SphereHit(ref hit, lx, ly, lz, ldx, ldy, ldz, 0, 0, R, R);
                SphereHit(ref hit, lx, ly, lz, ldx, ldy, ldz, 0, 0, H - R, R);
                break;
        }
        if (!hit.Found) return false;
        t = hit.T;
        nx = _cos * hit.Nx - _sin * hit.Ny;
        ny = _sin * hit.Nx + _cos * hit.Ny;
        nz = hit.Nz;
        return true;
    }

    private struct LocalHit(double tMin, double tMax)
    {
        public readonly double TMin = tMin;
        public double T = tMax;
        public double Nx, Ny, Nz;
        public bool Found;

        public void Consider(double t, double nx, double ny, double nz)
        {
            if (t > TMin && t < T) { T = t; Nx = nx; Ny = ny; Nz = nz; Found = true; }
        }
    }

    private static void SphereHit(ref LocalHit hit, double ox, double oy, double oz, double dx, double dy, double dz,
        double cx, double cy, double cz, double r)
    {
        double px = ox - cx, py = oy - cy, pz = oz - cz;
        double b = px * dx + py * dy + pz * dz;
        double c = px * px + py * py + pz * pz - r * r;
        double disc = b * b - c;
        if (disc < 0) return;
        double s = Math.Sqrt(disc);
        for (int k = 0; k < 2; k++)
        {
            double t = k == 0 ? -b - s : -b + s;
            if (t > hit.TMin && t < hit.T)
            {
                double inv = 1.0 / r;
                hit.Consider(t, (px + t * dx) * inv, (py + t * dy) * inv, (pz + t * dz) * inv);
                return;
            }
        }
    }

    private void BoxHit(ref LocalHit hit, double ox, double oy, double oz, double dx, double dy, double dz)
    {
        double tNear = double.NegativeInfinity, tFar = double.PositiveInfinity;
        int axis = -1;
        double sign = 0;
        Span<double> o = [ox, oy, oz - Hz];
        Span<double> d = [dx, dy, dz];
        Span<double> h = [Hx, Hy, Hz];
        for (int i = 0; i < 3; i++)
        {
            if (Math.Abs(d[i]) < 1e-15)
            {
                if (o[i] < -h[i] || o[i] > h[i]) return;
                continue;
            }
            double inv = 1.0 / d[i];
            double t0 = (-h[i] - o[i]) * inv, t1 = (h[i] - o[i]) * inv;
            double s = -1;
            if (t0 > t1) { (t0, t1) = (t1, t0); s = 1; }
            if (t0 > tNear) { tNear = t0; axis = i; sign = s; }
            if (t1 < tFar) tFar = t1;
            if (tNear > tFar) return;
        }
        if (axis < 0) return;
        // The entering face's outward normal points against the ray along that axis.
        hit.Consider(tNear, axis == 0 ? sign : 0, axis == 1 ? sign : 0, axis == 2 ? sign : 0);
    }

    /// <summary>Side of a vertical cylinder of radius R between heights z0 and z1.</summary>
    private void SideHit(ref LocalHit hit, double ox, double oy, double oz, double dx, double dy, double dz, double z0, double z1)
    {
        double a = dx * dx + dy * dy;
        if (a < 1e-18) return;
        double b = ox * dx + oy * dy;
        double c = ox * ox + oy * oy - R * R;
        double disc = b * b - a * c;
        if (disc < 0) return;
        double s = Math.Sqrt(disc);
        for (int k = 0; k < 2; k++)
        {
            double t = k == 0 ? (-b - s) / a : (-b + s) / a;
            if (t <= hit.TMin || t >= hit.T) continue;
            double z = oz + t * dz;
            if (z < z0 || z > z1) continue;
            hit.Consider(t, (ox + t * dx) / R, (oy + t * dy) / R, 0);
            return;
        }
    }

    /// <summary>Horizontal disk of radius R at height z facing normalZ (+1 up, -1 down).</summary>
    private void DiskHit(ref LocalHit hit, double oz, double dz, double ox, double oy, double dx, double dy, double z, double normalZ)
    {
        if (Math.Abs(dz) < 1e-15) return;
        double t = (z - oz) / dz;
        if (t <= hit.TMin || t >= hit.T) return;
        double x = ox + t * dx, y = oy + t * dy;
        if (x * x + y * y > R * R) return;
        hit.Consider(t, 0, 0, normalZ);
    }

    /// <summary>Cone side: x^2 + y^2 = k^2 (H - z)^2 with k = R / H, 0 &lt;= z &lt;= H (apex on top).</summary>
    private void ConeHit(ref LocalHit hit, double ox, double oy, double oz, double dx, double dy, double dz)
    {
        double k = R / H, k2 = k * k;
        double w = H - oz;
        double a = dx * dx + dy * dy - k2 * dz * dz;
        double b = ox * dx + oy * dy + k2 * w * dz;
        double c = ox * ox + oy * oy - k2 * w * w;
        Span<double> roots = stackalloc double[2];
        int n = 0;
        if (Math.Abs(a) < 1e-15)
        {
            if (Math.Abs(b) < 1e-15) return;
            roots[n++] = -c / (2 * b);
        }
        else
        {
            double disc = b * b - a * c;
            if (disc < 0) return;
            double s = Math.Sqrt(disc);
            double r0 = (-b - s) / a, r1 = (-b + s) / a;
            if (r0 > r1) (r0, r1) = (r1, r0);
            roots[n++] = r0;
            roots[n++] = r1;
        }
        for (int i = 0; i < n; i++)
        {
            double t = roots[i];
            if (t <= hit.TMin || t >= hit.T) continue;
            double z = oz + t * dz;
            if (z < 0 || z > H) continue;
            double x = ox + t * dx, y = oy + t * dy;
            // Gradient of x^2 + y^2 - k^2 (H - z)^2.
            double gx = x, gy = y, gz = k2 * (H - z);
            double len = Math.Sqrt(gx * gx + gy * gy + gz * gz);
            if (len < 1e-15) { gx = 0; gy = 0; gz = 1; len = 1; }
            hit.Consider(t, gx / len, gy / len, gz / len);
            return;
        }
    }
}
