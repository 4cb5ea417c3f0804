namespace UniCLift.Compute.Rendering;

/// <summary>Blend kernel families: per-pixel scalar, 8-pixel AVX2 (Vector256) rows, 16-pixel AVX-512 (Vector512) tile rows.</summary>
public enum BlendKernel { Scalar, Avx2, Avx512 }
