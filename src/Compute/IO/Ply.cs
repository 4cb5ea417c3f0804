namespace UniCLift.Compute.IO;

using System.Buffers.Binary;
using System.Globalization;
using System.Text;

/// <summary>
/// General PLY reader/writer: ascii, binary_little_endian and binary_big_endian; any number of elements; every
/// scalar type (char/uchar/short/ushort/int/uint/float/double and the int8..float64 aliases); list properties are
/// skipped on read. Writes ascii or binary little endian.
/// </summary>
public static class Ply
{
    internal static Type ClrType(PlyType t) => t switch
    {
        PlyType.Int8 => typeof(sbyte),
        PlyType.UInt8 => typeof(byte),
        PlyType.Int16 => typeof(short),
        PlyType.UInt16 => typeof(ushort),
        PlyType.Int32 => typeof(int),
        PlyType.UInt32 => typeof(uint),
        PlyType.Float32 => typeof(float),
        _ => typeof(double),
    };

    public static int SizeOf(PlyType t) => t switch
    {
        PlyType.Int8 or PlyType.UInt8 => 1,
        PlyType.Int16 or PlyType.UInt16 => 2,
        PlyType.Int32 or PlyType.UInt32 or PlyType.Float32 => 4,
        _ => 8,
    };

    private static string TypeName(PlyType t) => t switch
    {
        PlyType.Int8 => "char",
        PlyType.UInt8 => "uchar",
        PlyType.Int16 => "short",
        PlyType.UInt16 => "ushort",
        PlyType.Int32 => "int",
        PlyType.UInt32 => "uint",
        PlyType.Float32 => "float",
        _ => "double",
    };

    private static PlyType? ParseType(string s) => s switch
    {
        "char" or "int8" => PlyType.Int8,
        "uchar" or "uint8" => PlyType.UInt8,
        "short" or "int16" => PlyType.Int16,
        "ushort" or "uint16" => PlyType.UInt16,
        "int" or "int32" => PlyType.Int32,
        "uint" or "uint32" => PlyType.UInt32,
        "float" or "float32" => PlyType.Float32,
        "double" or "float64" => PlyType.Float64,
        _ => null,
    };

    // ---------------------------------------------------------------- reading

    public static PlyFile Read(string path)
    {
        using var fs = OpenRead(path);
        return Read(fs, path);
    }

    /// <summary>How many rows the file's header declares for <paramref name="element"/> (0 when it has no such element),
    /// reading the header only, checked as <see cref="Read(string)"/> checks it; a 3DGS PLY's Gaussians are its vertices.</summary>
    public static int ElementCount(string path, string element = "vertex")
    {
        using var fs = OpenRead(path);
        var (format, _, decls) = ReadHeader(fs, path);
        CheckBodyCanHold(fs, path, format, decls);
        return decls.FirstOrDefault(d => d.Name == element)?.Count ?? 0;
    }

    /// <summary>The header's comment lines, reading the header only (a malformed one throws as <see cref="Read(string)"/>).</summary>
    public static IReadOnlyList<string> Comments(string path)
    {
        using var fs = OpenRead(path);
        return ReadHeader(fs, path).Item2;
    }

