namespace UniCLift.Compute;

/// <summary>
/// The environment lacks what a command needs, and the user's input is not at fault: no GPU, driver, CUDA libtorch or
/// NVRTC (<see cref="Cuda.CudaException"/>), no cluster at the Redis address given. Its message is one line that says
/// what is missing (<see cref="FailurePolicy.Describe"/> shows it without a type name; the exit code is 1).
/// </summary>
public class EnvironmentException(string message, Exception? inner = null) : Exception(message, inner);
