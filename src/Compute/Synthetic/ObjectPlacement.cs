namespace UniCLift.Compute.Synthetic;

/// <summary>Places non-overlapping objects on the floor, some of them deliberately touching a neighbour.</summary>
internal static class ObjectPlacement
{
    /// <summary>Gap kept between objects that are not meant to touch (metres).</summary>
    public const double SeparateGap = 0.05;
    /// <summary>Pairs whose footprints are closer than this count as touching.</summary>
    public const double TouchGap = 0.02;

    public sealed record Placed(ShapeKind Shape, double R, double H, double Hx, double Hy, double Hz, double Yaw, Footprint Footprint);

    public static List<Placed> Place(SyntheticSceneOptions o, StreamRandom rng)
    {
        int n = o.Objects;
        // Smaller objects when there are many, so up to 40 fit inside the placement disk.
        double scale = Math.Min(1.0, Math.Sqrt(10.0 / n));
        // Every shape appears when there are at least 5 objects.
        var kinds = Enum.GetValues<ShapeKind>();
        var order = (ShapeKind[])kinds.Clone();
        rng.Shuffle(order);

        var placed = new List<Placed>(n);
        for (int k = 0; k < n; k++)
        {
            var shape = k < order.Length ? order[k] : kinds[rng.NextInt(kinds.Length)];
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
            default:
            {
                double r = rng.Uniform(0.10, 0.22) * s, h = 2 * r + rng.Uniform(0.2, 0.6) * s;
                return new(shape, r, h, 0, 0, 0, yaw, new Footprint(0, 0, r, false, 0, 0, 0));
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

    /// <summary>Pairs (1-based instance ids, a &lt; b) whose footprints are within <see cref="TouchGap"/>.</summary>
    public static List<(int A, int B)> TouchingPairs(IReadOnlyList<Placed> placed)
    {
        var pairs = new List<(int, int)>();
        for (int i = 0; i < placed.Count; i++)
            for (int j = i + 1; j < placed.Count; j++)
                if (placed[i].Footprint.Overlaps(placed[j].Footprint, TouchGap)) pairs.Add((i + 1, j + 1));
        return pairs;
    }
}
