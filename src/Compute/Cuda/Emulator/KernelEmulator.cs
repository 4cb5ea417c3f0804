namespace UniCLift.Compute.Cuda;

using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

/// <summary>
/// Runs this project's CUDA kernels on the CPU, for machines without a GPU: a kernel source is compiled by the host's
/// C++ compiler (g++) after <c>cuda_emulator.h</c>, and a launch runs every CUDA thread of a block as a fiber on the
/// calling thread, switching at barriers and warp operations. The kernels run their exact source on CPU tensors'
/// memory, through the same host code (<see cref="KernelHost"/>) that launches them on a GPU, with checks a GPU does not
/// make: each buffer argument sits between guard pages (an access outside it names the argument and the thread), the
/// host's argument block must match the kernel's parameters in count, size and kind, a barrier or warp operation that
/// cannot complete stops the launch, and <see cref="Activate"/>'s schedule 1 runs threads and blocks in reverse order
/// (against schedule 0's increasing order), so a result that depends on thread order shows as a difference between
/// the two. Not a GPU: no memory model, no timing, CPU float rounding (fmad off). x86-64 Linux with g++.
/// </summary>
public static class KernelEmulator
{
    /// <summary>The opt-in shared memory limit of sm_90 (H100 / H200), which the emulator enforces.</summary>
    public const int MaxDynamicSharedBytes = 227 * 1024;

    [ThreadStatic] private static int _depth;
    [ThreadStatic] private static int _schedule;
    private static readonly object Gate = new();
    private static readonly Dictionary<string, EmulatedModule> Modules = new(); // by a hash of the unit
    private static readonly Dictionary<string, EmulatedModule> Variants = new(); // embedded sources, by variant

    /// <summary>Whether kernels for CPU tensors run under the emulator on this thread.</summary>
    public static bool Active => _depth > 0;

    /// <summary>This thread's schedule: 0 runs threads and blocks in increasing order, 1 in decreasing order.</summary>
    public static int Schedule => _schedule;

