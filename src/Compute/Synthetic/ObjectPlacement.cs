namespace UniCLift.Compute.Synthetic;

/// <summary>Places non-overlapping objects on the floor, some of them deliberately touching a neighbour and, with
/// <see cref="ShapeSet.Wide"/>, some standing on top of a box or a table.</summary>
internal static class ObjectPlacement
{
    /// <summary>Gap kept between objects that are not meant to touch (metres).</summary>
    public const double SeparateGap = 0.05;
    /// <summary>Pairs whose footprints are closer than this count as touching.</summary>
    public const double TouchGap = 0.02;
    /// <summary>Probability that an object of a stackable shape stands on a free box or table top (wide shapes).</summary>
    public const double StackProbability = 0.35;

    private static readonly ShapeKind[] BasicKinds = [ShapeKind.Sphere, ShapeKind.Box, ShapeKind.Cylinder, ShapeKind.Cone, ShapeKind.Capsule];

    /// <summary>An object's shape and pose. Box-like sizes are half extents; H is the full height. For a table, Hz is
    /// half the top's thickness and R the legs' radius; for an L-block, Hz and Aux are the half heights of its bar
    /// and its leg. Bz is the height of the object's base: 0 on the floor, a supporter's top when StandsOn is the
    /// (0-based) index of the object it stands on.</summary>
    public sealed record Placed(ShapeKind Shape, double R, double H, double Hx, double Hy, double Hz, double Yaw, Footprint Footprint,
        double Aux = 0, double Bz = 0, int StandsOn = -1)
    {
        /// <summary>Height of the object's top above its base.</summary>
        public double Top => Shape switch
        {
            ShapeKind.Sphere => 2 * R,
            ShapeKind.Box or ShapeKind.Slab => 2 * Hz,
            ShapeKind.LBlock => 2 * Math.Max(Hz, Aux),
            _ => H,
        };

        /// <summary>Whether another object can stand on it (a box or table on the floor; its top is Hx by Hy).</summary>
        public bool IsSupport => Shape is ShapeKind.Box or ShapeKind.Table && StandsOn < 0;
    }

    public static List<Placed> Place(SyntheticSceneOptions o, StreamRandom rng)
    {
        int n = o.Objects;
        // Smaller objects when there are many, so that they fit inside the placement disk.
        double scale = Math.Min(1.0, Math.Sqrt(10.0 / n));
        // Every shape appears when there are at least as many objects as shapes.
        var kinds = o.Shapes == ShapeSet.Basic ? BasicKinds : Enum.GetValues<ShapeKind>();
        var order = (ShapeKind[])kinds.Clone();
        rng.Shuffle(order);

        var placed = new List<Placed>(n);
        var supportUsed = new HashSet<int>();
        for (int k = 0; k < n; k++)
        {
            var shape = k < order.Length ? order[k] : kinds[rng.NextInt(kinds.Length)];
            if (o.Shapes == ShapeSet.Wide && Array.IndexOf(BasicKinds, shape) >= 0 && rng.Chance(StackProbability)
                && TryStack(shape, scale, placed, supportUsed, rng, out var stacked))
            {
                placed.Add(stacked);
                continue;
            }
            double shrink = 1.0;
            for (int attempt = 0; ; attempt++)
            {
                var candidate = Sample(shape, scale * shrink, rng);
                if (TryPosition(candidate, placed, o, rng, out var positioned)) { placed.Add(positioned); break; }
                // Crowded: make this object smaller and try again.
                shrink *= 0.85;
                if (attempt > 40) throw new InvalidOperationException($"Could not place object {k + 1} of {n} in a disk of radius {o.PlacementRadius} m.");
            }
        }
        return placed;
    }

    /// <summary>Puts the object on a free box or table top it fits on, at a random spot fully on the top.</summary>
    private static bool TryStack(ShapeKind shape, double scale, List<Placed> placed, HashSet<int> supportUsed, StreamRandom rng, out Placed result)
    {
        result = null!;
        var free = Enumerable.Range(0, placed.Count).Where(i => placed[i].IsSupport && !supportUsed.Contains(i)).ToList();
        if (free.Count == 0) return false;
        int s = free[rng.NextInt(free.Count)];
        var support = placed[s];
        double room = Math.Min(support.Hx, support.Hy);
        var candidate = Sample(shape, scale * 0.7, rng);
        for (int shrink = 0; candidate.Footprint.BoundingRadius > 0.85 * room; shrink++)
        {
            if (shrink > 12) return false;
            candidate = Sample(shape, scale * 0.7 * Math.Pow(0.8, shrink + 1), rng);
        }
        // Offset in the support's frame so that the whole footprint stays on the top.
        double r = candidate.Footprint.BoundingRadius;
        double ox = rng.Uniform(-1, 1) * (support.Hx - r), oy = rng.Uniform(-1, 1) * (support.Hy - r);
        double c = Math.Cos(support.Yaw), sn = Math.Sin(support.Yaw);
        var f = candidate.Footprint.At(support.Footprint.X + c * ox - sn * oy, support.Footprint.Y + sn * ox + c * oy);
        supportUsed.Add(s);
        result = candidate with { Footprint = f, Bz = support.Bz + support.Top, StandsOn = s };
        return true;
    }

