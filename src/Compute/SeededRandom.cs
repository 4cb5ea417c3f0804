namespace UniCLift.Compute;

/// <summary>
/// The one core of the project's seeded generators: SplitMix64's mixer and the draws built on 64 random bits
/// (uniform double, Box-Muller normal, Fisher-Yates shuffle). Subclasses supply the bits and the integer reduction,
/// which differ between <see cref="Synthetic.StreamRandom"/> and <see cref="Training.DeterministicRandom"/> and stay
/// as they were, so every seeded sequence (generated scenes, training runs, checkpoints) is unchanged.
/// </summary>
public abstract class SeededRandom
{
    /// <summary>64 uniformly random bits.</summary>
    public abstract ulong NextUInt64();

    /// <summary>Uniform integer in [0, n).</summary>
    public abstract int NextInt(int n);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal (Box-Muller; one value per call, the pair's second value discarded for simplicity).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(T[] items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>SplitMix64's output function of state z (the state step, + 0x9E3779B97F4A7C15, included).</summary>
    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
