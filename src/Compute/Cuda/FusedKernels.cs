namespace UniCLift.Compute.Cuda;

using System.Collections.Concurrent;
using TorchSharp;

/// <summary>
/// Which fused CUDA kernels a process uses. A fused kernel replaces a chain of TorchSharp operations (each about 11-13 us
/// of host time on CUDA) with one or two launches; it computes what the chain computes, in another order of floating-point
/// operations. A kernel is used on a device only once it has agreed with the chain there: its first use per (kernel,
/// device) in a process runs its self-check (a few milliseconds and one host synchronisation), and a kernel that fails
/// it, or cannot be compiled or launched, is not used again in the process and says why once on standard error.
/// <c>UNICLIFT_FUSED_&lt;NAME&gt;</c> (e.g. <c>UNICLIFT_FUSED_ADAM</c>) set to 0 turns one off, 1 uses it without the
/// check; <c>UNICLIFT_FUSED=0</c> turns them all off.
/// </summary>
public static class FusedKernels
{
    public const string Adam = "adam";
    public const string Ssim = "ssim";
    public const string Triplets = "triplets";
    public const string Cluster = "cluster";

    private static readonly ConcurrentDictionary<(string Name, string Device), Lazy<string?>> Verdicts = new();

    /// <summary>Where a kernel that is not used says why (standard error by default).</summary>
    public static Action<string> Warn { get; set; } = line => Console.Error.WriteLine(line);

    /// <summary>Whether to use kernel <paramref name="name"/> for tensors on <paramref name="device"/> (a CUDA device,
    /// or the CPU under <see cref="KernelEmulator"/>): <paramref name="selfCheck"/> (run once per kernel and device;
    /// null = agrees, else why not) decides unless the environment does.</summary>
    public static bool Use(string name, torch.Device device, Func<torch.Device, string?> selfCheck) =>
        Use(name, device, selfCheck, Environment.GetEnvironmentVariable);

    /// <summary><see cref="Use(string, torch.Device, Func{torch.Device, string?})"/> with the environment read through
    /// <paramref name="environment"/> (a test's own, not the process's, which every test running beside it reads).</summary>
    internal static bool Use(string name, torch.Device device, Func<torch.Device, string?> selfCheck, Func<string, string?> environment)
    {
        if (Setting(name, environment) is bool forced) return forced;
        var verdict = Verdicts.GetOrAdd((name, device.ToString()), key => new Lazy<string?>(() =>
        {
            string? why;
            try { why = selfCheck(device); }
            catch (Exception e) // whatever stops a check (a compile error, a launch failure, a bug) keeps the kernel off
            {
                why = $"{e.GetType().Name}: {e.Message}";
            }
            if (why is not null) Warn($"uniclift: the fused {key.Name} kernel is off on {key.Device} (its self-check: {why}); the unfused operations run instead.");
            return why;
        }, LazyThreadSafetyMode.ExecutionAndPublication));
        return verdict.Value is null;
    }

    /// <summary>A fused scalar function against the chain it replaces, on one input: each differentiated at its own leaf
    /// (a clone of <paramref name="input"/> on <paramref name="device"/>). Null when the values and the gradients agree
    /// to <paramref name="limit"/> relative (<see cref="TensorError.Relative"/>), else what differs, named
    /// <paramref name="what"/>. Call under a dispose scope, with gradients enabled.</summary>
    internal static string? Disagreement(string what, torch.Tensor input, torch.Device device, Func<torch.Tensor, torch.Tensor> reference,
        Func<torch.Tensor, torch.Tensor> fused, double limit)
    {
        // A clone each: on the CPU (the kernel emulator's device) .to would return input itself, one leaf for both.
        var x1 = input.to(device).clone().requires_grad_(true);
        var x2 = input.to(device).clone().requires_grad_(true);
        var expected = reference(x1);
        expected.backward();
        var got = fused(x2);
        got.backward();
        double value = TensorError.Relative(got, expected, floor: 1e-30);
        double grad = TensorError.Relative(x2.grad!, x1.grad!, floor: 1e-30);
        return value <= limit && grad <= limit ? null
            : $"{what} {got.item<float>():R} vs {expected.item<float>():R} (relative error {value:E2}), gradient relative error {grad:E2}; limit {limit:0e0}";
    }

    /// <summary>The environment's say for a kernel: false (off), true (on, unchecked) or null (self-check).</summary>
    public static bool? Setting(string name) => Setting(name, Environment.GetEnvironmentVariable);

    internal static bool? Setting(string name, Func<string, string?> environment)
    {
        if (environment("UNICLIFT_FUSED") == "0") return false;
        return environment("UNICLIFT_FUSED_" + name.ToUpperInvariant()) switch
        {
            "0" => false,
            "1" => true,
            _ => null,
        };
    }

    /// <summary>The self-checks run so far: (kernel, device, null when it agreed or else why not).</summary>
    public static IReadOnlyList<(string Name, string Device, string? Problem)> Checked() =>
        Verdicts.Where(kv => kv.Value.IsValueCreated).Select(kv => (kv.Key.Name, kv.Key.Device, kv.Value.Value))
            .OrderBy(v => v.Name, StringComparer.Ordinal).ThenBy(v => v.Device).ToList();
}
