namespace UniCLift.Compute.Synthetic;

/// <summary>
/// SplitMix64: a small generator whose sequence depends only on its seed (System.Random's algorithm may change
/// between .NET versions, and generated benchmarks must stay reproducible). Not thread-safe: use one per stream.
/// </summary>
internal sealed class StreamRandom
{
    private ulong _state;

    public StreamRandom(ulong seed) => _state = seed;

    /// <summary>An independent stream for (seed, purpose, index), so views can be generated in any order.</summary>
    public static StreamRandom For(int seed, ulong purpose, long index = 0) =>
        new(Mix(Mix((ulong)(uint)seed ^ 0x9E3779B97F4A7C15UL) ^ Mix(purpose * 0xD1B54A32D192ED03UL) ^ Mix((ulong)index + 0x632BE59BD9B4E019UL)));

    public static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64() => Mix(_state++ * 0x9E3779B97F4A7C15UL + 0x2545F4914F6CDD1DUL);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "must be positive");
        return (int)((NextUInt64() >> 33) % (ulong)n);
    }

    public bool Chance(double p) => NextDouble() < p;

    /// <summary>Standard normal (Box-Muller; one value per call keeps the stream simple).</summary>
    public double Gaussian()
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
}
