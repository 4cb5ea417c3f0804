namespace UniCLift.Compute.Synthetic;

using UniCLift.Compute.Scenes;

/// <summary>
/// Procedural room scenes with exact ground truth: ray-traced RGB, depth, instance and semantic maps for an orbit
/// of cameras, corrupted per-view "predicted" masks, an initial point cloud and train/test splits.
/// Deterministic per seed: every random choice comes from a stream keyed by (seed, purpose, index), and views
/// are independent, so the parallel result is bit-identical to a serial one.
/// </summary>
public static class SyntheticSceneGenerator
{
    // Stream purposes: each kind of random choice has its own stream so that changing one (say, the number of
    // views) does not reshuffle another (the object layout).
    private const ulong LayoutStream = 1, MaterialStream = 2, CameraStream = 3, MaskStream = 4, PointStream = 5, LightStream = 6,
        StyleStream = 7;

    public static SyntheticScene Generate(SyntheticSceneOptions options, int? maxDegreeOfParallelism = null)
    {
        var o = options.Validate();
        var (room, objects, touching) = BuildRoom(o);
        var cameras = BuildCameras(o);
        int v = o.Views;
        var names = Enumerable.Range(0, v).Select(ViewName).ToArray();
        bool[] isTest = Enumerable.Range(0, v).Select(i => IsTestView(o, i)).ToArray();
        int trainCount = isTest.Count(t => !t);
        var trainIndex = new int[v];
        for (int i = 0, k = 0; i < v; i++) trainIndex[i] = isTest[i] ? -1 : k++;

        var classOf = new int[objects.Count + 1];
        foreach (var ob in objects) classOf[ob.InstanceId] = ob.SemanticClass;

        var views = new ViewData[v];
        var logs = new ViewCorruption[v];
        var viewPoints = new float[v][];
        var viewColors = new byte[v][];
        var po = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism ?? Environment.ProcessorCount };
        Parallel.For(0, v, po, i =>
        {
            var cam = cameras[i];
            var (image, depth, inst, sem) = Render(room, cam);
            var (mask, maskSem, log) = MaskCorruptor.Corrupt(names[i], inst.Labels, sem.Labels, cam.Width, cam.Height, classOf, o,
                StreamRandom.For(o.Seed, MaskStream, i));
            views[i] = new ViewData(names[i], cam, image, depth,
                new LabelMap(cam.Width, cam.Height, mask), new LabelMap(cam.Width, cam.Height, maskSem), inst, sem);
            logs[i] = log;
            if (trainIndex[i] >= 0)
            {
                // Spread the point budget evenly over the training views.
                int quota = o.PointCount / trainCount + (trainIndex[i] < o.PointCount % trainCount ? 1 : 0);
                (viewPoints[i], viewColors[i]) = SamplePoints(cam, image, depth, quota, o.PointNoise, StreamRandom.For(o.Seed, PointStream, i));
            }
            else
            {
                viewPoints[i] = [];
                viewColors[i] = [];
            }
        });

