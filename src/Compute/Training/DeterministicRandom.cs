namespace UniCLift.Compute.Training;

/// <summary>
/// A small, fast, checkpointable RNG (xoshiro256**, seeded by SplitMix64). Its whole state is four ulongs, so
/// a training checkpoint can save and restore it exactly; System.Random's state is not accessible.
/// </summary>
public sealed class DeterministicRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public DeterministicRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    private DeterministicRandom() { }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextULong()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive));
        return (int)((NextULong() >> 33) * (ulong)maxExclusive >> 31);
    }

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

    public System.Random ToSystemRandom() => new((int)(NextULong() & 0x7FFFFFFF));

    public void Write(BinaryWriter w) { w.Write(_s0); w.Write(_s1); w.Write(_s2); w.Write(_s3); }

    public static DeterministicRandom Read(BinaryReader r) =>
        new() { _s0 = r.ReadUInt64(), _s1 = r.ReadUInt64(), _s2 = r.ReadUInt64(), _s3 = r.ReadUInt64() };
}
