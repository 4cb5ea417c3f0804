namespace UniCLift.Compute.Synthetic;

internal enum TextureKind { Checker, Stripes, Noise }
