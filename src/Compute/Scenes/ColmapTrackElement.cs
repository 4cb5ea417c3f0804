namespace UniCLift.Compute.Scenes;

/// <summary>A track element: an image and the index of one of its 2D points.</summary>
public readonly record struct ColmapTrackElement(int ImageId, int Point2DIndex);
