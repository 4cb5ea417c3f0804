namespace UniCLift.Compute.Segmentation;

/// <summary>
/// Where a code's pixels lie in the world: the count, sum and sum of outer products of the surface points its pixels
/// show (each pixel unprojected at its rendered depth), summed over views. Sums, so views decoded on different
/// machines add up; from them the spread of the code's surface along its principal axes (<see cref="Spread"/>):
/// a floor or a wall spreads over much of the scene in two directions, an object does not.
/// </summary>
public readonly record struct SurfaceMoments(double N, double X, double Y, double Z, double Xx, double Xy, double Xz, double Yy, double Yz, double Zz)
{
    /// <summary>Values per code in <see cref="CopyTo"/> / <see cref="FromArray"/>'s arrays.</summary>
    public const int Length = 10;

    public static SurfaceMoments Point(double x, double y, double z) => new(1, x, y, z, x * x, x * y, x * z, y * y, y * z, z * z);

    public static SurfaceMoments operator +(SurfaceMoments a, SurfaceMoments b) => new(a.N + b.N, a.X + b.X, a.Y + b.Y, a.Z + b.Z,
        a.Xx + b.Xx, a.Xy + b.Xy, a.Xz + b.Xz, a.Yy + b.Yy, a.Yz + b.Yz, a.Zz + b.Zz);

    /// <summary>
    /// Standard deviations of the points along their three principal axes, largest first (world units; zeros for
    /// fewer than two points). For a uniformly covered w x h rectangle: w/sqrt(12), h/sqrt(12), 0.
    /// </summary>
    public (double First, double Second, double Third) Spread()
    {
        if (N < 2) return (0, 0, 0);
        double mx = X / N, my = Y / N, mz = Z / N;
        double a = Xx / N - mx * mx, b = Xy / N - mx * my, c = Xz / N - mx * mz;
        double d = Yy / N - my * my, e = Yz / N - my * mz, f = Zz / N - mz * mz;
        var (l1, l2, l3) = SymmetricEigenvalues(a, b, c, d, e, f);
        return (Math.Sqrt(Math.Max(0, l1)), Math.Sqrt(Math.Max(0, l2)), Math.Sqrt(Math.Max(0, l3)));
    }

    /// <summary>Eigenvalues, largest first, of the symmetric matrix [[a,b,c],[b,d,e],[c,e,f]] (the trigonometric
    /// closed form for real symmetric 3x3 matrices).</summary>
    public static (double, double, double) SymmetricEigenvalues(double a, double b, double c, double d, double e, double f)
    {
        double p1 = b * b + c * c + e * e;
        if (p1 <= 1e-30 * (a * a + d * d + f * f) || p1 == 0)
        {
            var diag = new[] { a, d, f };
            Array.Sort(diag);
            return (diag[2], diag[1], diag[0]);
        }
        double q = (a + d + f) / 3;
        double p2 = (a - q) * (a - q) + (d - q) * (d - q) + (f - q) * (f - q) + 2 * p1;
        double p = Math.Sqrt(p2 / 6);
        // B = (A - qI) / p; r = det(B) / 2
        double ba = (a - q) / p, bd = (d - q) / p, bf = (f - q) / p, bb = b / p, bc = c / p, be = e / p;
        double r = (ba * (bd * bf - be * be) - bb * (bb * bf - be * bc) + bc * (bb * be - bd * bc)) / 2;
        double phi = r <= -1 ? Math.PI / 3 : r >= 1 ? 0 : Math.Acos(r) / 3;
        double e1 = q + 2 * p * Math.Cos(phi);
        double e3 = q + 2 * p * Math.Cos(phi + 2 * Math.PI / 3);
        return (e1, 3 * q - e1 - e3, e3);
    }

    public void CopyTo(double[] array, int offset)
    {
        array[offset] = N; array[offset + 1] = X; array[offset + 2] = Y; array[offset + 3] = Z; array[offset + 4] = Xx;
        array[offset + 5] = Xy; array[offset + 6] = Xz; array[offset + 7] = Yy; array[offset + 8] = Yz; array[offset + 9] = Zz;
    }

    public static SurfaceMoments FromArray(double[] array, int offset) => new(array[offset], array[offset + 1], array[offset + 2],
        array[offset + 3], array[offset + 4], array[offset + 5], array[offset + 6], array[offset + 7], array[offset + 8], array[offset + 9]);
}
