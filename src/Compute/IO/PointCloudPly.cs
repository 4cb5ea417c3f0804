namespace UniCLift.Compute.IO;

/// <summary>
/// Coloured point clouds in PLY (x y z [nx ny nz] red green blue). CONTRACT: implemented by the IO work on top of
/// the general PLY reader/writer (binary little endian and ASCII).
/// </summary>
public static class PointCloudPly
{
    /// <summary>Writes binary little-endian PLY: float x y z, uchar red green blue. positions: [N*3], colors: [N*3].</summary>
    public static void Write(string path, float[] positions, byte[] colors) => throw new NotImplementedException();

    /// <summary>Reads x y z and, when present, red green blue (uchar or float 0..1); colours default to grey.</summary>
    public static (float[] Positions, byte[] Colors) Read(string path) => throw new NotImplementedException();
}
