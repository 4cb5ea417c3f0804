namespace UniCLift.Compute.Training;

using System.Diagnostics;
using TorchSharp;
using UniCLift.Compute.IO;
using UniCLift.Compute.Losses;
using UniCLift.Compute.Rendering;
using UniCLift.Compute.Scenes;
using static TorchSharp.torch;

/// <summary>
/// Owns one scene's Gaussians, optimiser state, density-control statistics, linear layer W and RNG, and advances
/// training one iteration at a time so that a host (CLI or scene grain) can drive it, checkpoint it and stop it
/// between steps. Not thread-safe: call it from one thread (TorchSharp dispose scopes are per thread).
/// </summary>
public sealed class SceneTrainer : IDisposable
{
    private const string CheckpointMagic = "UNICLIFT-CKPT";
    /// <summary>2: version 1's payload followed by its SHA-256, so a changed byte anywhere is found on restore (version
    /// 1 checkpoints still restore).</summary>
    private const int CheckpointVersion = 2;
    private const int HashBytes = 32;

    private readonly Scene _scene;
    private readonly TrainingData _data;
    private readonly GaussianModel _model;
    private readonly DensityControl _density;
    private readonly GaussianAdam _linearAdam;
    private readonly TripletProjection _projection;
    private readonly GaussianRasterizer _rasterizer = new();
    private readonly DeterministicRandom _rng;
    private readonly double _sceneExtent;
    private int[] _viewOrder = [];
    private int _viewCursor;
    private int _activeShDegree;
    private NeighbourGraph? _graph;
    private int _graphBuiltAt = -1;
    /// <summary>Lift mode: the grid over the frozen means, built once.</summary>
    private NeighbourGrid? _grid;
    private readonly Device _device;
    /// <summary>CUDA: the step's loss terms (total, render, cluster, triplet, smooth) summed on the device since the last
    /// read-back, so a step needs no host synchronisation for its report.</summary>
    private Tensor? _lossSum, _zeroLoss;
    private int _lossCount;
    private double[] _lastLosses = new double[5];

    /// <summary>On CUDA the losses are read back (averaged) every this many steps, and at the last step.</summary>
    public const int LossReadInterval = 25;

    private SceneTrainer(Scene scene, TrainingData data, TrainingOptions options, GaussianModel model, DensityControl density,
        GaussianAdam linearAdam, DeterministicRandom rng, int step, int activeSh, int[] viewOrder, int viewCursor, Device device)
    {
        _device = device;
        _scene = scene;
        _data = data;
        Options = options;
        _model = model;
        _density = density;
        _linearAdam = linearAdam;
        _rng = rng;
        CurrentStep = step;
        _activeShDegree = activeSh;
        _viewOrder = viewOrder;
        _viewCursor = viewCursor;
        _sceneExtent = data.CameraExtent;
        _clusterLoss = new ClusterLossOptions
        {
            MaxPixels = options.ClusterPixelSamples, Normalisation = options.ClusterNormalisation, PushWeight = options.ClusterPushWeight,
            Background = options.ClusterBackground, PushMargin = options.ClusterPushMargin, PullSizeExponent = options.ClusterPullSizeExponent,
        };
        _projection = new TripletProjection(options.EmbeddingDim, options.TripletLinearLayer, device);
        if (options.TripletLinearLayer)
        {
            // W lives in our Adam (so checkpoints hold its moments); the module only applies it.
            using var _ = no_grad();
            _projection.Weight!.copy_(_linearAdam[LinearWeight].Value);
        }
    }

    private const string LinearWeight = "triplet_w";

    public TrainingOptions Options { get; }

    private readonly Stopwatch _phaseClock = new();
    private readonly Dictionary<string, double> _phaseMs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _phaseTensors = new(StringComparer.Ordinal);
    private long _phaseTensorMark;

    /// <summary>Cumulative milliseconds per phase of the step (render, losses, backward, adam, density) since creation.</summary>
    public IReadOnlyDictionary<string, double> PhaseMilliseconds => _phaseMs;

