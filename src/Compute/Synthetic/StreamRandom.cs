namespace UniCLift.Compute.Synthetic;

/// <summary>
/// SplitMix64: a small generator whose sequence depends only on its seed (System.Random's algorithm may change
/// between .NET versions, and generated benchmarks must stay reproducible). Not thread-safe: use one per stream.
/// </summary>
internal sealed class StreamRandom(ulong seed) : SeededRandom
{
    private ulong _state = seed;

    /// <summary>An independent stream for (seed, purpose, index), so views can be generated in any order.</summary>
    public static StreamRandom For(int seed, ulong purpose, long index = 0) =>
        new(Mix(Mix((ulong)(uint)seed ^ 0x9E3779B97F4A7C15UL) ^ Mix(purpose * 0xD1B54A32D192ED03UL) ^ Mix((ulong)index + 0x632BE59BD9B4E019UL)));

    public override ulong NextUInt64() => Mix(_state++ * 0x9E3779B97F4A7C15UL + 0x2545F4914F6CDD1DUL);

    /// <summary>Uniform integer in [0, n), by modulo.</summary>
    public override int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "must be positive");
        return (int)((NextUInt64() >> 33) % (ulong)n);
    }

    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    public bool Chance(double p) => NextDouble() < p;
}
