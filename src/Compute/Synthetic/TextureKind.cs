namespace UniCLift.Compute.Synthetic;

/// <summary>Plain is one colour (A) everywhere: nothing inside the object for a segmenter or a fit to hold on to.</summary>
internal enum TextureKind { Checker, Stripes, Noise, Plain }
