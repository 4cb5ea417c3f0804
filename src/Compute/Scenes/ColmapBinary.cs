namespace UniCLift.Compute.Scenes;

using System.Text;
using UniCLift.Compute.IO;

/// <summary>
/// COLMAP's binary model files (what COLMAP writes by default), little-endian, exactly as src/colmap/scene/reconstruction_io.cc:
/// <list type="bullet">
/// <item>cameras.bin: uint64 count; per camera int32 camera_id, int32 model_id, uint64 width, uint64 height, double params[n(model)].</item>
/// <item>images.bin: uint64 count; per image int32 image_id, double qw qx qy qz tx ty tz, int32 camera_id, name (bytes up to a
/// NUL), uint64 num_points2D, per point double x, double y, int64 point3D_id.</item>
/// <item>points3D.bin: uint64 count; per point uint64 id, double x y z, uint8 r g b, double error, uint64 track_length, per
/// element int32 image_id, int32 point2D_idx.</item>
/// </list>
/// Every count is checked against the bytes left in the file before anything is allocated, so a corrupt count is an
/// <see cref="InvalidDataException"/> naming the file, never an out-of-memory error.
/// </summary>
public static class ColmapBinary
{
    public const string CamerasFile = "cameras.bin", ImagesFile = "images.bin", Points3DFile = "points3D.bin";

    // Smallest possible record of each kind, for the count checks.
    private const long MinCamera = 4 + 4 + 8 + 8 + 3 * 8, MinImage = 4 + 7 * 8 + 4 + 1 + 8, MinPoint2D = 24,
        MinPoint3D = 8 + 24 + 3 + 8 + 8, TrackElement = 8;
    private const int MaxNameBytes = 64 * 1024;

    public static List<ColmapCamera> ReadCameras(string path)
    {
        using var r = new Reader(path);
        long n = r.Count(MinCamera, "cameras");
        var cams = new List<ColmapCamera>((int)Math.Min(n, 1 << 16));
        var seen = new HashSet<int>();
        for (long i = 0; i < n; i++)
        {
            long at = r.Position;
            int id = r.I32($"camera {i}: camera_id"), model = r.I32($"camera {i}: model_id");
            var m = ColmapModels.ById(model)
                ?? throw new InvalidDataException($"{path}: camera {i} (id {id}, at byte {at}) has unknown model id {model} (expected 0..{ColmapModels.All.Count - 1}).");
            long w = r.U64AsLong($"camera {i}: width"), h = r.U64AsLong($"camera {i}: height");
            var p = new double[m.Params];
            for (int k = 0; k < p.Length; k++) p[k] = r.F64($"camera {i}: {m.Name} parameter {k} of {m.Params}");
            if (!seen.Add(id)) throw new InvalidDataException($"{path}: camera id {id} appears twice.");
            cams.Add(new ColmapCamera(id, model, w, h, p));
        }
        r.End("cameras");
        return cams;
    }

    public static List<ColmapImage> ReadImages(string path)
    {
        using var r = new Reader(path);
        long n = r.Count(MinImage, "images");
        var images = new List<ColmapImage>((int)Math.Min(n, 1 << 16));
        for (long i = 0; i < n; i++)
        {
            int id = r.I32($"image {i}: image_id");
            var v = new double[7];
            for (int k = 0; k < 7; k++) v[k] = r.F64($"image {i}: pose value {k} (qw qx qy qz tx ty tz)");
            int cam = r.I32($"image {i}: camera_id");
            string name = r.Name($"image {i}: name");
            long np = r.Count(MinPoint2D, $"image {i} ('{name}'): points2D");
            var pts = new ColmapPoint2D[np];
            for (long k = 0; k < np; k++)
                pts[k] = new ColmapPoint2D(r.F64("point2D x"), r.F64("point2D y"), r.I64("point3D_id"));
            images.Add(new ColmapImage(id, v[0], v[1], v[2], v[3], v[4], v[5], v[6], cam, name, pts));
        }
        r.End("images");
        return images;
    }

    public static List<ColmapPoint3D> ReadPoints3D(string path)
    {
        using var r = new Reader(path);
        long n = r.Count(MinPoint3D, "points3D");
        var points = new List<ColmapPoint3D>((int)Math.Min(n, 1 << 20));
        for (long i = 0; i < n; i++)
        {
            ulong id = r.U64($"point {i}: point3D_id");
            double x = r.F64($"point {i}: x"), y = r.F64($"point {i}: y"), z = r.F64($"point {i}: z");
            byte cr = r.U8($"point {i}: red"), cg = r.U8($"point {i}: green"), cb = r.U8($"point {i}: blue");
            double err = r.F64($"point {i}: error");
            long nt = r.Count(TrackElement, $"point {i} (id {id}): track");
            var track = new ColmapTrackElement[nt];
            for (long k = 0; k < nt; k++) track[k] = new ColmapTrackElement(r.I32("track image_id"), r.I32("track point2D_idx"));
            points.Add(new ColmapPoint3D(id, x, y, z, cr, cg, cb, err, track));
        }
        r.End("points3D");
        return points;
    }

