namespace UniCLift.Compute.IO;

using System.Buffers.Binary;
using System.Globalization;

/// <summary>
/// An n-d array read from a .npy file. <see cref="Data"/> holds the elements in C (row-major) order, little-endian,
/// whatever the file's byte order and memory order were. <see cref="Dtype"/> is normalised to '&lt;' or '|' plus
/// kind and size ("&lt;i4", "|u1", "|b1", "&lt;f8").
/// </summary>
public sealed class NpyArray
{
    public int[] Shape { get; }
    public string Dtype { get; }
    /// <summary>'b' bool, 'i' signed, 'u' unsigned, 'f' float.</summary>
    public char Kind { get; }
    public int ItemSize { get; }
    public byte[] Data { get; }
    /// <summary>Where the array came from, for error messages.</summary>
    public string Source { get; }

    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    internal NpyArray(int[] shape, char kind, int itemSize, byte[] data, string source)
    {
        Shape = shape;
        Kind = kind;
        ItemSize = itemSize;
        Data = data;
        Source = source;
        Dtype = (itemSize == 1 ? "|" : "<") + kind + itemSize.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Element i as a double (exact for every dtype except 64-bit integers beyond 2^53).</summary>
    public double GetDouble(long i)
    {
        var s = Data.AsSpan((int)(i * ItemSize), ItemSize);
        return (Kind, ItemSize) switch
        {
            ('b', 1) => s[0] != 0 ? 1 : 0,
            ('u', 1) => s[0],
            ('i', 1) => (sbyte)s[0],
            ('u', 2) => BinaryPrimitives.ReadUInt16LittleEndian(s),
            ('i', 2) => BinaryPrimitives.ReadInt16LittleEndian(s),
            ('u', 4) => BinaryPrimitives.ReadUInt32LittleEndian(s),
            ('i', 4) => BinaryPrimitives.ReadInt32LittleEndian(s),
            ('u', 8) => BinaryPrimitives.ReadUInt64LittleEndian(s),
            ('i', 8) => BinaryPrimitives.ReadInt64LittleEndian(s),
            ('f', 2) => (double)BinaryPrimitives.ReadHalfLittleEndian(s),
            ('f', 4) => BinaryPrimitives.ReadSingleLittleEndian(s),
            ('f', 8) => BinaryPrimitives.ReadDoubleLittleEndian(s),
            _ => throw new InvalidDataException($"{Source}: unsupported dtype {Dtype}."),
        };
    }

    private long GetInt64Exact(long i)
    {
        var s = Data.AsSpan((int)(i * ItemSize), ItemSize);
        if (Kind == 'u' && ItemSize == 8)
        {
            ulong u = BinaryPrimitives.ReadUInt64LittleEndian(s);
            if (u > long.MaxValue) throw new InvalidDataException($"{Source}: value {u} at element {i} does not fit a 32-bit integer.");
            return (long)u;
        }
        if (Kind == 'i' && ItemSize == 8) return BinaryPrimitives.ReadInt64LittleEndian(s);
        double d = GetDouble(i);
        if (Kind == 'f' && (!double.IsFinite(d) || d != Math.Floor(d)))
            throw new InvalidDataException($"{Source}: value {d} at element {i} of a {Dtype} array is not an integer.");
        return (long)d;
    }

    /// <summary>
    /// All elements as int. Integer and bool dtypes convert exactly; float arrays are accepted when every value is
    /// an integer. A value outside the int range is an error naming the file.
    /// </summary>
    public int[] ToInt32()
    {
        var r = new int[Count];
        if (Kind == 'i' && ItemSize == 4)
        {
            for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadInt32LittleEndian(Data.AsSpan(i * 4));
            return r;
        }
        for (int i = 0; i < r.Length; i++)
        {
            long v = GetInt64Exact(i);
            if (v is < int.MinValue or > int.MaxValue)
                throw new InvalidDataException($"{Source}: value {v} at element {i} does not fit a 32-bit integer.");
            r[i] = (int)v;
        }
        return r;
    }

    public float[] ToSingle()
    {
        var r = new float[Count];
        if (Kind == 'f' && ItemSize == 4)
        {
            for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(i * 4));
            return r;
        }
        for (int i = 0; i < r.Length; i++) r[i] = (float)GetDouble(i);
        return r;
    }

    public double[] ToDouble()
    {
        var r = new double[Count];
        for (int i = 0; i < r.Length; i++) r[i] = GetDouble(i);
        return r;
    }
}
