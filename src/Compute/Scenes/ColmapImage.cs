namespace UniCLift.Compute.Scenes;

/// <summary>A COLMAP image: world-to-camera rotation (qw qx qy qz) and translation, its camera and file name.</summary>
public sealed record ColmapImage(int Id, double Qw, double Qx, double Qy, double Qz, double Tx, double Ty, double Tz,
    int CameraId, string Name, ColmapPoint2D[] Points2D);
