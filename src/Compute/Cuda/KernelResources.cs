namespace UniCLift.Compute.Cuda;

/// <summary>One kernel's resources as ptxas reports them.</summary>
public sealed record KernelResources(string Kernel, int Registers, int StackBytes, int SpillStoreBytes, int SpillLoadBytes, int SharedBytes);
