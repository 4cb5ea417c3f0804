namespace UniCLift.Compute.Synthetic;

/// <summary>Options of the synthetic room generator. Defaults match the project's benchmark scene.</summary>
public sealed record SyntheticSceneOptions
{
    public int Seed { get; init; }
    /// <summary>Number of objects, 1..MaxObjects.</summary>
    public int Objects { get; init; } = 10;
    /// <summary>Number of cameras, at least 2.</summary>
    public int Views { get; init; } = 60;
    public int Width { get; init; } = 320;
    public int Height { get; init; } = 240;
    public double HorizontalFovDegrees { get; init; } = 60.0;
    public CorruptionLevel Corruption { get; init; } = CorruptionLevel.M2F;
    public ShapeSet Shapes { get; init; } = ShapeSet.Basic;
    public Palette Palette { get; init; } = Palette.Varied;
    public CameraPath CameraPath { get; init; } = CameraPath.Orbit;
    /// <summary>Strength of a white Blinn-Phong highlight on objects (view-dependent colour), 0..1; 0 = matte.</summary>
    public double Specular { get; init; }
    /// <summary>Every TestEvery-th view (index % TestEvery == TestEvery - 1) is a test view; 0 = no test views.</summary>
    public int TestEvery { get; init; } = 5;
    /// <summary>Initial point cloud size (back-projected from the training views' depth).</summary>
    public int PointCount { get; init; } = 30000;
    /// <summary>Standard deviation of the Gaussian noise added to the initial points, metres.</summary>
    public double PointNoise { get; init; } = 0.01;

    /// <summary>Room extent in x and y (metres, centred on the origin) and wall height; the ceiling is open.</summary>
    public double RoomSize { get; init; } = 6.0;
    public double WallHeight { get; init; } = 3.0;
    /// <summary>Objects stand inside this radius around the room centre so that the orbiting cameras see them.</summary>
    public double PlacementRadius { get; init; } = 1.6;
    /// <summary>Probability that a new object is placed touching an existing one (real segmenters merge such pairs).</summary>
    public double TouchingProbability { get; init; } = 0.3;

    // Corruption rates (m2f); boundary jitter and tiny-segment dropping also apply to light.
    public double MergeProbability { get; init; } = 0.15;
    public double SplitProbability { get; init; } = 0.10;
    public double MissProbability { get; init; } = 0.08;
    /// <summary>Probability per view of one spurious segment on the background.</summary>
    public double SpuriousProbability { get; init; } = 0.3;
    /// <summary>Segments smaller than this are dropped (set to 0); null = 50 px scaled by image area relative to 320x240.</summary>
    public int? MinSegmentPixels { get; init; }

    public const int MaxObjects = 120;

    /// <summary>Views x width x height at most: 2^28, e.g. 3400 views of 320x240 or 2 of 8192x8192.</summary>
    public const long MaxPixels = 1L << 28;

    public int EffectiveMinSegmentPixels =>
        MinSegmentPixels ?? Math.Max(4, (int)Math.Round(50.0 * Width * Height / (320.0 * 240.0)));

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad value and what was expected.</summary>
    public SyntheticSceneOptions Validate()
    {
        if (Objects is < 1 or > MaxObjects) throw new ArgumentException($"objects = {Objects}: expected 1..{MaxObjects}.", nameof(Objects));
        if (!(Specular >= 0 && Specular <= 1)) throw new ArgumentException($"specular = {Specular}: expected 0..1.", nameof(Specular));
        if (Views < 2) throw new ArgumentException($"views = {Views}: expected at least 2.", nameof(Views));
        if (Views > 100000) throw new ArgumentException($"views = {Views}: expected at most 100000.", nameof(Views));
        if (Width is < 8 or > 8192) throw new ArgumentException($"width = {Width}: expected 8..8192 pixels.", nameof(Width));
        if (Height is < 8 or > 8192) throw new ArgumentException($"height = {Height}: expected 8..8192 pixels.", nameof(Height));
        // The generator holds every view in memory (about 27 bytes a pixel): demo --views 100000 had taken 17 GB within
        // half a minute, and make-scene's own bounds (100000 views of 8192x8192) allowed petabytes.
        if ((long)Views * Width * Height > MaxPixels)
            throw new ArgumentException($"views x width x height = {Views} x {Width} x {Height} = {(long)Views * Width * Height} pixels: expected at most {MaxPixels} (about 7 GB in memory).", nameof(Views));
        if (!(HorizontalFovDegrees > 5 && HorizontalFovDegrees < 170))
            throw new ArgumentException($"horizontal FOV = {HorizontalFovDegrees} degrees: expected 5..170.", nameof(HorizontalFovDegrees));
        // The field of view is horizontal: an image far taller than wide needs a vertical one past 170 degrees, which the
        // readers refuse as intrinsics not in pixels (make-scene wrote 8x640 scenes its own loader rejected).
        double verticalFov = 2 * Math.Atan(Height / 2.0 / (Width / 2.0 / Math.Tan(HorizontalFovDegrees * Math.PI / 360.0))) * 180 / Math.PI;
        if (verticalFov >= 170)
            throw new ArgumentException($"width x height = {Width} x {Height} with a {HorizontalFovDegrees} degree horizontal field of view needs a vertical one of {verticalFov:0.#} degrees: expected under 170 (a less tall image, or a wider field of view).");
        if (TestEvery < 0 || TestEvery == 1) throw new ArgumentException($"test-every = {TestEvery}: expected 0 (no test views) or at least 2.", nameof(TestEvery));
        if (PointCount < 0) throw new ArgumentException($"point count = {PointCount}: expected >= 0.", nameof(PointCount));
        if (!(PointNoise >= 0)) throw new ArgumentException($"point noise = {PointNoise}: expected >= 0.", nameof(PointNoise));
        if (!(RoomSize >= 3)) throw new ArgumentException($"room size = {RoomSize} m: expected >= 3.", nameof(RoomSize));
        if (!(WallHeight >= 2)) throw new ArgumentException($"wall height = {WallHeight} m: expected >= 2.", nameof(WallHeight));
        if (!(PlacementRadius >= 0.5 && PlacementRadius <= RoomSize / 2 - 0.8))
            throw new ArgumentException($"placement radius = {PlacementRadius} m: expected 0.5..{RoomSize / 2 - 0.8} (cameras orbit between objects and walls).", nameof(PlacementRadius));
        foreach (var (name, p) in new[] { ("touching probability", TouchingProbability), ("merge probability", MergeProbability),
                     ("split probability", SplitProbability), ("miss probability", MissProbability), ("spurious probability", SpuriousProbability) })
            if (!(p >= 0 && p <= 1)) throw new ArgumentException($"{name} = {p}: expected 0..1.");
        if (MinSegmentPixels is < 0) throw new ArgumentException($"min segment pixels = {MinSegmentPixels}: expected >= 0.", nameof(MinSegmentPixels));
        return this;
    }
}
