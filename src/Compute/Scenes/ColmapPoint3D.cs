namespace UniCLift.Compute.Scenes;

/// <summary>A COLMAP 3D point with colour, reprojection error and track.</summary>
public sealed record ColmapPoint3D(ulong Id, double X, double Y, double Z, byte R, byte G, byte B, double Error, ColmapTrackElement[] Track);
