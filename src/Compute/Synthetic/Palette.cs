namespace UniCLift.Compute.Synthetic;

/// <summary>How object colours are chosen.</summary>
public enum Palette
{
    /// <summary>Hues spread by the golden ratio: neighbours rarely look alike.</summary>
    Varied,
    /// <summary>Every object from one narrow hue band, many plain (untextured): neighbours look alike, so colour
    /// alone does not separate them.</summary>
    Similar,
}
