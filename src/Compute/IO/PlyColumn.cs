namespace UniCLift.Compute.IO;

/// <summary>
/// One scalar property's values for every row of an element, in its file type: Values is sbyte[], byte[], short[],
/// ushort[], int[], uint[], float[] or double[] matching <see cref="Type"/>. Conversions are on request.
/// </summary>
public sealed class PlyColumn
{
    public string Name { get; }
    public PlyType Type { get; }
    public Array Values { get; }
    public int Count => Values.Length;

    public PlyColumn(string name, PlyType type, Array values)
    {
        var expected = Ply.ClrType(type);
        if (values.GetType().GetElementType() != expected)
            throw new ArgumentException($"PLY column '{name}' of type {type} needs a {expected.Name}[], got {values.GetType().Name}.");
        Name = name;
        Type = type;
        Values = values;
    }

    public static PlyColumn Of(string name, float[] v) => new(name, PlyType.Float32, v);
    public static PlyColumn Of(string name, double[] v) => new(name, PlyType.Float64, v);
    public static PlyColumn Of(string name, int[] v) => new(name, PlyType.Int32, v);
    public static PlyColumn Of(string name, byte[] v) => new(name, PlyType.UInt8, v);

    // Switch on Type, not on the array's runtime type: the CLR treats int[] and uint[] (also short[]/ushort[],
    // sbyte[]/byte[]) as each other in type tests.
    public double GetDouble(int i) => Type switch
    {
        PlyType.Float32 => ((float[])Values)[i],
        PlyType.Float64 => ((double[])Values)[i],
        PlyType.Int32 => ((int[])Values)[i],
        PlyType.UInt32 => ((uint[])Values)[i],
        PlyType.UInt8 => ((byte[])Values)[i],
        PlyType.Int8 => ((sbyte[])Values)[i],
        PlyType.Int16 => ((short[])Values)[i],
        _ => ((ushort[])Values)[i],
    };

    public float[] AsSingle()
    {
        if (Type == PlyType.Float32) return (float[])Values;
        var r = new float[Count];
        for (int i = 0; i < r.Length; i++) r[i] = (float)GetDouble(i);
        return r;
    }

    public double[] AsDouble()
    {
        if (Type == PlyType.Float64) return (double[])Values;
        var r = new double[Count];
        for (int i = 0; i < r.Length; i++) r[i] = GetDouble(i);
        return r;
    }

    /// <summary>Values as int: integer columns exactly (uint above int.MaxValue is an error), float columns rounded.</summary>
    public int[] AsInt32()
    {
        if (Type == PlyType.Int32) return (int[])Values;
        var r = new int[Count];
        for (int i = 0; i < r.Length; i++)
        {
            double v = GetDouble(i);
            if (!(v >= int.MinValue && v <= int.MaxValue)) throw new InvalidDataException($"PLY property '{Name}': value {v} at row {i} does not fit an int.");
            r[i] = (int)Math.Round(v);
        }
        return r;
    }
}