    /// <summary>Cumulative count of tensors the host created per phase since creation (each is one TorchSharp call into
    /// libtorch, about 11-13 us of host time on CUDA; in-place operations and the autograd engine's own tensors are not
    /// counted): the measure of a step's host cost that needs no GPU.</summary>
    public IReadOnlyDictionary<string, long> PhaseTensors => _phaseTensors;

    /// <summary>CUDA: synchronise the device at each phase boundary, so <see cref="PhaseMilliseconds"/> holds each phase's
    /// device time rather than the time the host took to enqueue it (benchmarks only: every synchronise stalls the
    /// pipeline). On CPU the phases are always what they cost.</summary>
    public bool SynchronisePhases { get; set; }

    private void Phase(string name)
    {
        if (SynchronisePhases && _device.type == DeviceType.CUDA) torch.cuda.synchronize();
        _phaseMs[name] = _phaseMs.GetValueOrDefault(name) + _phaseClock.Elapsed.TotalMilliseconds;
        long now = TensorsCreated();
        _phaseTensors[name] = _phaseTensors.GetValueOrDefault(name) + (now - _phaseTensorMark);
        _phaseTensorMark = now;
        _phaseClock.Restart();
    }
    /// <summary>Tensors created on this thread so far (TorchSharp's per-thread statistics).</summary>
    private static long TensorsCreated()
    {
        var t = DisposeScopeManager.Statistics.TensorStatistics;
        return t.CreatedInScopeCount + t.CreatedOutsideScopeCount;
    }

    public int CurrentStep { get; private set; }
    public bool IsComplete => CurrentStep >= Options.Iterations;
    public int GaussianCount => _model.Count;
    public Scene Scene => _scene;
    public GaussianModel Model => _model;
    public TrainingData Data => _data;
    public int ActiveShDegree => _activeShDegree;
    /// <summary>The near plane for this scene's scale (<see cref="SceneScale"/>); decoding renders with the same.</summary>
    public float NearPlane => SceneScale.NearPlane(_sceneExtent);
    /// <summary>Where the scene's whole training state lives (parameters, moments, statistics, W, the views' images).</summary>
    public Device Device => _device;

    /// <summary>Loads the scene's training views and initialises the model (train: from the point cloud or depth;
    /// lift: from <paramref name="initialPly"/>, a graphdeco 3DGS PLY, geometry frozen).
    /// <paramref name="device"/>: where the state lives and the steps run (default CPU). The model is initialised on the
    /// host from the same RNG draws whatever the device, then moved.</summary>
    public static SceneTrainer Create(Scene scene, TrainingOptions options, string? initialPly = null, Device? device = null)
    {
        options.Validate();
        TorchRuntime.EnsureInitialised();
        device = Ready(device);
        var data = TrainingData.Load(scene, device, Segmentation.StuffBackground.For(scene, options.StuffAsBackground),
            images: options.Mode == TrainingMode.Train);
        var rng = new DeterministicRandom(options.Seed);
        var lr = options.LearningRates with { Embedding = options.EmbeddingLearningRate };
        GaussianModel model;
        int activeSh;
        if (options.Mode == TrainingMode.Lift)
        {
            var ply = initialPly ?? throw new ArgumentException("Lift mode needs a trained 3DGS PLY (--ply).");
            model = InitialModels.FromGaussianPly(ply, options.EmbeddingDim, lr, data.CameraExtent, rng, options.LiftEmbeddingInitStd);
            activeSh = model.ShDegree;
        }
        else
        {
            var (points, colors) = initialPly is not null ? PointCloudPly.Read(initialPly) : InitialModels.InitialPoints(scene, data, rng);
            (points, colors) = InitialModels.AtMost(points, colors, options.MaxGaussians, rng);
            model = GaussianModel.FromPointCloud(points, colors, options.ShDegree, options.EmbeddingDim, lr, data.CameraExtent, rng,
                embeddingStd: options.EmbeddingInitStd);
            activeSh = 0;
        }
        var linear = new GaussianAdam();
        if (options.TripletLinearLayer)
        {
            using var scope = NewDisposeScope();
            linear.Add(LinearWeight, eye(options.EmbeddingDim), options.LinearLayerLearningRate);
        }
        model.Optimizer.MoveTo(device);
        linear.MoveTo(device);
        var density = new DensityControl(options.Density, model.Count, device);
        return new SceneTrainer(scene, data, options, model, density, linear, rng, 0, activeSh, [], 0, device);
    }

