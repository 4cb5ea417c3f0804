namespace UniCLift.Grains.Hosting;

/// <summary>
/// A silo setting (configuration section "UniCLift": options, data roots, TLS files) whose value cannot work: bad input,
/// so the silo program exits 2 with this one line. An <see cref="ArgumentException"/>, so that
/// <see cref="UniCLift.Compute.FailurePolicy.IsBadInput"/> calls it bad input.
/// </summary>
public sealed class SiloOptionsException(string message, Exception? inner = null) : ArgumentException(message, inner);
