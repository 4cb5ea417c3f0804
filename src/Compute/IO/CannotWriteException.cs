namespace UniCLift.Compute.IO;

/// <summary>
/// The file system refused to write a file (a full disk, a read-only file system, a directory the process may not
/// write): the environment, not the input (exit code 1). Its message is one line naming the file asked for and why
/// (<see cref="FailurePolicy.Describe"/> shows it without a type name). An <see cref="IOException"/> with the
/// operating system's errno as HResult, so that code which carries on after a failed write (a checkpoint's background
/// write) treats it as the I/O failure it is.
/// </summary>
public sealed class CannotWriteException : IOException
{
    public CannotWriteException(string message, Exception inner) : base(message, inner) => HResult = inner.HResult;
}
