namespace UniCLift.Compute.Cuda;

/// <summary>What NVRTC made of a source: the image to load (CUBIN for a real architecture, PTX for the driver to
/// compile when the device is newer than this NVRTC knows), and the compiler's log (ptxas' register and spill report
/// when asked for with --ptxas-options=-v).</summary>
public sealed record CompiledKernel(byte[] Image, bool IsCubin, string Target, string Log);