    /// <summary>Writes cameras.bin, images.bin and (when <paramref name="points"/> is given) points3D.bin into <paramref name="dir"/>, each atomically.</summary>
    public static void Write(string dir, IReadOnlyList<ColmapCamera> cameras, IReadOnlyList<ColmapImage> images, IReadOnlyList<ColmapPoint3D>? points = null)
    {
        foreach (var c in cameras)
        {
            var m = ColmapModels.ById(c.ModelId) ?? throw new ArgumentException($"camera {c.Id}: unknown model id {c.ModelId}.");
            if (c.Params.Length != m.Params) throw new ArgumentException($"camera {c.Id}: {m.Name} has {m.Params} parameters, not {c.Params.Length}.");
        }
        IO.AtomicFile.Write(Path.Combine(dir, CamerasFile), s =>
        {
            using var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            w.Write((ulong)cameras.Count);
            foreach (var c in cameras)
            {
                w.Write(c.Id); w.Write(c.ModelId); w.Write((ulong)c.Width); w.Write((ulong)c.Height);
                foreach (var p in c.Params) w.Write(p);
            }
        });
        IO.AtomicFile.Write(Path.Combine(dir, ImagesFile), s =>
        {
            using var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            w.Write((ulong)images.Count);
            foreach (var im in images)
            {
                if (im.Name.Contains('\0')) throw new ArgumentException($"image {im.Id}: the name contains a NUL.");
                w.Write(im.Id);
                foreach (var v in new[] { im.Qw, im.Qx, im.Qy, im.Qz, im.Tx, im.Ty, im.Tz }) w.Write(v);
                w.Write(im.CameraId);
                w.Write(Encoding.UTF8.GetBytes(im.Name)); w.Write((byte)0);
                w.Write((ulong)im.Points2D.Length);
                foreach (var p in im.Points2D) { w.Write(p.X); w.Write(p.Y); w.Write(p.Point3DId); }
            }
        });
        if (points is null) return;
        IO.AtomicFile.Write(Path.Combine(dir, Points3DFile), s =>
        {
            using var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            w.Write((ulong)points.Count);
            foreach (var p in points)
            {
                w.Write(p.Id); w.Write(p.X); w.Write(p.Y); w.Write(p.Z); w.Write(p.R); w.Write(p.G); w.Write(p.B); w.Write(p.Error);
                w.Write((ulong)p.Track.Length);
                foreach (var t in p.Track) { w.Write(t.ImageId); w.Write(t.Point2DIndex); }
            }
            w.Flush();
        });
    }

    /// <summary>Little-endian reads that know the bytes left and name the file, the offset and the field on a short read.</summary>
    private sealed class Reader : IDisposable
    {
        private readonly string _path;
        private readonly Stream _s;
        private readonly long _length;
        private readonly byte[] _buf = new byte[8];

        public long Position { get; private set; }

        public Reader(string path)
        {
            if (!File.Exists(path)) throw new InvalidDataException($"{path}: file not found.");
            _path = path;
            var fs = DataFile.OpenRead(path, 1 << 16);
            _length = fs.Length;
            _s = fs;
        }

        public void Dispose() => _s.Dispose();

        private ReadOnlySpan<byte> Take(int n, string what)
        {
            if (_length - Position < n)
                throw new InvalidDataException($"{_path}: truncated at byte {Position} of {_length}: expected {what} ({n} bytes), {_length - Position} left.");
            _s.ReadExactly(_buf, 0, n);
            Position += n;
            return _buf.AsSpan(0, n);
        }

        public int I32(string what) => BitConverter.ToInt32(LittleEndian(Take(4, what)));
        public long I64(string what) => BitConverter.ToInt64(LittleEndian(Take(8, what)));
        public ulong U64(string what) => BitConverter.ToUInt64(LittleEndian(Take(8, what)));
        public double F64(string what) => BitConverter.ToDouble(LittleEndian(Take(8, what)));
        public byte U8(string what) => Take(1, what)[0];

        public long U64AsLong(string what)
        {
            long at = Position;
            ulong v = U64(what);
            return v <= long.MaxValue ? (long)v : throw new InvalidDataException($"{_path}: {what} {v} at byte {at} is out of range.");
        }

        private static ReadOnlySpan<byte> LittleEndian(ReadOnlySpan<byte> b)
        {
            if (BitConverter.IsLittleEndian) return b;
            var c = b.ToArray();
            Array.Reverse(c);
            return c;
        }

        /// <summary>A uint64 count of records of at least <paramref name="minBytes"/> each, checked against the bytes left.</summary>
        public long Count(long minBytes, string what)
        {
            long at = Position;
            ulong n = U64($"the number of {what}");
            ulong left = (ulong)(_length - Position);
            if (n > left / (ulong)minBytes)
                throw new InvalidDataException($"{_path}: the number of {what} at byte {at} is {n}, but {left} bytes are left " +
                    $"(at least {minBytes} per record): the file is truncated or not a COLMAP binary model.");
            return (long)n;
        }

        /// <summary>A NUL-terminated UTF-8 name.</summary>
        public string Name(string what)
        {
            long at = Position;
            var bytes = new List<byte>();
            while (true)
            {
                if (Position >= _length)
                    throw new InvalidDataException($"{_path}: truncated at byte {Position} of {_length}: {what} starting at byte {at} has no terminating NUL.");
                byte b = U8(what);
                if (b == 0) break;
                if (bytes.Count >= MaxNameBytes) throw new InvalidDataException($"{_path}: {what} at byte {at} is longer than {MaxNameBytes} bytes.");
                bytes.Add(b);
            }
            if (bytes.Count == 0) throw new InvalidDataException($"{_path}: {what} at byte {at} is empty.");
            return Encoding.UTF8.GetString(bytes.ToArray());
        }

        public void End(string what)
        {
            if (Position != _length)
                throw new InvalidDataException($"{_path}: {_length - Position} unexpected bytes after the last of the {what} (at byte {Position}).");
        }
    }
}