    private static Placed Sample(ShapeKind shape, double s, StreamRandom rng)
    {
        double yaw = rng.Uniform(0, 2 * Math.PI);
        switch (shape)
        {
            case ShapeKind.Sphere:
            {
                double r = rng.Uniform(0.18, 0.36) * s;
                return new(shape, r, 2 * r, 0, 0, 0, yaw, new Footprint(0, 0, r, false, 0, 0, 0));
            }
            case ShapeKind.Box:
            {
                double hx = rng.Uniform(0.14, 0.38) * s, hy = rng.Uniform(0.14, 0.38) * s, hz = rng.Uniform(0.15, 0.45) * s;
                // Half the boxes axis-aligned, half yaw-rotated.
                yaw = rng.Chance(0.5) ? 0.0 : rng.Uniform(0.15, Math.PI / 2 - 0.15);
                return new(shape, 0, 2 * hz, hx, hy, hz, yaw, new Footprint(0, 0, 0, true, hx, hy, yaw));
            }
            case ShapeKind.Cylinder:
            {
                double r = rng.Uniform(0.12, 0.28) * s, h = rng.Uniform(0.35, 1.0) * s;
                return new(shape, r, h, 0, 0, 0, yaw, new Footprint(0, 0, r, false, 0, 0, 0));
            }
            case ShapeKind.Cone:
            {
                double r = rng.Uniform(0.15, 0.32) * s, h = rng.Uniform(0.4, 1.0) * s;
                return new(shape, r, h, 0, 0, 0, yaw, new Footprint(0, 0, r, false, 0, 0, 0));
            }
            case ShapeKind.Capsule:
            {
                double r = rng.Uniform(0.10, 0.22) * s, h = 2 * r + rng.Uniform(0.2, 0.6) * s;
                return new(shape, r, h, 0, 0, 0, yaw, new Footprint(0, 0, r, false, 0, 0, 0));
            }
            case ShapeKind.Pole:
            {
                // Thin stays thin when objects shrink (a broom handle is not scaled with the room's clutter).
                double r = rng.Uniform(0.018, 0.035) * Math.Sqrt(s), h = rng.Uniform(0.6, 1.3) * s;
                return new(shape, r, h, 0, 0, 0, yaw, new Footprint(0, 0, r, false, 0, 0, 0));
            }
            case ShapeKind.Slab:
            {
                // A standing board: wide and tall, a few centimetres thick.
                double hx = rng.Uniform(0.18, 0.38) * s, hy = rng.Uniform(0.012, 0.025) * Math.Sqrt(s), hz = rng.Uniform(0.2, 0.45) * s;
                return new(shape, 0, 2 * hz, hx, hy, hz, yaw, new Footprint(0, 0, 0, true, hx, hy, yaw));
            }
            case ShapeKind.Table:
            {
                double hx = rng.Uniform(0.25, 0.45) * s, hy = rng.Uniform(0.22, 0.4) * s, h = rng.Uniform(0.35, 0.6) * s;
                double top = 0.5 * (0.02 + 0.02 * s), leg = Math.Max(0.012, 0.03 * Math.Sqrt(s));
                return new(shape, leg, h, hx, hy, top, yaw, new Footprint(0, 0, 0, true, hx, hy, yaw));
            }
            default:
            {
                // L-block: a bar along x and a taller or lower leg at one end along y.
                double hx = rng.Uniform(0.2, 0.38) * s, hy = rng.Uniform(0.15, 0.3) * s;
                double bar = rng.Uniform(0.08, 0.22) * s, leg = rng.Uniform(0.12, 0.4) * s;
                return new(shape, 0, 2 * Math.Max(bar, leg), hx, hy, bar, yaw, new Footprint(0, 0, 0, true, hx, hy, yaw), Aux: leg);
            }
        }
    }

