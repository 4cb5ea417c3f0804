namespace UniCLift.Compute.Synthetic;

/// <summary>
/// Solid (3-D) procedural texture, evaluated at a point in the surface's own frame, so the pattern is the same
/// from every view (3DGS has multi-view-consistent texture to fit). Colours are albedos in 0..1.
/// </summary>
internal sealed class ProceduralTexture
{
    public required TextureKind Kind { get; init; }
    public required double[] A { get; init; }
    public required double[] B { get; init; }
    /// <summary>Tile, stripe or noise-cell size in metres.</summary>
    public required double Scale { get; init; }
    /// <summary>Unit stripe direction (stripes only).</summary>
    public double[] Direction { get; init; } = [1, 0, 0];
    public ulong NoiseSeed { get; init; }

    public string Describe() => Kind == TextureKind.Plain ? "plain" : $"{Kind.ToString().ToLowerInvariant()} {Scale:0.###} m";

    public void Evaluate(double x, double y, double z, out double r, out double g, out double b)
    {
        double w;
        double inv = 1.0 / Scale;
        switch (Kind)
        {
            case TextureKind.Checker:
                // +0.25 keeps axis-aligned planes (floor z = 0, walls) away from a cell boundary: no speckle from rounding.
                long c = (long)Math.Floor(x * inv + 0.25) + (long)Math.Floor(y * inv + 0.25) + (long)Math.Floor(z * inv + 0.25);
                w = (c & 1) == 0 ? 0.0 : 1.0;
                break;
            case TextureKind.Stripes:
                double s = (x * Direction[0] + y * Direction[1] + z * Direction[2]) * inv + 0.25;
                w = ((long)Math.Floor(s) & 1) == 0 ? 0.0 : 1.0;
                break;
            case TextureKind.Plain:
                w = 0;
                break;
            default:
                w = 0.65 * ValueNoise(x * inv, y * inv, z * inv, NoiseSeed) + 0.35 * ValueNoise(x * inv * 2.7, y * inv * 2.7, z * inv * 2.7, NoiseSeed + 1);
                break;
        }
        r = A[0] + (B[0] - A[0]) * w;
        g = A[1] + (B[1] - A[1]) * w;
        b = A[2] + (B[2] - A[2]) * w;
    }

    /// <summary>Trilinear value noise on the integer lattice with smoothstep weights; in [0, 1].</summary>
    internal static double ValueNoise(double x, double y, double z, ulong seed)
    {
        double fx = Math.Floor(x), fy = Math.Floor(y), fz = Math.Floor(z);
        long ix = (long)fx, iy = (long)fy, iz = (long)fz;
        double tx = Smooth(x - fx), ty = Smooth(y - fy), tz = Smooth(z - fz);
        double c000 = Lattice(ix, iy, iz, seed), c100 = Lattice(ix + 1, iy, iz, seed);
        double c010 = Lattice(ix, iy + 1, iz, seed), c110 = Lattice(ix + 1, iy + 1, iz, seed);
        double c001 = Lattice(ix, iy, iz + 1, seed), c101 = Lattice(ix + 1, iy, iz + 1, seed);
        double c011 = Lattice(ix, iy + 1, iz + 1, seed), c111 = Lattice(ix + 1, iy + 1, iz + 1, seed);
        double x00 = c000 + (c100 - c000) * tx, x10 = c010 + (c110 - c010) * tx;
        double x01 = c001 + (c101 - c001) * tx, x11 = c011 + (c111 - c011) * tx;
        double y0 = x00 + (x10 - x00) * ty, y1 = x01 + (x11 - x01) * ty;
        return y0 + (y1 - y0) * tz;
    }

    private static double Smooth(double t) => t * t * (3 - 2 * t);

    private static double Lattice(long x, long y, long z, ulong seed)
    {
        // One mixing round over a linear combination with large odd constants: plenty for a texture, 4x cheaper than nesting.
        ulong h = StreamRandom.Mix(seed ^ ((ulong)x * 0x9E3779B97F4A7C15UL) ^ ((ulong)y * 0xC2B2AE3D27D4EB4FUL) ^ ((ulong)z * 0x165667B19E3779F9UL));
        return (h >> 11) * (1.0 / (1UL << 53));
    }
}
