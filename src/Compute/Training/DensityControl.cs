namespace UniCLift.Compute.Training;

using UniCLift.Compute.Cuda;
using static TorchSharp.torch;

/// <summary>
/// Clone / split / prune / opacity reset, as graphdeco's GaussianModel.densify_and_prune. Statistics come only from
/// the RGB loss's view-space gradient (METHOD.md: segmentation gradients never feed densification).
/// Accumulators: grad_accum [N], denom [N], max_radii [N].
/// </summary>
public sealed class DensityControl : IDisposable
{
    private Tensor _gradAccum, _denom, _maxRadii;
    public DensitySettings Settings { get; }
    /// <summary>Where the statistics live: the model's device.</summary>
    public Device Device { get; private set; }

    public DensityControl(DensitySettings settings, int count, Device? device = null)
    {
        Settings = settings;
        Device = device ?? CPU;
        _gradAccum = zeros(count, device: Device).DetachFromDisposeScope();
        _denom = zeros(count, device: Device).DetachFromDisposeScope();
        _maxRadii = zeros(count, device: Device).DetachFromDisposeScope();
    }

    /// <summary>Moves the statistics to a device (values unchanged).</summary>
    public void MoveTo(Device device)
    {
        if (KernelHost.SameDevice(Device, device)) return;
        var a = _gradAccum.to(device).DetachFromDisposeScope(); var b = _denom.to(device).DetachFromDisposeScope();
        var c = _maxRadii.to(device).DetachFromDisposeScope();
        _gradAccum.Dispose(); _denom.Dispose(); _maxRadii.Dispose();
        (_gradAccum, _denom, _maxRadii, Device) = (a, b, c, device);
    }