    private static bool TryPosition(Placed c, List<Placed> placed, SyntheticSceneOptions o, StreamRandom rng, out Placed result)
    {
        double reach = o.PlacementRadius - c.Footprint.BoundingRadius;
        result = c;
        if (reach <= 0) return false;
        for (int tryIndex = 0; tryIndex < 200; tryIndex++)
        {
            Footprint f;
            int touching = -1;
            if (placed.Count > 0 && rng.Chance(o.TouchingProbability))
            {
                // Slide out from a chosen neighbour along a random direction until the footprints just separate.
                touching = rng.NextInt(placed.Count);
                var other = placed[touching].Footprint;
                double ang = rng.Uniform(0, 2 * Math.PI), ux = Math.Cos(ang), uy = Math.Sin(ang);
                double lo = 0, hi = other.BoundingRadius + c.Footprint.BoundingRadius + 0.01;
                for (int it = 0; it < 40; it++)
                {
                    double mid = 0.5 * (lo + hi);
                    if (c.Footprint.At(other.X + ux * mid, other.Y + uy * mid).Overlaps(other, 0)) lo = mid; else hi = mid;
                }
                double d = hi + rng.Uniform(0.002, 0.01);
                f = c.Footprint.At(other.X + ux * d, other.Y + uy * d);
            }
            else
            {
                // Uniform in the disk of radius `reach`.
                double ang = rng.Uniform(0, 2 * Math.PI), rad = reach * Math.Sqrt(rng.NextDouble());
                f = c.Footprint.At(rad * Math.Cos(ang), rad * Math.Sin(ang));
            }
            if (Math.Sqrt(f.X * f.X + f.Y * f.Y) > reach) continue;
            bool ok = true;
            for (int j = 0; j < placed.Count && ok; j++)
                if (f.Overlaps(placed[j].Footprint, j == touching ? 0 : SeparateGap)) ok = false;
            if (!ok) continue;
            result = c with { Footprint = f };
            return true;
        }
        return false;
    }

    /// <summary>Pairs (1-based instance ids, a &lt; b) whose footprints are within <see cref="TouchGap"/> and whose
    /// height ranges meet (an object standing on another touches it).</summary>
    public static List<(int A, int B)> TouchingPairs(IReadOnlyList<Placed> placed)
    {
        var pairs = new List<(int, int)>();
        for (int i = 0; i < placed.Count; i++)
            for (int j = i + 1; j < placed.Count; j++)
            {
                var a = placed[i]; var b = placed[j];
                bool heights = a.Bz <= b.Bz + b.Top + TouchGap && b.Bz <= a.Bz + a.Top + TouchGap;
                if (heights && a.Footprint.Overlaps(b.Footprint, TouchGap)) pairs.Add((i + 1, j + 1));
            }
        return pairs;
    }

    /// <summary>The convex parts of an object in its own frame (offset along its x and y before yaw, base height
    /// above the object's base): one for the basic shapes, poles and slabs, five for a table, two for an L-block.</summary>
    public static IEnumerable<Part> Parts(Placed p)
    {
        switch (p.Shape)
        {
            case ShapeKind.Pole:
                yield return new Part(ShapeKind.Cylinder, 0, 0, 0, p.R, p.H, 0, 0, 0);
                break;
            case ShapeKind.Slab:
                yield return new Part(ShapeKind.Box, 0, 0, 0, 0, 0, p.Hx, p.Hy, p.Hz);
                break;
            case ShapeKind.Table:
            {
                double legHeight = p.H - 2 * p.Hz, inset = p.R + 0.01;
                yield return new Part(ShapeKind.Box, 0, 0, legHeight, 0, 0, p.Hx, p.Hy, p.Hz);
                foreach (var (sx, sy) in new[] { (1, 1), (1, -1), (-1, 1), (-1, -1) })
                    yield return new Part(ShapeKind.Cylinder, sx * (p.Hx - inset), sy * (p.Hy - inset), 0, p.R, legHeight, 0, 0, 0);
                break;
            }
            case ShapeKind.LBlock:
                yield return new Part(ShapeKind.Box, 0, -0.55 * p.Hy, 0, 0, 0, p.Hx, 0.45 * p.Hy, p.Hz);
                yield return new Part(ShapeKind.Box, 0.65 * p.Hx, 0, 0, 0, 0, 0.35 * p.Hx, p.Hy, p.Aux);
                break;
            default:
                yield return new Part(p.Shape, 0, 0, 0, p.R, p.H, p.Hx, p.Hy, p.Hz);
                break;
        }
    }

    /// <summary>One convex part: geometry kind, offset in the object's frame, base height, and its size.</summary>
    public readonly record struct Part(ShapeKind Kind, double Ox, double Oy, double Bz, double R, double H, double Hx, double Hy, double Hz);
}
