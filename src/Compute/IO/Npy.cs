namespace UniCLift.Compute.IO;

using System.Buffers.Binary;
using System.Globalization;
using System.Text;

/// <summary>
/// NumPy .npy files. Reads format versions 1.0, 2.0 and 3.0; dtypes b1, i1/u1, i2/u2, i4/u4, i8/u8, f2/f4/f8 in
/// either byte order; Fortran-ordered arrays are transposed to C order. Writes version 1.0 (little-endian, C order).
/// </summary>
public static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static NpyArray Read(string path)
    {
        byte[] bytes;
        try { bytes = DataFile.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"NPY file not found: {path}", path); }
        return Read(bytes, path);
    }

    public static NpyArray Read(ReadOnlySpan<byte> file, string source)
    {
        if (file.Length < 10 || !file[..6].SequenceEqual(Magic))
            throw new InvalidDataException($"{source}: not a .npy file (bad magic).");
        int major = file[6], minor = file[7];
        int headerLen, headerStart;
        switch (major)
        {
            case 1:
                headerLen = BinaryPrimitives.ReadUInt16LittleEndian(file[8..]);
                headerStart = 10;
                break;
            case 2 or 3:
                if (file.Length < 12) throw new InvalidDataException($"{source}: truncated .npy header.");
                uint hl = BinaryPrimitives.ReadUInt32LittleEndian(file[8..]);
                if (hl > int.MaxValue) throw new InvalidDataException($"{source}: .npy header length {hl} is too large.");
                headerLen = (int)hl;
                headerStart = 12;
                break;
            default:
                throw new InvalidDataException($"{source}: unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0).");
        }
        if (headerStart + (long)headerLen > file.Length)
            throw new InvalidDataException($"{source}: truncated .npy header ({headerLen} bytes announced, file has {file.Length - headerStart}).");
        // v1/v2 headers are latin-1 (ASCII in practice), v3 UTF-8.
        string header = major == 3 ? Encoding.UTF8.GetString(file.Slice(headerStart, headerLen)) : Encoding.Latin1.GetString(file.Slice(headerStart, headerLen));

        Dictionary<string, object> dict;
        try
        {
            var parsed = new PyLiteralParser(header).ParseTop();
            dict = parsed as Dictionary<string, object> ?? throw new FormatException("the header is not a dict");
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"{source}: malformed .npy header ({e.Message}): {header.Trim()}");
        }

        if (!dict.TryGetValue("descr", out var descrObj) || descrObj is not string descr)
            throw new InvalidDataException($"{source}: .npy header has no string 'descr' (structured dtypes are not supported): {header.Trim()}");
        if (!dict.TryGetValue("fortran_order", out var fo) || fo is not bool fortran)
            throw new InvalidDataException($"{source}: .npy header has no boolean 'fortran_order'.");
        if (!dict.TryGetValue("shape", out var shapeObj) || shapeObj is not List<object> shapeList)
            throw new InvalidDataException($"{source}: .npy header has no tuple 'shape'.");
        var shape = new int[shapeList.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (shapeList[i] is not long d || d < 0 || d > int.MaxValue)
                throw new InvalidDataException($"{source}: .npy shape entry {i} is not a non-negative integer.");
            shape[i] = (int)d;
        }

        var (kind, size, bigEndian) = ParseDescr(descr, source);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        long nbytes = count * size;
        long dataStart = headerStart + headerLen;
        if (nbytes > int.MaxValue) throw new InvalidDataException($"{source}: .npy array of {count} elements is too large.");
        if (dataStart + nbytes > file.Length)
            throw new InvalidDataException($"{source}: truncated .npy data: shape ({string.Join(", ", shape)}) of {descr} needs {nbytes} bytes, file has {file.Length - dataStart}.");

        var data = file.Slice((int)dataStart, (int)nbytes).ToArray();
        if (bigEndian && size > 1)
            for (int i = 0; i < data.Length; i += size) data.AsSpan(i, size).Reverse();
        if (fortran && shape.Length > 1) data = FortranToC(data, shape, size);
        return new NpyArray(shape, kind, size, data, source);
    }

    private static (char Kind, int Size, bool BigEndian) ParseDescr(string descr, string source)
    {
        string d = descr;
        bool big = false;
        if (d.Length > 0 && d[0] is '<' or '>' or '|' or '=')
        {
            big = d[0] == '>' || (d[0] == '=' && !BitConverter.IsLittleEndian);
            d = d[1..];
        }
        if (d.Length >= 2 && d[0] is 'b' or 'i' or 'u' or 'f' && int.TryParse(d.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int size))
        {
            bool ok = d[0] switch
            {
                'b' => size == 1,
                'i' or 'u' => size is 1 or 2 or 4 or 8,
                'f' => size is 2 or 4 or 8,
                _ => false,
            };
            if (ok) return (d[0], size, big);
        }
        throw new InvalidDataException($"{source}: unsupported .npy dtype '{descr}' (supported: b1, i1/u1, i2/u2, i4/u4, i8/u8, f2, f4, f8 in either byte order).");
    }

    /// <summary>Fortran order has the first index fastest; walk C order and gather from the Fortran offsets.</summary>
    private static byte[] FortranToC(byte[] src, int[] shape, int size)
    {
        int nd = shape.Length;
        var fstride = new long[nd];
        long s = 1;
        for (int k = 0; k < nd; k++) { fstride[k] = s; s *= shape[k]; }
        var dst = new byte[src.Length];
        var idx = new int[nd];
        long count = s;
        for (long c = 0; c < count; c++)
        {
            long f = 0;
            for (int k = 0; k < nd; k++) f += idx[k] * fstride[k];
            Buffer.BlockCopy(src, (int)(f * size), dst, (int)(c * size), size);
            for (int k = nd - 1; k >= 0; k--)
            {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
        return dst;
    }

    // ---------------------------------------------------------------- writing

    public static void Write(string path, int[] shape, int[] data) => Write(path, shape, "<i4", data.Length, s => Put(s, data, 4, (b, v) => BinaryPrimitives.WriteInt32LittleEndian(b, v)));
    public static void Write(string path, int[] shape, float[] data) => Write(path, shape, "<f4", data.Length, s => Put(s, data, 4, (b, v) => BinaryPrimitives.WriteSingleLittleEndian(b, v)));
    public static void Write(string path, int[] shape, ushort[] data) => Write(path, shape, "<u2", data.Length, s => Put(s, data, 2, (b, v) => BinaryPrimitives.WriteUInt16LittleEndian(b, v)));
    public static void Write(string path, int[] shape, byte[] data) => Write(path, shape, "|u1", data.Length, s => s.Write(data));

    private delegate void Putter<T>(Span<byte> dst, T value);

    private static void Put<T>(Stream s, T[] data, int size, Putter<T> put)
    {
        var buf = new byte[Math.Min(data.Length, 1 << 16) * size];
        for (int start = 0; start < data.Length; start += 1 << 16)
        {
            int n = Math.Min(1 << 16, data.Length - start);
            for (int i = 0; i < n; i++) put(buf.AsSpan(i * size), data[start + i]);
            s.Write(buf, 0, n * size);
        }
    }

    private static void Write(string path, int[] shape, string descr, int length, Action<Stream> body)
    {
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"{path}: negative dimension in shape ({string.Join(", ", shape)}).");
            count *= d;
        }
        if (count != length)
            throw new ArgumentException($"{path}: shape ({string.Join(", ", shape)}) has {count} elements, data has {length}.");
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        // Pad with spaces so magic + version + length + header is a multiple of 64, ending in '\n'.
        int total = 10 + dict.Length + 1;
        int pad = (64 - total % 64) % 64;
        string header = dict + new string(' ', pad) + "\n";
        if (header.Length > ushort.MaxValue) throw new ArgumentException($"{path}: .npy header too long.");
        AtomicFile.Write(path, s =>
        {
            var bs = new BufferedStream(s, 1 << 16);
            bs.Write(Magic);
            bs.WriteByte(1);
            bs.WriteByte(0);
            Span<byte> hl = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(hl, (ushort)header.Length);
            bs.Write(hl);
            bs.Write(Encoding.ASCII.GetBytes(header));
            body(bs);
            bs.Flush();
        });
    }

    /// <summary>A parser for the Python literal subset .npy headers use: dicts, tuples/lists, strings, ints, True/False/None.</summary>
    private sealed class PyLiteralParser(string text)
    {
        private int _pos;

        public object ParseTop()
        {
            var v = ParseValue();
            SkipWs();
            if (_pos != text.Length) throw new FormatException($"unexpected text at offset {_pos}");
            return v;
        }

        private void SkipWs()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private char Peek()
        {
            SkipWs();
            if (_pos >= text.Length) throw new FormatException("unexpected end of header");
            return text[_pos];
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw new FormatException($"expected '{c}' at offset {_pos}, found '{text[_pos]}'");
            _pos++;
        }

        private object ParseValue()
        {
            char c = Peek();
            switch (c)
            {
                case '{':
                {
                    _pos++;
                    var d = new Dictionary<string, object>();
                    while (Peek() != '}')
                    {
                        if (ParseValue() is not string key) throw new FormatException("dict key is not a string");
                        Expect(':');
                        d[key] = ParseValue();
                        if (Peek() == ',') _pos++;
                        else if (Peek() != '}') throw new FormatException($"expected ',' or '}}' at offset {_pos}");
                    }
                    _pos++;
                    return d;
                }
                case '(' or '[':
                {
                    char close = c == '(' ? ')' : ']';
                    _pos++;
                    var l = new List<object>();
                    while (Peek() != close)
                    {
                        l.Add(ParseValue());
                        if (Peek() == ',') _pos++;
                        else if (Peek() != close) throw new FormatException($"expected ',' or '{close}' at offset {_pos}");
                    }
                    _pos++;
                    return l;
                }
                case '\'' or '"':
                {
                    int end = text.IndexOf(c, _pos + 1);
                    if (end < 0) throw new FormatException("unterminated string");
                    var s = text.Substring(_pos + 1, end - _pos - 1);
                    _pos = end + 1;
                    return s;
                }
                default:
                {
                    int start = _pos;
                    while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is '-' or '+' or '_')) _pos++;
                    var tok = text[start.._pos];
                    if (tok == "True") return true;
                    if (tok == "False") return false;
                    if (tok == "None") return "None";
                    // Python 2 era files may write long ints as 3L.
                    if (long.TryParse(tok.TrimEnd('L'), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)) return n;
                    throw new FormatException($"unexpected token '{tok}' at offset {start}");
                }
            }
        }
    }
}
