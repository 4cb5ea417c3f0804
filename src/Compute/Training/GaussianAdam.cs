namespace UniCLift.Compute.Training;

using TorchSharp;
using TorchSharp.Modules;
using UniCLift.Compute.Cuda;
using static TorchSharp.torch;

/// <summary>
/// Adam with one state per named parameter, written out rather than taken from torch.optim because density control
/// resizes parameters (clone, split, prune) and the moments must be resized with them, and because a checkpoint must
/// hold the moments exactly. Same update as torch.optim.Adam (bias-corrected, eps added after the sqrt).
/// </summary>
public sealed class GaussianAdam : IDisposable
{
    public sealed class Slot : IDisposable
    {
        public required string Name { get; init; }
        public required Parameter Value { get; set; }
        public required Tensor ExpAvg { get; set; }
        public required Tensor ExpAvgSq { get; set; }
        public long Step { get; set; }
        public double LearningRate { get; set; }
        /// <summary>Frozen slots keep their value (lift mode freezes the geometry).</summary>
        public bool Frozen { get; set; }

        public void Dispose() { Value.Dispose(); ExpAvg.Dispose(); ExpAvgSq.Dispose(); }
    }

    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly List<string> _order = new();
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-15;

    public IReadOnlyList<string> Names => _order;
    public Slot this[string name] => _slots[name];

    /// <summary>Takes ownership of <paramref name="value"/> (a tensor outside any dispose scope).</summary>
    public Parameter Add(string name, Tensor value, double learningRate, bool frozen = false)
    {
        var p = new Parameter(value, requires_grad: !frozen);
        p.DetachFromDisposeScope();
        var m = zeros_like(p).DetachFromDisposeScope();
        var v = zeros_like(p).DetachFromDisposeScope();
        _slots[name] = new Slot { Name = name, Value = p, ExpAvg = m, ExpAvgSq = v, LearningRate = learningRate, Frozen = frozen };
        _order.Add(name);
        return p;
    }

    /// <summary>The device the parameters live on (CPU when empty).</summary>
    public Device Device => _order.Count == 0 ? CPU : _slots[_order[0]].Value.device;

    /// <summary>Moves every parameter and its moments to a device (values and moments unchanged, bit for bit).</summary>
    public void MoveTo(Device device)
    {
        foreach (var name in _order)
        {
            var s = _slots[name];
            if (KernelHost.SameDevice(s.Value.device, device)) continue;
            using (no_grad())
            {
                var v = s.Value.detach().to(device).DetachFromDisposeScope();
                var m = s.ExpAvg.to(device).DetachFromDisposeScope();
                var q = s.ExpAvgSq.to(device).DetachFromDisposeScope();
                s.Value.Dispose(); s.ExpAvg.Dispose(); s.ExpAvgSq.Dispose();
                s.Value = new Parameter(v, requires_grad: !s.Frozen);
                s.Value.DetachFromDisposeScope();
                s.ExpAvg = m; s.ExpAvgSq = q;
            }
        }
    }

    /// <summary>CUDA parameters: one fused kernel launch per parameter (optim.cu: the update and the gradient's zeroing)
    /// instead of nine TorchSharp operations and seven Scalars. null (default): used on a device once its self-check
    /// (<see cref="SelfCheck"/>) has agreed with the unfused update there (<see cref="Cuda.FusedKernels"/>;
    /// UNICLIFT_FUSED_ADAM=0 turns it off); true / false: always / never (check gpu compares the two).</summary>
    public static bool? FusedCudaUpdate { get; set; }