    /// <summary>The device to train on: CPU by default; a CUDA device only when its kernels can run there (otherwise one
    /// line saying why, as a <see cref="Cuda.CudaException"/>).</summary>
    private static Device Ready(Device? device)
    {
        if (device is null || device.type == DeviceType.CPU) return CPU;
        if (device.type != DeviceType.CUDA) throw new ArgumentException($"Training runs on cpu or cuda devices, not {device}.");
        int index = Cuda.CudaRuntime.Ordinal(device);
        Cuda.CudaRuntime.EnsureAvailable(index);
        return new Device(DeviceType.CUDA, index);
    }

    /// <summary>Runs one iteration.</summary>
    public TrainingStepReport Step()
    {
        if (IsComplete) throw new InvalidOperationException($"Training is complete ({CurrentStep}/{Options.Iterations} iterations).");
        var clock = Stopwatch.StartNew();
        _phaseClock.Restart();
        using var scope = NewDisposeScope();
        _phaseTensorMark = TensorsCreated();
        int it = ++CurrentStep; // 1-based, as graphdeco
        var o = Options;
        bool train = o.Mode == TrainingMode.Train;
        UpdateLearningRates(it);
        if (train && it % o.ShIncreaseInterval == 0 && _activeShDegree < _model.ShDegree) _activeShDegree++;

        int viewIndex = NextView();
        var view = _data.Views[viewIndex];
        var stepRandom = _rng.ToSystemRandom();
        var gaussians = _model.ToGaussianTensors();
        var settings = new RasterSettings(_activeShDegree, o.Background, NearPlane, o.SegmentationGradientsReachGeometry);
        var r = _rasterizer.Render(gaussians, view.Camera, settings);
        Phase("render");

        bool segmentationLosses = it > o.SegmentationLossesFrom;
        Tensor total = zeros(1, device: _device);
        Tensor? lRender = null, lCluster = null, lTriplet = null, lSmooth = null;
        if (train)
        {
            var l = Losses.RenderLoss.Compute(r.Rgb, view.Target());
            total = total.add(l, Scalars.Of(1.0)); // explicit alpha: the implicit one can be finalised mid-call (see Scalars)
            lRender = l;
            Phase("render_loss");
        }
        if (o.UseCluster)
        {
            var (targets, kept) = ClusterTargetsFor(viewIndex, r.Features!.dtype, stepRandom);
            Tensor l;
            try { l = Losses.ClusterLoss.Compute(r.Features!, targets, _clusterLoss); }
            finally { if (!kept) targets.Dispose(); } // autograd holds its own references to what the backward needs
            total = total.add(l.mul(Scalars.Of(o.ClusterWeight)), Scalars.Of(1.0));
            lCluster = l;
            Phase("cluster_loss");
        }
        if (segmentationLosses && o.UseTriplet && view.Boundary.BoundaryPixels.Length > 0)
        {
            if (o.TripletLinearLayer) SyncProjectionFromOptimizer();
            var (indices, valid, count) = TripletSamplerFor(viewIndex).Sample(o.MaxTriplets, (ulong)stepRandom.NextInt64());
            var l = Losses.TripletLoss.Compute(r.Features!, indices, valid, count, _projection, o.TripletMargin);
            total = total.add(l.mul(Scalars.Of(o.Mode == TrainingMode.Lift ? o.LiftTripletWeight : o.TripletWeight)), Scalars.Of(1.0));
            lTriplet = l;
            Phase("triplet_loss");
        }
        if (it > o.SmoothLossFrom && o.UseSmooth3D)
        {
            var graph = NeighbourGraphFor(it, stepRandom);
            var l = Losses.SmoothnessLoss.Compute(_model[GaussianModel.Embeddings], graph);
            total = total.add(l.mul(Scalars.Of(o.SmoothWeight)), Scalars.Of(1.0));
            lSmooth = l;
            Phase("smooth_loss");
        }
        total.backward();
        Phase("backward");

        if (train && it < o.DensifyUntil)
        {
            var vs = r.ViewspaceRgb.grad;
            if (vs is not null)
            {
                // graphdeco accumulates the NDC-scaled view-space gradient.
                var ndc = vs.mul(NdcScale(view.Camera.Width, view.Camera.Height));
                _density.Accumulate(ndc, r.Radii);
            }
        }
        _model.Optimizer.Step();
        if (o.TripletLinearLayer && _projection.Weight!.grad is { } wg)
        {
            _linearAdam.Step(LinearWeight, wg);
            wg.zero_();
        }
        Phase("adam");

        if (train && it < o.DensifyUntil)
        {
            if (it > o.DensifyFrom && it % o.DensifyInterval == 0)
            {
                _density.DensifyAndPrune(_model, _sceneExtent, pruneBigScreen: it > o.OpacityResetInterval, _rng);
                _graph?.Dispose();
                _graph = null;
            }
            if (it % o.OpacityResetInterval == 0) DensityControl.ResetOpacity(_model);
            Phase("density");
        }
        var losses = ReadLosses(it, total, lRender, lCluster, lTriplet, lSmooth);
        Phase("report");
        return new TrainingStepReport(it, o.Iterations, losses[0], losses[1], losses[2], losses[3], losses[4], _model.Count,
            clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>The step's loss values for its report. CPU: read now. CUDA: summed on the device and read back as the
    /// mean of the last <see cref="LossReadInterval"/> steps (a host synchronisation every that many steps, not every
    /// step); the steps between report the last mean.</summary>
    private double[] ReadLosses(int it, Tensor total, params Tensor?[] terms)
    {
        static double Read(Tensor? t) => t is null ? 0 : t.item<float>();
        if (!KernelsOnDevice)
            return [Read(total), Read(terms[0]), Read(terms[1]), Read(terms[2]), Read(terms[3])];
        using (no_grad())
        {
            // One stack of the five values (a kept zero for a term this step has not), added in place: one new tensor a
            // step, where a cat of reshaped, converted copies made about 13 (each about 12 us of host time on CUDA).
            _zeroLoss ??= zeros(Array.Empty<long>(), dtype: float32, device: _device).DetachFromDisposeScope();
            Tensor Scalar(Tensor? t) => t is null ? _zeroLoss : t.dim() == 0 && t.dtype == float32 ? t : t.reshape(Array.Empty<long>()).to(float32);
            var v = stack(new[] { Scalar(total), Scalar(terms[0]), Scalar(terms[1]), Scalar(terms[2]), Scalar(terms[3]) }); // [5]
            if (_lossSum is null) _lossSum = v.DetachFromDisposeScope();
            else _lossSum.add_(v, Scalars.One);
            _lossCount++;
            if (it % LossReadInterval == 0 || it >= Options.Iterations || _lossCount == 1 && it == 1)
            {
                var host = _lossSum.div(Scalars.Of(_lossCount)).cpu().to(float64);
                _lastLosses = host.data<double>().ToArray();
                _lossSum.zero_();
                _lossCount = 0;
            }
        }
        return _lastLosses;
    }

    /// <summary>L_cluster's options, from the training options.</summary>
    private readonly ClusterLossOptions _clusterLoss;

    /// <summary>Per view: its L_cluster targets on the training device, built at the view's first step and kept (every
    /// pixel takes part, so they never change; 8 bytes a pixel of device memory).</summary>
    private ClusterTargets?[]? _clusterTargets;

    /// <summary>The view's L_cluster targets: the kept ones when they are constant, otherwise this step's sample, which
    /// the caller disposes (<c>Kept</c> false).</summary>
    private (ClusterTargets Targets, bool Kept) ClusterTargetsFor(int viewIndex, ScalarType dtype, System.Random stepRandom)
    {
        var mask = _data.Views[viewIndex].Mask;
        if (!ClusterTargets.IsConstant(mask, _clusterLoss))
            return (Checked(ClusterTargets.Build(mask, _clusterLoss, stepRandom, _device, dtype)), false);
        _clusterTargets ??= new ClusterTargets?[_data.Views.Count];
        return (_clusterTargets[viewIndex] ??= Checked(ClusterTargets.Build(mask, _clusterLoss, null, _device, dtype)), true);

        // L_cluster's push term compares every pair of a view's segments through a [K, K, D] tensor: a mask of noise
        // (a random id per pixel: 11,000 segments in a 128x96 view) took the process past 24 GB and the kernel killed it.
        ClusterTargets Checked(ClusterTargets t)
        {
            if (t.SegmentCount <= ClusterTargets.MaxSegments) return t;
            int k = t.SegmentCount;
            t.Dispose();
            var view = _data.Views[viewIndex];
            throw new InvalidDataException(
                $"view '{view.Name}' of {_scene.Root}: its mask has {k:N0} segments (at most {ClusterTargets.MaxSegments:N0}); L_cluster compares every " +
                $"pair of them ({(double)k * k * _model.EmbeddingDim * 4 / 1e9:0.#} GB a copy). Instance masks have tens to hundreds; that many is " +
                "noise or a label map read as instances (check the mask folder), or sample pixels: --set ClusterPixelSamples=2000.");
        }
    }

    /// <summary>Per view: its triplet sampler (on CUDA it holds the view's boundary structure on the device from the
    /// view's first triplet step).</summary>
    private TripletSampler?[]? _tripletSamplers;

    private TripletSampler TripletSamplerFor(int viewIndex)
    {
        _tripletSamplers ??= new TripletSampler?[_data.Views.Count];
        return _tripletSamplers[viewIndex] ??= new TripletSampler(_data.Views[viewIndex].Boundary, _device);
    }

    private readonly Dictionary<(int, int), Tensor> _ndcScale = new();

    /// <summary>(W/2, H/2) on the training device, made once per image size (not uploaded every step).</summary>
    private Tensor NdcScale(int width, int height)
    {
        if (!_ndcScale.TryGetValue((width, height), out var t))
            _ndcScale[(width, height)] = t = tensor(new float[] { width * 0.5f, height * 0.5f }).to(_device).DetachFromDisposeScope();
        return t;
    }

    private void SyncProjectionFromOptimizer()
    {
        using var _ = no_grad();
        _projection.Weight!.copy_(_linearAdam[LinearWeight].Value);
    }

    /// <summary>Whether this step takes the CUDA path (a CUDA device, or the CPU under the kernel emulator, whose runs
    /// then exercise that path's host code): losses summed on the device, L_3D's neighbours found there.</summary>
    private bool KernelsOnDevice => Cuda.KernelHost.Runs(_device);

    private NeighbourGraph NeighbourGraphFor(int it, System.Random random)
    {
        int refresh = Options.Mode == TrainingMode.Lift ? Options.LiftSmoothGraphRefresh : Options.SmoothGraphRefresh;
        if (_graph is null || it - _graphBuiltAt >= refresh)
        {
            double tau = SceneScale.Tau(Options.Tau, _sceneExtent);
            if (KernelsOnDevice && Options.Mode == TrainingMode.Train)
            {
                // Train mode on a GPU: the query runs where the means are (no copy of them to the host).
                var drawn = NeighbourGraph.SampleIndices(_model.Count, Math.Min(_model.Count, Options.SmoothSamples), random);
                _graph?.Dispose();
                _graph = DeviceNeighbours.Query(_model[GaussianModel.Means], drawn, Options.SmoothNeighbours, tau);
                _graphBuiltAt = it;
                return _graph;
            }
            // Lift mode's means are frozen: one grid serves every refresh, each a new sample.
            var grid = _grid;
            if (grid is null || Options.Mode != TrainingMode.Lift || grid.Count != _model.Count)
            {
                var means = _model.Read(GaussianModel.Means);
                grid = NeighbourGrid.Build(means, means.Length / 3, tau);
                _grid = Options.Mode == TrainingMode.Lift ? grid : null;
            }
            var sample = NeighbourGraph.SampleIndices(grid.Count, Math.Min(grid.Count, Options.SmoothSamples), random);
            _graph?.Dispose();
            _graph = grid.Query(Options.SmoothNeighbours, sample);
            _graphBuiltAt = it;
        }
        return _graph;
    }

    /// <summary>A random permutation of the training views per epoch, as graphdeco's viewpoint stack.</summary>
    private int NextView()
    {
        if (_viewCursor >= _viewOrder.Length)
        {
            _viewOrder = Enumerable.Range(0, _data.Views.Count).ToArray();
            _rng.Shuffle(_viewOrder);
            _viewCursor = 0;
        }
        return _viewOrder[_viewCursor++];
    }

    /// <summary>Position learning rate: exponential decay from init to final over the run (graphdeco's expon_lr).</summary>
    private void UpdateLearningRates(int it)
    {
        var lr = Options.LearningRates;
        double t = Math.Clamp((double)it / Options.Iterations, 0, 1);
        double logLerp = Math.Exp(Math.Log(lr.PositionInit) * (1 - t) + Math.Log(lr.PositionFinal) * t);
        _model.Optimizer[GaussianModel.Means].LearningRate = logLerp * _sceneExtent;
    }

    /// <summary>Writes the complete training state (parameters, Adam moments, density statistics, step, RNG, W):
    /// <see cref="SavePayload"/>'s bytes, then their SHA-256.</summary>
    public void Save(Stream stream)
    {
        using var hashing = new HashingStream(stream);
        SavePayload(hashing);
        stream.Write(hashing.Hash());
    }

    /// <summary>
    /// What <see cref="Save"/> writes before its trailing SHA-256 (<see cref="CheckpointHashBytes"/> bytes over these
    /// bytes): for a caller that snapshots the state on the training thread and hashes and writes it elsewhere, so the
    /// training thread spends only the serialisation. A checkpoint is these bytes followed by their SHA-256.
    /// </summary>
    public void SavePayload(Stream stream)
    {
        using var payload = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        WritePayload(payload);
    }

    /// <summary>Length of the SHA-256 that ends a checkpoint.</summary>
    public const int CheckpointHashBytes = HashBytes;

    /// <summary>Forwards writes to a stream and hashes them (SHA-256).</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly System.Security.Cryptography.IncrementalHash _hash =
            System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        public byte[] Hash() => _hash.GetHashAndReset();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) { _hash.AppendData(buffer); inner.Write(buffer); }
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) _hash.Dispose(); base.Dispose(disposing); }
    }

    private void WritePayload(BinaryWriter w)
    {
        w.Write(CheckpointMagic);
        w.Write(CheckpointVersion);
        w.Write(System.Text.Json.JsonSerializer.Serialize(Options, TrainingOptionsJson.Default.TrainingOptions));
        w.Write(CurrentStep);
        w.Write(_activeShDegree);
        w.Write(_viewOrder.Length);
        foreach (var v in _viewOrder) w.Write(v);
        w.Write(_viewCursor);
        _rng.Write(w);
        _model.Write(w);
        _density.Write(w);
        _linearAdam.Write(w);
        w.Write(_graphBuiltAt);
        // The neighbour graph is rebuilt on restore at the same step it would next be rebuilt, from the same RNG
        // draw: store it instead so a resumed run continues bit for bit.
        w.Write(_graph is not null);
        if (_graph is not null)
        {
            w.Write(_graph.PairCount);
            foreach (var s in _graph.Sources) w.Write(s);
            foreach (var t in _graph.Targets) w.Write(t);
        }
        w.Write(CheckpointMagic);
    }

    /// <summary>Restores a trainer saved by <see cref="Save"/>; continuing gives bit-identical results to an uninterrupted run.</summary>
    /// <remarks>A checkpoint holds no device: one written on a GPU resumes on a CPU and the other way round.</remarks>
    public static SceneTrainer Restore(Scene scene, Stream checkpoint, Device? device = null)
    {
        TorchRuntime.EnsureInitialised();
        device = Ready(device);
        // Read whole (tens of MB) so the hash is checked before anything is parsed or allocated from the content.
        var bytes = new MemoryStream();
        checkpoint.CopyTo(bytes);
        var all = bytes.GetBuffer().AsMemory(0, (int)bytes.Length);
        using var r = new BinaryReader(new MemoryStream(bytes.GetBuffer(), 0, (int)bytes.Length, writable: false), System.Text.Encoding.UTF8);
        try
        {
            if (r.ReadString() != CheckpointMagic) throw new InvalidDataException("Not a UniCLift checkpoint (bad magic).");
            int version = r.ReadInt32();
            if (version is not (1 or CheckpointVersion)) throw new InvalidDataException($"Checkpoint version {version} is not supported (expected 1 or {CheckpointVersion}).");
            if (version >= 2)
            {
                if (all.Length < HashBytes) throw new InvalidDataException("Checkpoint is truncated.");
                var expected = all.Span[^HashBytes..];
                var actual = System.Security.Cryptography.SHA256.HashData(all.Span[..^HashBytes]);
                if (!expected.SequenceEqual(actual)) throw new InvalidDataException("Checkpoint is corrupt: its SHA-256 does not match its content.");
            }
            TrainingOptions options;
            try
            {
                options = System.Text.Json.JsonSerializer.Deserialize(r.ReadString(), TrainingOptionsJson.Default.TrainingOptions)
                    ?? throw new InvalidDataException("Checkpoint options are empty.");
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new InvalidDataException($"Checkpoint options are not valid JSON: {e.Message}", e);
            }
            int step = r.ReadInt32(), activeSh = r.ReadInt32();
            var order = new int[r.ReadInt32()];
            for (int i = 0; i < order.Length; i++) order[i] = r.ReadInt32();
            int cursor = r.ReadInt32();
            var rng = DeterministicRandom.Read(r);
            var model = GaussianModel.Read(r);
            var density = DensityControl.Read(r, options.Density);
            var linear = GaussianAdam.Read(r);
            int graphBuiltAt = r.ReadInt32();
            NeighbourGraph? graph = null;
            if (r.ReadBoolean())
            {
                int pairs = r.ReadInt32();
                var s = new int[pairs]; var t = new int[pairs];
                for (int i = 0; i < pairs; i++) s[i] = r.ReadInt32();
                for (int i = 0; i < pairs; i++) t[i] = r.ReadInt32();
                graph = new NeighbourGraph(s, t);
            }
            if (r.ReadString() != CheckpointMagic) throw new InvalidDataException("Checkpoint is truncated (no end marker).");
            var data = TrainingData.Load(scene, device, Segmentation.StuffBackground.For(scene, options.StuffAsBackground),
                images: options.Mode == TrainingMode.Train);
            model.Optimizer.MoveTo(device);
            linear.MoveTo(device);
            density.MoveTo(device);
            return new SceneTrainer(scene, data, options, model, density, linear, rng, step, activeSh, order, cursor, device)
            {
                _graph = graph,
                _graphBuiltAt = graphBuiltAt,
            };
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("Checkpoint is truncated.", e);
        }
    }

    public void Dispose()
    {
        // The last step's gradients handed to autograd by the CUDA backwards (the rasteriser's, the fused SSIM's and
        // L_cluster's, kept per thread: this is the training thread) hold GPU memory until released.
        _rasterizer.Dispose();
        Losses.FusedSsim.ReleaseThread();
        Losses.FusedClusterStats.ReleaseThread();
        _lossSum?.Dispose();
        _zeroLoss?.Dispose();
        _graph?.Dispose();
        foreach (var t in _clusterTargets ?? []) t?.Dispose();
        foreach (var t in _tripletSamplers ?? []) t?.Dispose();
        foreach (var t in _ndcScale.Values) t.Dispose();
        _model.Dispose();
        _density.Dispose();
        _linearAdam.Dispose();
        _projection.Dispose();
        _data.Dispose();
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(TrainingOptions))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(IncludeFields = false)]
internal partial class TrainingOptionsJson : System.Text.Json.Serialization.JsonSerializerContext { }