    /// <summary>
    /// Adds one view's statistics. viewspaceGrad: [N,2] gradient of the RGB loss w.r.t. the projected means in
    /// NDC units (pixel gradient times (W/2, H/2), as graphdeco); radii: [N] screen radius in pixels, 0 = not visible.
    /// </summary>
    public void Accumulate(Tensor viewspaceGrad, Tensor radii)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var visible = radii.gt(Scalars.Of(0));
        var norm = viewspaceGrad.norm(1, keepdim: false);
        _gradAccum.add_(where(visible, norm, zeros_like(norm)), Scalars.One);
        _denom.add_(visible.to_type(ScalarType.Float32), Scalars.One);
        _maxRadii.copy_(where(visible, maximum(_maxRadii, radii.to_type(ScalarType.Float32)), _maxRadii));
    }

    /// <summary>Clones small Gaussians with large gradients, splits large ones, prunes transparent or huge ones.</summary>
    public void DensifyAndPrune(GaussianModel model, double sceneExtent, bool pruneBigScreen, DeterministicRandom rng)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        int n = model.Count;
        var grads = _gradAccum.div(_denom.clamp_min(Scalars.Of(1)));
        var maxScale = model[GaussianModel.LogScales].exp().amax(1);
        var large = maxScale.gt(Scalars.Of(Settings.PercentDense * sceneExtent));
        var hot = Budgeted(grads.ge(Scalars.Of(Settings.GradThreshold)), grads, Settings.MaxGaussians - n);

        // Clone: small and hot -> an identical copy (the gradient step moves them apart).
        var cloneIdx = nonzero(hot.logical_and(large.logical_not())).squeeze(1);
        // Split: large and hot -> two samples from the Gaussian, scaled by 1/1.6, original removed.
        var splitIdx = nonzero(hot.logical_and(large)).squeeze(1);
        int splits = (int)splitIdx.shape[0];

        var appended = new Dictionary<string, Tensor>();
        foreach (var name in model.Optimizer.Names)
        {
            var p = model[name].detach();
            var cloned = p.index_select(0, cloneIdx);
            var splitSrc = p.index_select(0, splitIdx);
            Tensor splitRows = name switch
            {
                GaussianModel.Means => SplitMeans(model, splitIdx, rng),
                GaussianModel.LogScales => cat(new[] { splitSrc, splitSrc }, 0).sub(Scalars.Of(Math.Log(0.8 * 2))),
                _ => cat(new[] { splitSrc, splitSrc }, 0),
            };
            appended[name] = cat(new[] { cloned, splitRows }, 0);
        }

        // Prune: the split originals, transparent ones, and (after the first opacity reset) huge ones.
        var opacity = model[GaussianModel.Opacity].sigmoid().squeeze(1);
        var prune = opacity.lt(Scalars.Of(Settings.MinOpacity));
        if (pruneBigScreen)
        {
            prune = prune.logical_or(_maxRadii.gt(Scalars.Of(Settings.MaxScreenSize))).logical_or(maxScale.gt(Scalars.Of(0.1 * sceneExtent)));
        }
        var splitMask = zeros(n, ScalarType.Bool, device: Device);
        if (splits > 0) splitMask.index_fill_(0, splitIdx, Scalars.Of(1));
        var keep = nonzero(prune.logical_or(splitMask).logical_not()).squeeze(1); // the kept rows, found once

        // New rows are pruned by opacity only on the next round, as in graphdeco (they inherit their parent's opacity).
        foreach (var name in model.Optimizer.Names)
            model.Optimizer.Resize(name, keep, appended[name]);

        int m = model.Count;
        ResetAccumulators(m);
    }

    /// <summary>
    /// The candidates that fit the budget: each clone or split adds one Gaussian, so at most <paramref name="room"/> of
    /// them, the ones with the largest gradients (graphdeco's own criterion; Taming 3DGS likewise fills a budget by
    /// score), and the count never passes <see cref="DensitySettings.MaxGaussians"/>. Under the budget nothing changes.
    /// </summary>
    internal static Tensor Budgeted(Tensor hot, Tensor grads, long room)
    {
        if (room <= 0) return zeros_like(hot);
        if (room >= hot.shape[0]) return hot; // even every Gaussian fits: no count, no read-back
        long candidates = hot.sum().item<long>(); // density control reads back anyway (nonzero), every DensifyInterval steps
        if (candidates <= room) return hot;
        var top = grads.masked_fill(hot.logical_not(), Scalars.Of(-1.0)).topk((int)room).indexes; // room < the count here, an int
        return zeros_like(hot).index_fill_(0, top, Scalars.Of(1));
    }

    private static Tensor SplitMeans(GaussianModel model, Tensor idx, DeterministicRandom rng)
    {
        int k = (int)idx.shape[0];
        var means = model[GaussianModel.Means].detach().index_select(0, idx).repeat(2, 1);
        if (k == 0) return means;
        var stds = model[GaussianModel.LogScales].detach().index_select(0, idx).exp().repeat(2, 1);
        var noise = new float[2 * k * 3];
        for (int i = 0; i < noise.Length; i++) noise[i] = (float)rng.NextGaussian();
        // Drawn on the host from the trainer's RNG (so a run is the same on every device), one upload per densification.
        var samples = Losses.DeviceUpload.Of(noise, stds.device).view(2 * k, 3).mul(stds);
        var r = Rotation.QuaternionToMatrix(model[GaussianModel.Rotations].detach().index_select(0, idx).repeat(2, 1));
        return r.bmm(samples.unsqueeze(-1)).squeeze(-1).add(means, Scalars.One);
    }

    /// <summary>graphdeco's reset_opacity: opacity = min(opacity, 0.01), moments zeroed.</summary>
    public static void ResetOpacity(GaussianModel model)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var o = model[GaussianModel.Opacity].sigmoid().clamp_max(Scalars.Of(0.01));
        model.Optimizer.Reset(GaussianModel.Opacity, o.div(o.neg().add(Scalars.One, Scalars.One)).log());
    }

    public void ResetAccumulators(int count)
    {
        _gradAccum.Dispose(); _denom.Dispose(); _maxRadii.Dispose();
        _gradAccum = zeros(count, device: Device).DetachFromDisposeScope();
        _denom = zeros(count, device: Device).DetachFromDisposeScope();
        _maxRadii = zeros(count, device: Device).DetachFromDisposeScope();
    }

    public void Write(BinaryWriter w)
    {
        TensorIO.Write(w, _gradAccum);
        TensorIO.Write(w, _denom);
        TensorIO.Write(w, _maxRadii);
    }

    public static DensityControl Read(BinaryReader r, DensitySettings settings)
    {
        var d = new DensityControl(settings, 0);
        d._gradAccum.Dispose(); d._denom.Dispose(); d._maxRadii.Dispose();
        d._gradAccum = TensorIO.Read(r);
        d._denom = TensorIO.Read(r);
        d._maxRadii = TensorIO.Read(r);
        return d;
    }

    public void Dispose() { _gradAccum.Dispose(); _denom.Dispose(); _maxRadii.Dispose(); }
}