    /// <summary>Kernels for CPU tensors run under the emulator on this thread until the result is disposed (CPU
    /// autograd runs backward on the calling thread, so gradients are covered too). Throws when the emulator cannot run
    /// here.</summary>
    public static IDisposable Activate(int schedule = 0)
    {
        if (schedule is not (0 or 1)) throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "The emulator's schedules are 0 and 1.");
        if (Problem() is { } why) throw new CudaException(why);
        int previous = _schedule;
        _depth++;
        _schedule = schedule;
        return new Activation(previous);
    }

    private sealed class Activation(int previous) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _depth--;
            _schedule = previous;
        }
    }

    /// <summary>The C++ compiler: UNICLIFT_CXX, else g++.</summary>
    public static string Compiler => Environment.GetEnvironmentVariable("UNICLIFT_CXX") is { Length: > 0 } c ? c : "g++";

    /// <summary>Why the emulator cannot run here, or null when it can.</summary>
    public static string? Problem()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return $"The kernel emulator runs on x86-64 Linux only (this is {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}).";
        return CompilerProblem.Value;
    }

    private static readonly Lazy<string?> CompilerProblem = new(() =>
    {
        try
        {
            var (code, output) = Run(Compiler, ["--version"], Directory.GetCurrentDirectory());
            return code == 0 ? null : $"{Compiler} --version failed: {output.Trim()}";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return $"The kernel emulator needs a C++ compiler ({Compiler}; set UNICLIFT_CXX, or apt-get install g++): {e.Message}";
        }
    });

    /// <summary>The module of a kernel source and defines, compiled once per machine (cached beside NVRTC's images) and
    /// loaded once per process.</summary>
    public static EmulatedModule Module(string file, IReadOnlyDictionary<string, string> defines)
    {
        // Looked up by variant first: a launch neither reads the source again nor rebuilds and hashes its unit.
        string variant = KernelSources.Variant(file, defines);
        lock (Modules) if (Variants.TryGetValue(variant, out var loaded)) return loaded;
        var module = Module(file, KernelSources.Read(file), defines);
        lock (Modules) Variants[variant] = module;
        return module;
    }

    /// <summary>The module of CUDA source text (named <paramref name="file"/> in messages).</summary>
    public static EmulatedModule Module(string file, string source, IReadOnlyDictionary<string, string> defines)
    {
        var unit = TranslationUnit(file, source, defines, out var kernels);
        lock (Modules)
        {
            string id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(unit + "\0" + Compiler)))[..16];
            if (Modules.TryGetValue(id, out var m)) return m;
            var path = Build(Path.GetFileNameWithoutExtension(file), id, unit);
            m = new EmulatedModule(file, path, kernels);
            Modules[id] = m;
            return m;
        }
    }

    /// <summary>The C++ translation unit for a source and defines: the emulator header, the defines, the source
    /// (<c>extern __shared__ T name[];</c> becomes the emulator's dynamic shared buffer) and a table of its kernels.</summary>
    public static string TranslationUnit(string file, string source, IReadOnlyDictionary<string, string> defines, out IReadOnlyList<string> kernels)
    {
        kernels = Regex.Matches(source, @"extern\s+""C""\s+__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s+)?(\w+)\s*\(")
            .Select(m => m.Groups[1].Value).ToList();
        if (kernels.Count == 0) throw new CudaException($"{file} defines no extern \"C\" __global__ kernel.");
        var body = Regex.Replace(source, @"extern\s+__shared__\s+(\w+)\s+(\w+)\s*\[\s*\]\s*;", "$1* const $2 = ::emu::dynamic_shared<$1>();");
        var sb = new StringBuilder();
        sb.Append(KernelSources.Read("cuda_emulator.h")).Append('\n');
        foreach (var (k, v) in defines.OrderBy(kv => kv.Key, StringComparer.Ordinal)) sb.Append($"#define {k} {v}\n");
        sb.Append($"#line 1 \"{file}\"\n").Append(body).Append('\n');
        sb.Append("static const ::emu::Kernel emu_kernels[] = {\n");
        foreach (var k in kernels) sb.Append($"    ::emu::kernel<&{k}>(\"{k}\"),\n");
        sb.Append("};\n");
        sb.Append("""
            extern "C" __attribute__((visibility("default"))) int uniclift_emu_launch(const char* name, const unsigned* grid,
                const unsigned* block, unsigned shared, void** args, const int* sizes, const long long* buffers, int nargs,
                int schedule, char* err, int errLen)
            {
                for (const auto& k : emu_kernels)
                    if (std::strcmp(k.name, name) == 0) return ::emu::launch(k, grid, block, shared, args, sizes, buffers, nargs, schedule, err, errLen);
                std::snprintf(err, errLen, "no kernel %s in this module", name);
                return 1;
            }

            """);
        return sb.ToString();
    }

    private static string Build(string name, string id, string unit)
    {
        var dir = Path.Combine(Path.GetDirectoryName(KernelCache.Default().Directory)!, "emulator");
        Directory.CreateDirectory(dir);
        var lib = Path.Combine(dir, $"{name}-{id}.so");
        if (File.Exists(lib)) return lib;
        var tmp = Path.Combine(dir, $"{name}-{id}.{Environment.ProcessId}.{Guid.NewGuid():N}");
        File.WriteAllText(tmp + ".cpp", unit);
        try
        {
            var (code, output) = Run(Compiler, ["-std=c++17", "-O2", "-g", "-fPIC", "-shared", "-fvisibility=hidden", "-ffp-contract=off",
                "-fno-strict-aliasing", "-w", "-o", tmp + ".so", tmp + ".cpp"], dir);
            if (code != 0) throw new CudaException($"The kernel emulator could not compile {name} ({Compiler}, {tmp}.cpp):\n{output.Trim()}");
            File.Move(tmp + ".so", lib, overwrite: true); // atomic: a concurrent process sees the whole library or none
        }
        finally
        {
            File.Delete(tmp + ".cpp");
            if (File.Exists(tmp + ".so")) File.Delete(tmp + ".so");
        }
        return lib;
    }

    private static (int Code, string Output) Run(string exe, IEnumerable<string> args, string dir)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }

    /// <summary>One launch at a time in the process: the kernels' static shared memory and the fault handler are the
    /// process's.</summary>
    internal static object LaunchGate => Gate;
}