    internal static FileStream OpenRead(string path)
    {
        try { return DataFile.OpenRead(path, 1 << 16); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"PLY file not found: {path}", path); }
    }

    private sealed record ElementDecl(string Name, int Count, List<PlyProperty> Props);

    /// <summary>
    /// Refuses a header whose counts the file cannot hold before anything is allocated for them (a header declaring
    /// 2e9 vertices would otherwise be a bare OutOfMemoryException): the smallest body those counts need (binary: each
    /// row's scalars and list counts, exact without lists; ascii: one character and a separator per value) against
    /// the bytes left, reported as the truncation it is.
    /// </summary>
    private static void CheckBodyCanHold(Stream stream, string source, PlyFormat format, List<ElementDecl> decls)
    {
        if (!stream.CanSeek) return;
        long left = stream.Length - stream.Position;
        foreach (var d in decls)
        {
            long row = format == PlyFormat.Ascii
                ? 2L * d.Props.Count
                : d.Props.Sum(p => (long)SizeOf(p.IsList ? p.ListCountType!.Value : p.Type));
            if (row * d.Count > left)
                throw new InvalidDataException($"{source}: truncated PLY: expected {d.Count} {d.Name} rows, file ends at {d.Name} {left / Math.Max(1, row)}" +
                    (format == PlyFormat.Ascii ? " at the latest" : "") + $" ({left:N0} bytes left for {d.Count:N0} rows of at least {row} bytes).");
            left -= row * d.Count;
        }
    }

    /// <summary>
    /// Refuses a binary body with at least one more row of its last element after the rows the header declares (a
    /// header whose count was edited, or a file written in two goes): read as declared, the rest of the cloud would be
    /// dropped without a word. Fewer trailing bytes than a row (padding) pass; so do ascii bodies and bodies with lists,
    /// whose row size is not fixed.
    /// </summary>
    private static void CheckNoRowsLeft(Stream stream, BodyReader body, string source, PlyFormat format, List<ElementDecl> decls)
    {
        if (format == PlyFormat.Ascii || !stream.CanSeek || decls.Count == 0 || decls.Any(d => d.Props.Any(p => p.IsList))) return;
        long left = stream.Length - stream.Position + body.Buffered;
        var last = decls[^1];
        long row = last.Props.Sum(p => (long)SizeOf(p.Type));
        if (row > 0 && left >= row)
            throw new InvalidDataException($"{source}: {left:N0} bytes follow the {last.Count:N0} '{last.Name}' rows the header declares " +
                $"(room for {left / row:N0} more): the header's count does not match the body.");
    }

    public static PlyFile Read(Stream stream, string source)
    {
        var (format, comments, decls) = ReadHeader(stream, source);
        CheckBodyCanHold(stream, source, format, decls);
        var elements = new List<PlyElement>();
        var body = new BodyReader(stream, source, format);
        foreach (var d in decls)
        {
            var cols = d.Props.Where(p => !p.IsList).Select(p => Array.CreateInstance(ClrType(p.Type), d.Count)).ToArray();
            var colIndex = new int[d.Props.Count];
            for (int k = 0, c = 0; k < d.Props.Count; k++) colIndex[k] = d.Props[k].IsList ? -1 : c++;
            bool fixedRow = format != PlyFormat.Ascii && d.Props.All(p => !p.IsList);
            if (fixedRow) ReadFixedRows(body, d, cols);
            else
                for (int row = 0; row < d.Count; row++)
                {
                    body.Row = row;
                    body.Element = d;
                    for (int k = 0; k < d.Props.Count; k++)
                    {
                        var p = d.Props[k];
                        if (p.IsList)
                        {
                            double n = body.ReadScalar(p.ListCountType!.Value);
                            if (!(n >= 0) || n > int.MaxValue || n != Math.Floor(n))
                                throw new InvalidDataException($"{source}: element '{d.Name}' row {row}: list '{p.Name}' has invalid length {n}.");
                            for (long i = 0; i < (long)n; i++) body.SkipScalar(p.Type);
                        }
                        else Store(cols[colIndex[k]], row, body.ReadScalar(p.Type), p.Type);
                    }
                }
            var columns = d.Props.Where(p => !p.IsList).Select((p, i) => new PlyColumn(p.Name, p.Type, cols[i])).ToList();
            elements.Add(new PlyElement(d.Name, d.Count, d.Props, columns));
        }
        CheckNoRowsLeft(stream, body, source, format, decls);
        return new PlyFile { Format = format, Comments = comments, Elements = elements, Source = source };
    }

    private static void Store(Array col, int row, double v, PlyType t)
    {
        switch (t)
        {
            case PlyType.Float32: ((float[])col)[row] = (float)v; break;
            case PlyType.Float64: ((double[])col)[row] = v; break;
            case PlyType.Int32: ((int[])col)[row] = (int)v; break;
            case PlyType.UInt32: ((uint[])col)[row] = (uint)v; break;
            case PlyType.UInt8: ((byte[])col)[row] = (byte)v; break;
            case PlyType.Int8: ((sbyte[])col)[row] = (sbyte)v; break;
            case PlyType.Int16: ((short[])col)[row] = (short)v; break;
            default: ((ushort[])col)[row] = (ushort)v; break;
        }
    }

    /// <summary>Binary rows without lists: read many rows at once and scatter them to the columns.</summary>
    private static void ReadFixedRows(BodyReader body, ElementDecl d, Array[] cols)
    {
        int stride = d.Props.Sum(p => SizeOf(p.Type));
        if (stride == 0) return;
        var offsets = new int[d.Props.Count];
        for (int k = 1; k < offsets.Length; k++) offsets[k] = offsets[k - 1] + SizeOf(d.Props[k - 1].Type);
        bool big = body.Format == PlyFormat.BinaryBigEndian;
        int batch = Math.Max(1, (1 << 20) / stride);
        var buf = new byte[batch * stride];
        for (int start = 0; start < d.Count; start += batch)
        {
            int n = Math.Min(batch, d.Count - start);
            body.ReadExact(buf.AsSpan(0, n * stride), d, start, stride);
            for (int k = 0; k < cols.Length; k++)
            {
                int off = offsets[k];
                switch (cols[k])
                {
                    // float[] and double[] have no aliasing array types, so these type tests are safe.
                    case float[] a:
                        for (int r = 0; r < n; r++)
                        {
                            var s = buf.AsSpan(r * stride + off, 4);
                            a[start + r] = big ? BinaryPrimitives.ReadSingleBigEndian(s) : BinaryPrimitives.ReadSingleLittleEndian(s);
                        }
                        break;
                    case double[] a:
                        for (int r = 0; r < n; r++)
                        {
                            var s = buf.AsSpan(r * stride + off, 8);
                            a[start + r] = big ? BinaryPrimitives.ReadDoubleBigEndian(s) : BinaryPrimitives.ReadDoubleLittleEndian(s);
                        }
                        break;
                    default:
                        for (int r = 0; r < n; r++)
                            Store(cols[k], start + r, DecodeScalar(buf.AsSpan(r * stride + off), d.Props[k].Type, big), d.Props[k].Type);
                        break;
                }
            }
        }
    }

    internal static double DecodeScalar(ReadOnlySpan<byte> s, PlyType t, bool big) => t switch
    {
        PlyType.Int8 => (sbyte)s[0],
        PlyType.UInt8 => s[0],
        PlyType.Int16 => big ? BinaryPrimitives.ReadInt16BigEndian(s) : BinaryPrimitives.ReadInt16LittleEndian(s),
        PlyType.UInt16 => big ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s),
        PlyType.Int32 => big ? BinaryPrimitives.ReadInt32BigEndian(s) : BinaryPrimitives.ReadInt32LittleEndian(s),
        PlyType.UInt32 => big ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s),
        PlyType.Float32 => big ? BinaryPrimitives.ReadSingleBigEndian(s) : BinaryPrimitives.ReadSingleLittleEndian(s),
        _ => big ? BinaryPrimitives.ReadDoubleBigEndian(s) : BinaryPrimitives.ReadDoubleLittleEndian(s),
    };

    private static (PlyFormat, List<string>, List<ElementDecl>) ReadHeader(Stream s, string source)
    {
        var comments = new List<string>();
        var decls = new List<ElementDecl>();
        PlyFormat? format = null;
        int lineNo = 0;
        long headerBytes = 0;
        bool first = true;
        while (true)
        {
            string? line = ReadHeaderLine(s, ref headerBytes);
            lineNo++;
            if (line is null)
                throw new InvalidDataException(first
                    ? $"{source}: empty file, expected a PLY header."
                    : $"{source}: PLY header has no 'end_header' line (file ends after header line {lineNo - 1}).");
            if (headerBytes > 1 << 20)
                throw new InvalidDataException($"{source}: PLY header has no 'end_header' line within the first MiB.");
            if (first)
            {
                if (line.Trim() != "ply") throw new InvalidDataException($"{source}: not a PLY file (first line is not 'ply').");
                first = false;
                continue;
            }
            var tok = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (tok.Length == 0) continue;
            switch (tok[0])
            {
                case "format":
                    if (tok.Length < 2) throw new InvalidDataException($"{source}: header line {lineNo}: 'format' without a value.");
                    format = tok[1] switch
                    {
                        "ascii" => PlyFormat.Ascii,
                        "binary_little_endian" => PlyFormat.BinaryLittleEndian,
                        "binary_big_endian" => PlyFormat.BinaryBigEndian,
                        _ => throw new InvalidDataException($"{source}: unknown PLY format '{tok[1]}' (expected ascii, binary_little_endian or binary_big_endian)."),
                    };
                    break;
                case "comment":
                    comments.Add(line.Length > 8 ? line[8..] : "");
                    break;
                case "obj_info":
                    break;
                case "element":
                    if (tok.Length != 3 || !int.TryParse(tok[2], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
                        throw new InvalidDataException($"{source}: header line {lineNo}: expected 'element <name> <count>', got '{line}'.");
                    decls.Add(new ElementDecl(tok[1], count, []));
                    break;
                case "property":
                    if (decls.Count == 0) throw new InvalidDataException($"{source}: header line {lineNo}: property before any element.");
                    if (tok.Length == 5 && tok[1] == "list")
                    {
                        var ct = ParseType(tok[2]) ?? throw new InvalidDataException($"{source}: header line {lineNo}: unknown PLY type '{tok[2]}'.");
                        var it = ParseType(tok[3]) ?? throw new InvalidDataException($"{source}: header line {lineNo}: unknown PLY type '{tok[3]}'.");
                        decls[^1].Props.Add(new PlyProperty(tok[4], it, ct));
                    }
                    else if (tok.Length == 3)
                    {
                        var t = ParseType(tok[1]) ?? throw new InvalidDataException($"{source}: header line {lineNo}: unknown PLY type '{tok[1]}'.");
                        decls[^1].Props.Add(new PlyProperty(tok[2], t));
                    }
                    else throw new InvalidDataException($"{source}: header line {lineNo}: malformed property line '{line}'.");
                    break;
                case "end_header":
                    if (format is null) throw new InvalidDataException($"{source}: PLY header has no 'format' line.");
                    return (format.Value, comments, decls);
                default:
                    throw new InvalidDataException($"{source}: header line {lineNo}: unknown PLY header keyword '{tok[0]}'.");
            }
        }
    }

    /// <summary>Reads one header line byte by byte (the binary body starts right after 'end_header\n').</summary>
    private static string? ReadHeaderLine(Stream s, ref long count)
    {
        var sb = new StringBuilder();
        while (true)
        {
            int b = s.ReadByte();
            if (b < 0) return sb.Length > 0 ? sb.ToString() : null;
            count++;
            if (b == '\n') return sb.ToString().TrimEnd('\r');
            sb.Append((char)b);
            if (sb.Length > 1 << 16) return sb.ToString();
        }
    }

    /// <summary>Buffered body reader for both binary and ascii bodies, reporting truncation by element and row.</summary>
    private sealed class BodyReader(Stream s, string source, PlyFormat format)
    {
        private readonly byte[] _buf = new byte[1 << 16];
        private int _pos, _len;
        public PlyFormat Format => format;
        public ElementDecl? Element;
        public int Row;

        /// <summary>Bytes read from the stream but not yet consumed.</summary>
        public int Buffered => _len - _pos;

        private bool Fill()
        {
            if (_pos < _len) return true;
            _len = s.Read(_buf, 0, _buf.Length);
            _pos = 0;
            return _len > 0;
        }

        private InvalidDataException Truncated(ElementDecl d, long row) =>
            new($"{source}: truncated PLY: expected {d.Count} {d.Name} rows, file ends at {d.Name} {row}.");

        public void ReadExact(Span<byte> dst, ElementDecl d, int firstRow, int stride)
        {
            int got = 0;
            while (got < dst.Length)
            {
                if (!Fill()) throw Truncated(d, firstRow + got / stride);
                int n = Math.Min(_len - _pos, dst.Length - got);
                _buf.AsSpan(_pos, n).CopyTo(dst[got..]);
                _pos += n;
                got += n;
            }
        }

        private Span<byte> Take(int n)
        {
            Span<byte> tmp = new byte[n];
            for (int i = 0; i < n; i++)
            {
                if (!Fill()) throw Truncated(Element!, Row);
                tmp[i] = _buf[_pos++];
            }
            return tmp;
        }

        public double ReadScalar(PlyType t)
        {
            if (format == PlyFormat.Ascii)
            {
                var tok = NextToken();
                if (!double.TryParse(tok, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                    throw new InvalidDataException($"{source}: element '{Element!.Name}' row {Row}: '{tok}' is not a number.");
                return v;
            }
            int size = SizeOf(t);
            if (_len - _pos >= size)
            {
                double v = DecodeScalar(_buf.AsSpan(_pos, size), t, format == PlyFormat.BinaryBigEndian);
                _pos += size;
                return v;
            }
            return DecodeScalar(Take(size), t, format == PlyFormat.BinaryBigEndian);
        }

        public void SkipScalar(PlyType t) => ReadScalar(t);

        private readonly StringBuilder _tok = new();

        private string NextToken()
        {
            _tok.Clear();
            while (true)
            {
                if (!Fill()) throw Truncated(Element!, Row);
                byte b = _buf[_pos];
                if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') { _pos++; continue; }
                break;
            }
            while (Fill())
            {
                byte b = _buf[_pos];
                if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') break;
                _tok.Append((char)b);
                _pos++;
            }
            return _tok.ToString();
        }
    }

    // ---------------------------------------------------------------- writing

    /// <summary>Writes the file atomically in the given format (ascii or binary little endian).</summary>
    public static void Write(string path, PlyFile file) => AtomicFile.Write(path, s => Write(s, file));

    public static void Write(Stream output, PlyFile file)
    {
        if (file.Format == PlyFormat.BinaryBigEndian) throw new ArgumentException("PLY writing supports ascii and binary_little_endian.");
        var bs = new BufferedStream(output, 1 << 16);
        var h = new StringBuilder();
        h.Append("ply\nformat ").Append(file.Format == PlyFormat.Ascii ? "ascii" : "binary_little_endian").Append(" 1.0\n");
        foreach (var c in file.Comments)
        {
            if (c.Contains('\n')) throw new ArgumentException("PLY comments cannot contain line breaks.");
            h.Append("comment ").Append(c).Append('\n');
        }
        foreach (var e in file.Elements)
        {
            if (e.Properties.Any(p => p.IsList)) throw new ArgumentException($"PLY element '{e.Name}': writing list properties is not supported.");
            h.Append("element ").Append(e.Name).Append(' ').Append(e.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            foreach (var c in e.Columns) h.Append("property ").Append(TypeName(c.Type)).Append(' ').Append(c.Name).Append('\n');
        }
        h.Append("end_header\n");
        bs.Write(Encoding.ASCII.GetBytes(h.ToString()));

        foreach (var e in file.Elements)
        {
            if (file.Format == PlyFormat.Ascii)
            {
                var line = new StringBuilder();
                for (int r = 0; r < e.Count; r++)
                {
                    line.Clear();
                    for (int k = 0; k < e.Columns.Count; k++)
                    {
                        if (k > 0) line.Append(' ');
                        var col = e.Columns[k];
                        line.Append(col.Type switch
                        {
                            PlyType.Float32 => ((float[])col.Values)[r].ToString("R", CultureInfo.InvariantCulture),
                            PlyType.Float64 => ((double[])col.Values)[r].ToString("R", CultureInfo.InvariantCulture),
                            _ => col.GetDouble(r).ToString("R", CultureInfo.InvariantCulture), // integers are exact in a double
                        });
                    }
                    line.Append('\n');
                    bs.Write(Encoding.ASCII.GetBytes(line.ToString()));
                }
            }
            else
            {
                int stride = e.Columns.Sum(c => SizeOf(c.Type));
                var row = new byte[stride];
                for (int r = 0; r < e.Count; r++)
                {
                    int off = 0;
                    foreach (var c in e.Columns)
                    {
                        var sp = row.AsSpan(off);
                        switch (c.Type)
                        {
                            case PlyType.Float32: BinaryPrimitives.WriteSingleLittleEndian(sp, ((float[])c.Values)[r]); break;
                            case PlyType.Float64: BinaryPrimitives.WriteDoubleLittleEndian(sp, ((double[])c.Values)[r]); break;
                            case PlyType.Int32: BinaryPrimitives.WriteInt32LittleEndian(sp, ((int[])c.Values)[r]); break;
                            case PlyType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(sp, ((uint[])c.Values)[r]); break;
                            case PlyType.Int16: BinaryPrimitives.WriteInt16LittleEndian(sp, ((short[])c.Values)[r]); break;
                            case PlyType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(sp, ((ushort[])c.Values)[r]); break;
                            case PlyType.UInt8: sp[0] = ((byte[])c.Values)[r]; break;
                            default: sp[0] = (byte)((sbyte[])c.Values)[r]; break;
                        }
                        off += SizeOf(c.Type);
                    }
                    bs.Write(row);
                }
            }
        }
        bs.Flush();
    }
}
