namespace UniCLift.Compute.Losses;

/// <summary>What the mask id 0 (background / unlabelled) means to the clustering loss.</summary>
public enum BackgroundMode
{
    /// <summary>
    /// Id 0 is one more segment: it is pulled together and its centroid is pushed away from the
    /// objects, so background ends up in its own corner of the hypercube (one decoded code).
    /// Default, because Replica/ScanNet masks mark walls/floor/unlabelled as 0 and the decoder
    /// wants one background code. To be measured against <see cref="Ignore"/>.
    /// </summary>
    AsSegment,

    /// <summary>Pixels with id 0 do not take part (neither pull nor push).</summary>
    Ignore,
}
