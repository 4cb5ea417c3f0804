namespace UniCLift.Compute.Training;

/// <summary>
/// A small, fast, checkpointable RNG (xoshiro256**, seeded by SplitMix64). Its whole state is four ulongs, so
/// a training checkpoint can save and restore it exactly; System.Random's state is not accessible.
/// </summary>
public sealed class DeterministicRandom : SeededRandom
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
        ulong z = Mix(x);
        x += 0x9E3779B97F4A7C15UL;
        return z;
    }

    public override ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform integer in [0, maxExclusive), by multiply-shift.</summary>
    public override int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive));
        return (int)((NextUInt64() >> 33) * (ulong)maxExclusive >> 31);
    }

    public System.Random ToSystemRandom() => new((int)(NextUInt64() & 0x7FFFFFFF));

    public void Write(BinaryWriter w) { w.Write(_s0); w.Write(_s1); w.Write(_s2); w.Write(_s3); }

    public static DeterministicRandom Read(BinaryReader r) =>
        new() { _s0 = r.ReadUInt64(), _s1 = r.ReadUInt64(), _s2 = r.ReadUInt64(), _s3 = r.ReadUInt64() };
}