/// <summary>A kernel source compiled for <see cref="KernelEmulator"/>.</summary>
public sealed unsafe class EmulatedModule : IKernelModule
{
    private readonly delegate* unmanaged<byte*, uint*, uint*, uint, void**, int*, long*, int, int, byte*, int, int> _launch;
    private readonly Dictionary<string, byte[]> _names = new();
    /// <summary>Each kernel's dynamic shared memory opt-in (<see cref="AllowDynamicShared"/>), as a GPU keeps it.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _optIn = new();

    public string Source { get; }
    public string Library { get; }
    public IReadOnlyList<string> Kernels { get; }

    internal EmulatedModule(string source, string library, IReadOnlyList<string> kernels)
    {
        Source = source; Library = library; Kernels = kernels;
        var handle = NativeLibrary.Load(library);
        _launch = (delegate* unmanaged<byte*, uint*, uint*, uint, void**, int*, long*, int, int, byte*, int, int>)NativeLibrary.GetExport(handle, "uniclift_emu_launch");
        foreach (var k in kernels) _names[k] = Encoding.ASCII.GetBytes(k + "\0");
    }

    public void AllowDynamicShared(string kernel, int bytes)
    {
        if (!_names.ContainsKey(kernel)) throw new CudaException($"{Source} has no kernel {kernel}.");
        if (bytes > KernelEmulator.MaxDynamicSharedBytes)
            throw new CudaException($"{kernel}: {bytes} bytes of dynamic shared memory exceed the {KernelEmulator.MaxDynamicSharedBytes} a block may have.");
        _optIn[kernel] = bytes;
    }

    /// <summary>Runs the kernel to completion on the calling thread (the schedule is the thread's, see
    /// <see cref="KernelEmulator.Activate"/>); throws a <see cref="CudaException"/> naming the kernel when a check
    /// fails.</summary>
    public void Launch(string kernel, (uint X, uint Y) grid, uint block, uint sharedBytes, KernelArgs args)
    {
        if (grid.X == 0 || grid.Y == 0) return;
        if (!_names.TryGetValue(kernel, out var name)) throw new CudaException($"{Source} has no kernel {kernel} (it has {string.Join(", ", Kernels)}).");
        if (sharedBytes > KernelEmulator.MaxDynamicSharedBytes)
            throw new CudaException($"{kernel}: {sharedBytes} bytes of dynamic shared memory exceed the {KernelEmulator.MaxDynamicSharedBytes} a block may have.");
        // A GPU refuses a launch whose dynamic and static shared memory pass 48 KiB unless the kernel opted in to it.
        if (KernelHost.NeedsSharedOptIn(sharedBytes) && _optIn.GetValueOrDefault(kernel) < sharedBytes)
            throw new CudaException($"{kernel}: {sharedBytes} bytes of dynamic shared memory and up to {KernelHost.StaticSharedAllowance} static pass the " +
                                    $"{KernelHost.DefaultSharedBytes} a block has without AllowDynamicShared({kernel}, >= {sharedBytes}); a GPU refuses the launch.");
        uint* g = stackalloc uint[3] { grid.X, grid.Y, 1 };
        uint* b = stackalloc uint[3] { block, 1, 1 };
        const int errLen = 1024;
        byte* err = stackalloc byte[errLen];
        int rc;
        lock (KernelEmulator.LaunchGate)
            fixed (byte* n = name)
                rc = _launch(n, g, b, sharedBytes, args.Pointers, args.Sizes, args.BufferBytes, args.Count, KernelEmulator.Schedule, err, errLen);
        if (rc != 0) throw new CudaException($"Emulated kernel {Marshal.PtrToStringUTF8((nint)err)} ({Source})");
    }
}