    /// <summary>The fused update against the unfused one on a device: 4 steps of random gradients on 300,001 x 3
    /// parameters (the kernel zeroing the gradient on two of them); parameters and both moments to 1e-5 relative, the
    /// zeroed gradients exactly 0. Null when they agree, else what differs.</summary>
    public static string? SelfCheck(Device dev)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var gen = new Generator(11);
        var init = randn(new long[] { 300_001, 3 }, generator: gen).to(dev);
        var grads = Enumerable.Range(0, 4).Select(_ => randn(new long[] { 300_001, 3 }, generator: gen).to(dev)).ToArray();
        (Tensor P, Tensor M, Tensor V, double Left) Run(bool fused)
        {
            using var adam = new GaussianAdam();
            adam.Add("x", init.clone(), 0.01);
            var s = adam["x"];
            double left = 0;
            for (int i = 0; i < grads.Length; i++)
            {
                var g = grads[i].clone();
                bool zero = i % 2 == 1; // the kernel zeroes the gradient on every other step, as Step() asks it to
                if (!fused) { adam.Update(s, g); if (zero) g.zero_(); }
                else if (!adam.TryFusedUpdate(s, g, zero, force: true)) throw new InvalidOperationException("the fused update does not apply to a contiguous float32 CUDA tensor");
                if (zero) left = Math.Max(left, g.abs().max().item<float>());
            }
            return (s.Value.detach().clone(), s.ExpAvg.clone(), s.ExpAvgSq.clone(), left);
        }
        var reference = Run(false);
        var fusedRun = Run(true);
        double ep = TensorError.Relative(fusedRun.P, reference.P, floor: 1e-30), em = TensorError.Relative(fusedRun.M, reference.M, floor: 1e-30),
            ev = TensorError.Relative(fusedRun.V, reference.V, floor: 1e-30);
        if (!(ep <= 1e-5 && em <= 1e-5 && ev <= 1e-5))
            return $"parameters / first / second moments differ by {ep:E2} / {em:E2} / {ev:E2} relative (limit 1e-5)";
        if (fusedRun.Left != 0) return $"the zeroed gradient kept |g| up to {fusedRun.Left:E2}";
        return null;
    }

    private static bool UseFused(Device device) =>
        FusedCudaUpdate ?? Cuda.FusedKernels.Use(Cuda.FusedKernels.Adam, device, SelfCheck);

    /// <summary>One Adam update of every parameter that has a gradient; gradients are cleared afterwards.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var name in _order)
        {
            var s = _slots[name];
            var g = s.Value.grad;
            if (s.Frozen || g is null) continue;
            if (TryFusedUpdate(s, g, zeroGrad: true)) continue; // zeroed by the kernel
            Update(s, g);
            g.zero_();
        }
    }

    /// <summary>The fused CUDA update, when it applies (CUDA, float32, contiguous); false: use <see cref="Update"/>.</summary>
    internal bool TryFusedUpdate(Slot s, Tensor g, bool zeroGrad, bool? force = null)
    {
        if (!Cuda.KernelHost.Runs(s.Value.device) || s.Value.dtype != ScalarType.Float32 || g.dtype != ScalarType.Float32
            || !s.Value.is_contiguous() || !g.is_contiguous() || !s.ExpAvg.is_contiguous() || !s.ExpAvgSq.is_contiguous()
            || !(force ?? UseFused(s.Value.device)))
            return false;
        s.Step++;
        double bc1 = 1 - Math.Pow(Beta1, s.Step), bc2 = 1 - Math.Pow(Beta2, s.Step);
        var module = Cuda.KernelHost.Module(s.Value.device, FusedKernelSource, Cuda.KernelSources.NoDefines);
        long n = s.Value.numel();
        var a = Cuda.KernelArgs.ForThread().Add(n).Ptr(s.Value).Ptr(g).Ptr(s.ExpAvg).Ptr(s.ExpAvgSq)
            .Add((float)Beta1).Add((float)(1 - Beta1)).Add((float)Beta2).Add((float)(1 - Beta2)).Add((float)Math.Sqrt(bc2))
            .Add((float)Epsilon).Add((float)(-s.LearningRate / bc1)).Add(zeroGrad ? 1 : 0);
        module.Launch("adam_step", ((uint)((n + 255) / 256), 1u), 256, 0, a);
        return true;
    }

    /// <summary>The fused optimiser kernels' embedded source.</summary>
    public const string FusedKernelSource = "optim.cu";

    /// <summary>One Adam update of a slot with a gradient computed elsewhere (e.g. on a module's copy of the weight).</summary>
    public void Step(string name, Tensor gradient)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var s = _slots[name];
        if (!TryFusedUpdate(s, gradient, zeroGrad: false)) Update(s, gradient);
    }

    internal void Update(Slot s, Tensor g)
    {
        {
            s.Step++;
            double bc1 = 1 - Math.Pow(Beta1, s.Step), bc2 = 1 - Math.Pow(Beta2, s.Step);
            // Explicit scalars: TorchSharp's implicit ones can be finalised during the native call. Constants come rooted
            // from Scalars; the two that change every step are made and disposed here.
            Scalar b1 = Scalars.Of(Beta1), nb1 = Scalars.Of(1 - Beta1), b2 = Scalars.Of(Beta2), nb2 = Scalars.Of(1 - Beta2), eps = Scalars.Of(Epsilon);
            using Scalar sq = Math.Sqrt(bc2).ToScalar(), step = (-s.LearningRate / bc1).ToScalar();
            s.ExpAvg.mul_(b1).add_(g, alpha: nb1);
            s.ExpAvgSq.mul_(b2).addcmul_(g, g, value: nb2);
            var denom = s.ExpAvgSq.sqrt().div_(sq).add_(eps, Scalars.One);
            s.Value.addcdiv_(s.ExpAvg, denom, value: step);
        }
    }

    public void ZeroGrad()
    {
        foreach (var name in _order)
        {
            var g = _slots[name].Value.grad;
            if (g is not null) g.zero_();
        }
    }

    /// <summary>
    /// Replaces a parameter's rows: keeps the rows <paramref name="keep"/> lists (int64 [K], increasing) and appends
    /// <paramref name="appended"/> ([M, ...], may be null) with zero moments, as graphdeco's densification does. Row
    /// indices rather than a boolean mask: a mask's selection finds its rows anew, a host synchronisation on a GPU, for
    /// each of the 21 tensors density control resizes.
    /// </summary>
    public Parameter Resize(string name, Tensor keep, Tensor? appended)
    {
        if (keep.dtype != ScalarType.Int64) throw new ArgumentException($"Resize takes the kept rows' indices (int64), got {keep.dtype}.", nameof(keep));
        var s = _slots[name];
        using (no_grad())
        {
            Tensor Rows(Tensor t, Tensor? extra) => extra is null ? t.index_select(0, keep) : cat(new[] { t.index_select(0, keep), extra }, 0);
            var newValue = Rows(s.Value.detach(), appended).DetachFromDisposeScope();
            var newM = Rows(s.ExpAvg, appended is null ? null : zeros_like(appended)).DetachFromDisposeScope();
            var newV = Rows(s.ExpAvgSq, appended is null ? null : zeros_like(appended)).DetachFromDisposeScope();
            s.Value.Dispose(); s.ExpAvg.Dispose(); s.ExpAvgSq.Dispose();
            s.Value = new Parameter(newValue, requires_grad: !s.Frozen);
            s.Value.DetachFromDisposeScope();
            s.ExpAvg = newM;
            s.ExpAvgSq = newV;
        }
        return s.Value;
    }

    /// <summary>Overwrites a parameter's values and zeroes its moments (graphdeco's opacity reset).</summary>
    public void Reset(string name, Tensor newValue)
    {
        var s = _slots[name];
        using var _ = no_grad();
        s.Value.copy_(newValue);
        s.ExpAvg.zero_();
        s.ExpAvgSq.zero_();
    }

    public void Write(BinaryWriter w)
    {
        w.Write(_order.Count);
        foreach (var name in _order)
        {
            var s = _slots[name];
            w.Write(name);
            w.Write(s.Step);
            w.Write(s.LearningRate);
            w.Write(s.Frozen);
            TensorIO.Write(w, s.Value);
            TensorIO.Write(w, s.ExpAvg);
            TensorIO.Write(w, s.ExpAvgSq);
        }
    }

    public static GaussianAdam Read(BinaryReader r)
    {
        var adam = new GaussianAdam();
        int n = r.ReadInt32();
        for (int i = 0; i < n; i++)
        {
            var name = r.ReadString();
            long step = r.ReadInt64();
            double lr = r.ReadDouble();
            bool frozen = r.ReadBoolean();
            var value = TensorIO.Read(r);
            adam.Add(name, value, lr, frozen);
            var s = adam[name];
            s.Step = step;
            using (no_grad())
            {
                using var m = TensorIO.Read(r);
                using var v = TensorIO.Read(r);
                s.ExpAvg.copy_(m);
                s.ExpAvgSq.copy_(v);
            }
        }
        return adam;
    }

    public void Dispose()
    {
        foreach (var s in _slots.Values) s.Dispose();
        _slots.Clear();
        _order.Clear();
    }
}