        var points = viewPoints.SelectMany(p => p).ToArray();
        var colours = viewColors.SelectMany(c => c).ToArray();
        var train = names.Where((_, i) => !isTest[i]).ToList();
        var test = names.Where((_, i) => isTest[i]).ToList();
        return new SyntheticScene(o, views, points, colours, train, test, objects, touching, logs, (double[])room.Light.Clone());
    }

    public static string ViewName(int index) => index.ToString("D4", System.Globalization.CultureInfo.InvariantCulture);

    internal static (SyntheticRoom Room, List<SyntheticObject> Objects, List<(int A, int B)> Touching) BuildRoom(SyntheticSceneOptions o)
    {
        var placed = ObjectPlacement.Place(o, StreamRandom.For(o.Seed, LayoutStream));
        var mat = StreamRandom.For(o.Seed, MaterialStream);
        // Choices the basic style does not make come from their own stream, so the basic scenes stay as they were.
        var style = StreamRandom.For(o.Seed, StyleStream);
        double baseHue = o.Palette == Palette.Similar ? style.NextDouble() : 0;
        var prims = new List<Primitive>(placed.Count);
        var objects = new List<SyntheticObject>(placed.Count);
        for (int k = 0; k < placed.Count; k++)
        {
            var p = placed[k];
            // Hues spread by the golden ratio so neighbouring ids rarely look alike; the similar palette keeps them
            // within a narrow band instead.
            double hue = (k * 0.6180339887 + mat.Uniform(0, 0.15)) % 1.0;
            if (o.Palette == Palette.Similar) hue = (baseHue + style.Uniform(-0.04, 0.04) + 1) % 1.0;
            var a = Hsv(hue, mat.Uniform(0.45, 0.9), mat.Uniform(0.6, 0.95));
            var b = Hsv((hue + mat.Uniform(-0.06, 0.06) + 1) % 1.0, mat.Uniform(0.3, 0.9), mat.Uniform(0.3, 0.55));
            double size = Math.Max(p.Hx, Math.Max(p.Hy, Math.Max(p.R, p.H / 2)));
            var texture = RandomTexture(mat, a, b, size * mat.Uniform(0.25, 0.5));
            if (o.Palette == Palette.Similar && style.Chance(0.5)) texture = new ProceduralTexture { Kind = TextureKind.Plain, A = a, B = a, Scale = 1 };
            double shininess = o.Specular > 0 && style.Chance(0.6) ? style.Uniform(20, 80) : 0;
            int id = k + 1, cls = SyntheticClasses.Of(p.Shape);
            double cos = Math.Cos(p.Yaw), sin = Math.Sin(p.Yaw);
            foreach (var part in ObjectPlacement.Parts(p))
            {
                prims.Add(new Primitive
                {
                    Shape = part.Kind, Instance = id, Class = cls,
                    Bx = p.Footprint.X + cos * part.Ox - sin * part.Oy, By = p.Footprint.Y + sin * part.Ox + cos * part.Oy,
                    Bz = p.Bz + part.Bz, Yaw = p.Yaw, R = part.R, H = part.H, Hx = part.Hx, Hy = part.Hy, Hz = part.Hz,
                    TextureX = p.Footprint.X, TextureY = p.Footprint.Y, Texture = texture, Shininess = shininess,
                }.Prepare());
            }
            double[] extent = p.Shape switch
            {
                ShapeKind.Box or ShapeKind.Slab or ShapeKind.Table or ShapeKind.LBlock => [2 * p.Hx, 2 * p.Hy, p.Top],
                _ => [2 * p.R, 2 * p.R, p.Top],
            };
            objects.Add(new SyntheticObject(id, p.Shape, cls, [p.Footprint.X, p.Footprint.Y, p.Bz + extent[2] / 2],
                extent, p.Yaw, [ToByte(a[0]), ToByte(a[1]), ToByte(a[2])], texture.Describe(), p.StandsOn + 1));
        }

        var floor = new ProceduralTexture
        {
            Kind = mat.Chance(0.5) ? TextureKind.Checker : TextureKind.Noise,
            A = Hsv(mat.Uniform(0.05, 0.12), mat.Uniform(0.2, 0.5), mat.Uniform(0.55, 0.75)),
            B = Hsv(mat.Uniform(0.05, 0.12), mat.Uniform(0.2, 0.5), mat.Uniform(0.3, 0.45)),
            Scale = mat.Uniform(0.35, 0.6), NoiseSeed = mat.NextUInt64(),
        };
        var walls = new ProceduralTexture[4];
        for (int w = 0; w < 4; w++)
        {
            double hue = mat.NextDouble();
            walls[w] = RandomTexture(mat, Hsv(hue, mat.Uniform(0.05, 0.25), mat.Uniform(0.75, 0.9)),
                Hsv(hue, mat.Uniform(0.1, 0.35), mat.Uniform(0.5, 0.7)), mat.Uniform(0.2, 0.45));
        }

        var lr = StreamRandom.For(o.Seed, LightStream);
        double half = o.RoomSize / 2;
        double[] light = [lr.Uniform(-0.4, 0.4) * half, lr.Uniform(-0.4, 0.4) * half, o.WallHeight * lr.Uniform(0.8, 0.95)];
        var room = new SyntheticRoom
        {
            Half = half, WallHeight = o.WallHeight, Objects = prims.ToArray(), Floor = floor, Walls = walls, Light = light, Specular = o.Specular,
        };
        return (room, objects, ObjectPlacement.TouchingPairs(placed));
    }

    private static ProceduralTexture RandomTexture(StreamRandom rng, double[] a, double[] b, double scale)
    {
        var kind = (TextureKind)rng.NextInt(3);
        // Random stripe direction on the unit sphere.
        double z = rng.Uniform(-1, 1), phi = rng.Uniform(0, 2 * Math.PI), rxy = Math.Sqrt(1 - z * z);
        return new ProceduralTexture
        {
            Kind = kind, A = a, B = b, Scale = Math.Max(scale, 0.02),
            Direction = [rxy * Math.Cos(phi), rxy * Math.Sin(phi), z], NoiseSeed = rng.NextUInt64(),
        };
    }

    /// <summary>Cameras on a ring between the objects and the walls, at varied heights, looking at the room centre
    /// with jitter. OpenCV axes; intrinsics from the horizontal FOV, square pixels, principal point at the centre.</summary>
    internal static Camera[] BuildCameras(SyntheticSceneOptions o)
    {
        double fx = o.Width / 2.0 / Math.Tan(o.HorizontalFovDegrees * Math.PI / 360.0);
        double half = o.RoomSize / 2;
        double ringMin = Math.Min(o.PlacementRadius + 0.6, half - 0.3), ringMax = half - 0.25;
        var cams = new Camera[o.Views];
        for (int i = 0; i < o.Views; i++)
        {
            var rng = StreamRandom.For(o.Seed, CameraStream, i);
            double ang = 2 * Math.PI * i / o.Views + rng.Uniform(-0.4, 0.4) * Math.PI / o.Views;
            double rad = rng.Uniform(ringMin, ringMax);
            // Heights cycle low-high around the orbit (two periods) plus jitter, within the walls.
            double h = Math.Clamp(1.55 + 0.6 * Math.Sin(2 * ang + 0.7) + rng.Uniform(-0.15, 0.15), 0.7, o.WallHeight - 0.6);
            var target = (rng.Uniform(-0.35, 0.35), rng.Uniform(-0.35, 0.35), rng.Uniform(0.15, 0.5)); // evaluated left to right
            if (o.CameraPath == CameraPath.FarTest && IsTestView(o, i))
            {
                // Off the training orbit: half a step around, inside the ring, above every training height, looking
                // down at the objects from angles no training view has.
                ang += Math.PI / o.Views;
                rad = Math.Min(o.PlacementRadius + rng.Uniform(0.15, 0.35), ringMin - 0.1);
                h = o.WallHeight - rng.Uniform(0.25, 0.45);
                target = (rng.Uniform(-0.5, 0.5), rng.Uniform(-0.5, 0.5), 0.1);
            }
            var pos = (rad * Math.Cos(ang), rad * Math.Sin(ang), h);
            var c2w = Camera.LookAtPose(pos, target, (0, 0, 1)); // world z up
            for (int k = 0; k < 12; k++) c2w[k] += 0.0; // the pose files say 0, not -0, where up's zeros cancel
            cams[i] = new Camera(o.Width, o.Height, fx, fx, o.Width / 2.0, o.Height / 2.0, c2w);
        }
        return cams;
    }

    /// <summary>Whether view <paramref name="index"/> is a test view (every TestEvery-th).</summary>
    internal static bool IsTestView(SyntheticSceneOptions o, int index) => o.TestEvery > 0 && index % o.TestEvery == o.TestEvery - 1;

    /// <summary>One ray through each pixel centre; depth is along the optical axis (the ray's camera-space z).</summary>
    internal static (RgbImage Image, DepthMap Depth, LabelMap Instance, LabelMap Semantic) Render(SyntheticRoom room, Camera cam)
    {
        int w = cam.Width, h = cam.Height;
        var image = new RgbImage(w, h);
        var depth = new DepthMap(w, h);
        var inst = new LabelMap(w, h);
        var sem = new LabelMap(w, h);
        var m = cam.CameraToWorld;
        double ox = m[3], oy = m[7], oz = m[11];
        for (int y = 0; y < h; y++)
        {
            double cy = (y + 0.5 - cam.Cy) / cam.Fy;
            for (int x = 0; x < w; x++)
            {
                double cx = (x + 0.5 - cam.Cx) / cam.Fx;
                // Camera ray (cx, cy, 1) in world axes; its length converts ray distance to optical-axis depth.
                double dx = m[0] * cx + m[1] * cy + m[2], dy = m[4] * cx + m[5] * cy + m[6], dz = m[8] * cx + m[9] * cy + m[10];
                double len = Math.Sqrt(dx * dx + dy * dy + dz * dz);
                dx /= len; dy /= len; dz /= len;
                double t = room.Trace(ox, oy, oz, dx, dy, dz, out int id, out int cls, out double r, out double g, out double b);
                int p = y * w + x;
                depth.Meters[p] = (float)(t / len);
                inst.Labels[p] = id;
                sem.Labels[p] = cls;
                image.Pixels[3 * p] = ToByte(r);
                image.Pixels[3 * p + 1] = ToByte(g);
                image.Pixels[3 * p + 2] = ToByte(b);
            }
        }
        return (image, depth, inst, sem);
    }

    /// <summary>Back-projects random pixels with depth (like an SfM point cloud: coloured by the image, with noise).</summary>
    private static (float[] Points, byte[] Colors) SamplePoints(Camera cam, RgbImage image, DepthMap depth, int count, double noise, StreamRandom rng)
    {
        var pts = new float[count * 3];
        var cols = new byte[count * 3];
        int n = 0, pixels = cam.Width * cam.Height;
        for (int tries = 0; n < count && tries < count * 20; tries++)
        {
            int p = rng.NextInt(pixels);
            float d = depth.Meters[p];
            if (d <= 0) continue;
            // Anywhere inside the pixel, not only its centre.
            double u = p % cam.Width + rng.NextDouble(), v = p / cam.Width + rng.NextDouble();
            var (x, y, z) = cam.Unproject(u, v, d);
            pts[3 * n] = (float)(x + noise * rng.NextGaussian());
            pts[3 * n + 1] = (float)(y + noise * rng.NextGaussian());
            pts[3 * n + 2] = (float)(z + noise * rng.NextGaussian());
            cols[3 * n] = image.Pixels[3 * p];
            cols[3 * n + 1] = image.Pixels[3 * p + 1];
            cols[3 * n + 2] = image.Pixels[3 * p + 2];
            n++;
        }
        return n == count ? (pts, cols) : (pts[..(3 * n)], cols[..(3 * n)]);
    }

    private static double[] Hsv(double h, double s, double v)
    {
        double c = v * s, hp = h * 6, x = c * (1 - Math.Abs(hp % 2 - 1)), m = v - c;
        var (r, g, b) = (int)hp switch
        {
            0 => (c, x, 0.0), 1 => (x, c, 0.0), 2 => (0.0, c, x), 3 => (0.0, x, c), 4 => (x, 0.0, c), _ => (c, 0.0, x),
        };
        return [r + m, g + m, b + m];
    }

    internal static byte ToByte(double v) => (byte)Math.Clamp((int)(v * 255.0 + 0.5), 0, 255);
}
