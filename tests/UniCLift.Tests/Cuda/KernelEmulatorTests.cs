namespace UniCLift.Tests.Cuda;

using TorchSharp;
using UniCLift.Client.Commands;
using UniCLift.Compute.Cuda;
using static TorchSharp.torch;

/// <summary>The CPU kernel emulator: that it runs CUDA source faithfully (barriers, warp shuffles and votes, block
/// counts, dynamic shared memory), that it catches what goes wrong on a GPU without a word (an access past a buffer,
/// a missing barrier, a shuffle with an exited lane, an argument block that does not match the kernel), and the
/// project's own kernels under it: the fused kernels' self-checks and the rasteriser against the CPU rasteriser,
/// through the same host code that launches them on a GPU. Not a GPU: `check gpu` on the GPU machine is that.</summary>
public sealed class KernelEmulatorTests
{
    private const string Probes = """
        extern "C" __global__ void __launch_bounds__(256) fill(const int n, float* __restrict__ out, const int upto)
        {
            const int i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < upto) out[i + (n < 0 ? n : 0)] = (float)i;
        }

        // Each thread writes its value to shared memory and reads its mirror's; with sync = 0 there is no barrier between.
        extern "C" __global__ void __launch_bounds__(256) mirror(const int sync, const float* __restrict__ in, float* __restrict__ out)
        {
            __shared__ float s[256];
            const int i = blockIdx.x * blockDim.x + threadIdx.x;
            s[threadIdx.x] = in[i];
            if (sync) __syncthreads();
            out[i] = s[255 - threadIdx.x];
        }

        // Warp sums by butterfly shuffles, a vote, a ballot and a block count, per thread.
        extern "C" __global__ void __launch_bounds__(256) warp_ops(const float* __restrict__ in, float* __restrict__ sum,
            int* __restrict__ any, unsigned* __restrict__ ballot, int* __restrict__ count)
        {
            const int i = blockIdx.x * blockDim.x + threadIdx.x;
            float v = in[i];
            for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
            sum[i] = v;
            any[i] = __any_sync(0xffffffffu, in[i] > 0.5f);
            ballot[i] = __ballot_sync(0xffffffffu, in[i] > 0.5f);
            count[i] = __syncthreads_count(in[i] > 0.5f);
        }

        // Lane 3 leaves before its warp's shuffle.
        extern "C" __global__ void __launch_bounds__(32) exited_lane(float* __restrict__ out)
        {
            if (threadIdx.x == 3) return;
            out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (float)threadIdx.x, 1);
        }

        // Half a warp shuffles while the rest of the block waits at a barrier.
        extern "C" __global__ void __launch_bounds__(64) divergent(float* __restrict__ out)
        {
            float v = (float)threadIdx.x;
            if (threadIdx.x < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
            __syncthreads();
            out[threadIdx.x] = v;
        }

        // Reads dynamic shared memory no thread wrote.
        extern "C" __global__ void __launch_bounds__(32) unwritten(float* __restrict__ out)
        {
            extern __shared__ float dyn[];
            out[threadIdx.x] = dyn[threadIdx.x];
        }
        """;

    private static EmulatedModule Module() => KernelEmulator.Module("probes.cu", Probes, KernelSources.NoDefines);

    private static void Launch(string kernel, uint blocks, uint block, Func<KernelArgs, KernelArgs> args, int schedule = 0, uint shared = 0)
    {
        using var emulated = KernelEmulator.Activate(schedule);
        using var a = new KernelArgs();
        Module().Launch(kernel, (blocks, 1u), block, shared, args(a));
    }

    [Fact]
    public void A_Kernel_Runs_Its_Source_On_The_Tensors_Memory()
    {
        var out_ = torch.full(600, -1f);
        Launch("fill", 3, 256, a => a.Add(0).Ptr(out_).Add(600));
        Assert.Equal(Enumerable.Range(0, 600).Select(i => (float)i), out_.data<float>().ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Shuffles_Votes_Ballots_And_Block_Counts_Give_What_Cuda_Defines(int schedule)
    {
        var input = torch.rand(512, generator: new Generator(3));
        var sum = torch.zeros(512); var any = torch.zeros(512, dtype: int32); var ballot = torch.zeros(512, dtype: int32); var count = torch.zeros(512, dtype: int32);
        Launch("warp_ops", 2, 256, a => a.Ptr(input).Ptr(sum).Ptr(any).Ptr(ballot).Ptr(count), schedule);
        var x = input.data<float>().ToArray();
        for (int i = 0; i < 512; i++)
        {
            var warp = x.Skip(i / 32 * 32).Take(32).ToArray();
            Assert.Equal(warp.Sum(), sum.data<float>()[i], 4);
            Assert.Equal(warp.Any(v => v > 0.5f) ? 1 : 0, any.data<int>()[i]);
            uint bits = 0;
            for (int l = 0; l < 32; l++) if (warp[l] > 0.5f) bits |= 1u << l;
            Assert.Equal(bits, unchecked((uint)ballot.data<int>()[i]));
            Assert.Equal(x.Skip(i / 256 * 256).Take(256).Count(v => v > 0.5f), count.data<int>()[i]);
        }
    }

    [Fact]
    public void A_Write_Past_The_End_Of_A_Buffer_Names_The_Argument_And_The_Thread()
    {
        var out_ = torch.zeros(63);
        var e = Assert.Throws<CudaException>(() => Launch("fill", 1, 256, a => a.Add(0).Ptr(out_).Add(64)));
        Assert.Contains("fill: block (0,0,0) thread 63 wrote 0 bytes past the end of argument 1 (a buffer of 252 bytes)", e.Message);
    }

    [Fact]
    public void A_Write_Before_The_Start_Of_A_Buffer_Shows_Under_Schedule_1()
    {
        var out_ = torch.zeros(64);
        var e = Assert.Throws<CudaException>(() => Launch("fill", 1, 256, a => a.Add(-1).Ptr(out_).Add(64), schedule: 1));
        Assert.Contains("bytes before the start of argument 1", e.Message);
    }

    [Fact]
    public void A_Missing_Barrier_Makes_The_Two_Schedules_Disagree_And_A_Barrier_Makes_Them_Agree()
    {
        var input = torch.arange(512, dtype: float32);
        float[] Run(int sync, int schedule)
        {
            var out_ = torch.zeros(512);
            Launch("mirror", 2, 256, a => a.Add(sync).Ptr(input).Ptr(out_), schedule);
            return out_.data<float>().ToArray();
        }
        var expected = Enumerable.Range(0, 512).Select(i => (float)(i / 256 * 256 + 255 - i % 256)).ToArray();
        Assert.Equal(expected, Run(1, 0));
        Assert.Equal(expected, Run(1, 1));
        Assert.NotEqual(Run(0, 0), Run(0, 1));
    }

    [Fact]
    public void A_Shuffle_Waiting_For_An_Exited_Lane_Stops_The_Launch()
    {
        var out_ = torch.zeros(32);
        var e = Assert.Throws<CudaException>(() => Launch("exited_lane", 1, 32, a => a.Ptr(out_)));
        Assert.Contains("lane 3 has exited", e.Message);
    }

    [Fact]
    public void Threads_Waiting_At_Different_Synchronisations_Stop_The_Launch()
    {
        var out_ = torch.zeros(64);
        var e = Assert.Throws<CudaException>(() => Launch("divergent", 1, 64, a => a.Ptr(out_)));
        Assert.Contains("cannot go on: 48 threads wait at __syncthreads, 16 at warp operations", e.Message);
    }

    [Fact]
    public void Dynamic_Shared_Memory_Starts_Unwritten()
    {
        var out_ = torch.zeros(32);
        Launch("unwritten", 1, 32, a => a.Ptr(out_), shared: 32 * sizeof(float));
        Assert.All(out_.data<float>().ToArray(), v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void An_Argument_Block_That_Does_Not_Match_The_Kernel_Is_Refused()
    {
        var out_ = torch.zeros(64);
        var size = Assert.Throws<CudaException>(() => Launch("fill", 1, 64, a => a.Add(0L).Ptr(out_).Add(64)));
        Assert.Contains("argument 0 is a value of 4 bytes in the kernel, a value of 8 bytes from the host", size.Message);
        var kind = Assert.Throws<CudaException>(() => Launch("fill", 1, 64, a => a.Add(0).Add(0L).Add(64)));
        Assert.Contains("argument 1 is a pointer of 8 bytes in the kernel, a value of 8 bytes from the host", kind.Message);
        var count = Assert.Throws<CudaException>(() => Launch("fill", 1, 64, a => a.Add(0).Ptr(out_)));
        Assert.Contains("fill takes 3 arguments; the host passed 2", count.Message);
    }

    [Fact]
    public void Cpu_Tensors_Take_The_Kernels_Only_While_The_Emulator_Is_Active_On_The_Thread()
    {
        Assert.False(KernelHost.Runs(CPU));
        using (KernelEmulator.Activate())
        {
            Assert.True(KernelHost.Runs(CPU));
            bool elsewhere = true;
            var t = new Thread(() => elsewhere = KernelHost.Runs(CPU));
            t.Start();
            t.Join();
            Assert.False(elsewhere);
        }
        Assert.False(KernelHost.Runs(CPU));
    }

    public static IEnumerable<object[]> RasteriserCases() =>
        CheckCommand.Cases(emulated: true).Select((c, i) => new object[] { i, i % 2 }); // both schedules, alternately

    [Theory]
    [MemberData(nameof(RasteriserCases))]
    public void The_Cuda_Rasteriser_Under_The_Emulator_Matches_The_Cpu_Rasteriser(int index, int schedule)
    {
        var c = CheckCommand.Cases(emulated: true).ElementAt(index);
        var output = new StringWriter();
        Assert.True(CheckCommand.Compare(c, CheckCommand.KernelTarget.Emulator(schedule), output), output.ToString());
        Assert.True(output.ToString().Split('\n').Count(l => l.TrimEnd().EndsWith(" ok")) >= 9, output.ToString()); // images, radii, gradients
    }

    [Fact]
    public void The_Cuda_Host_Path_Keeps_Its_Tensor_Count_Over_Steps_Under_The_Emulator()
    {
        var console = new UniCLift.Client.Terminal.CommandConsole(new StringWriter(), new StringWriter());
        Assert.True(CheckCommand.Steady(CheckCommand.KernelTarget.Emulator(0), console, 300, 64, 48, from: 3, to: 13), console.OutWriter.ToString());
    }

    [Fact]
    public void A_Checkpoint_Moves_Between_The_Emulated_Device_And_The_Cpu_And_Lands_Near_The_Uninterrupted_Run()
    {
        var output = new StringWriter();
        Assert.True(CheckCommand.Resume(CheckCommand.KernelTarget.Emulator(0), output), output.ToString());
        var rows = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, rows.Length);
        Assert.Contains("(bit-exact)", rows[0]); // the emulator runs a launch in one order: two runs are the same run
        Assert.Contains("(bit-exact)", rows[1]); // a checkpoint restores everything the step depends on
        // Named as what ran: the kernels on the CPU, not a GPU.
        Assert.All(rows, r => Assert.DoesNotMatch(@"(?<!emulated )GPU", r));
        Assert.StartsWith("resume: emulated GPU 15, checkpoint, CPU 15 vs emulated GPU 30 steps", rows[2]);
    }

    [Fact]
    public void A_Training_Step_On_The_Cuda_Path_Stays_Within_Its_Libtorch_Call_Budget()
    {
        // Tensors created per step by phase (each a host call into libtorch, about 12 us on CUDA), on a small room with
        // every loss on for the second half: the CUDA path's host code under the emulator against the CPU path (whose
        // Adam is the TorchSharp chain; its SSIM is CpuSsim, as few calls as the fused kernels, where the conv2d chain
        // made 42 tensors a step with L1).
        var dir = Directory.CreateTempSubdirectory("uniclift-emulated-steps-");
        try
        {
            var synthetic = Compute.Synthetic.SyntheticSceneGenerator.Generate(new Compute.Synthetic.SyntheticSceneOptions
                { Seed = 3, Objects = 3, Views = 4, Width = 48, Height = 36, TestEvery = 0, PointCount = 600 });
            Compute.Synthetic.SyntheticSceneWriter.Write(dir.FullName, synthetic);
            var scene = Compute.Scenes.SceneInspector.Read(dir.FullName);
            IReadOnlyDictionary<string, double> PerStep(bool emulated)
            {
                using var on = emulated ? KernelEmulator.Activate() : null;
                if (emulated) // each fused kernel's one-time self-check first, so the counts are a step's
                {
                    Assert.True(FusedKernels.Use(FusedKernels.Ssim, CPU, Compute.Losses.FusedSsim.SelfCheck));
                    Assert.True(FusedKernels.Use(FusedKernels.Adam, CPU, Compute.Training.GaussianAdam.SelfCheck));
                    Assert.True(FusedKernels.Use(FusedKernels.Triplets, CPU, Compute.Losses.TripletSampler.SelfCheck));
                    Assert.True(FusedKernels.Use(FusedKernels.Cluster, CPU, Compute.Losses.FusedClusterStats.SelfCheck));
                }
                var options = new Compute.Training.TrainingOptions { Iterations = 40, Seed = 7, SegmentationLossesFromFraction = 0.5 };
                using var t = Compute.Training.SceneTrainer.Create(scene, options, device: CPU);
                while (!t.IsComplete) t.Step();
                return t.PhaseTensors.ToDictionary(kv => kv.Key, kv => kv.Value / 40.0);
            }
            var cpu = PerStep(false);
            var cuda = PerStep(true);
            string Both() => $"CPU path {string.Join(", ", cpu.Select(kv => $"{kv.Key} {kv.Value:F1}"))}; CUDA path {string.Join(", ", cuda.Select(kv => $"{kv.Key} {kv.Value:F1}"))}";
            Assert.True(cuda["render_loss"] <= 22, Both());                // the fused SSIM, not the conv2d chain's 42
            Assert.True(cuda["adam"] <= cpu["adam"] - 10, Both());         // the fused Adam
            Assert.True(cuda["report"] <= 4, Both());                      // the losses summed on the device
            Assert.True(cuda.Values.Sum() <= cpu.Values.Sum() - 5, Both());
            Assert.True(cuda.Values.Sum() <= 175, Both());                 // 165 on 2026-12-07
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void A_Disposed_Trainer_On_The_Cuda_Path_Leaves_No_Tensor_Behind()
    {
        // The CUDA backwards hand their gradients to autograd and keep the wrappers until the next forward; a trainer that
        // is done must release the last step's (on a GPU they hold memory until the GC finalises them).
        using var dir = new IO.TempDir();
        var scene = Training.TinyScenes.Write(dir, seed: 5, objects: 2, views: 3, width: 40, height: 30, points: 400);
        using var on = KernelEmulator.Activate();
        Assert.True(FusedKernels.Use(FusedKernels.Ssim, CPU, Compute.Losses.FusedSsim.SelfCheck));
        Assert.True(FusedKernels.Use(FusedKernels.Cluster, CPU, Compute.Losses.FusedClusterStats.SelfCheck));
        Compute.Losses.FusedSsim.ReleaseThread();
        Compute.Losses.FusedClusterStats.ReleaseThread();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var options = new Compute.Training.TrainingOptions { Iterations = 6, Seed = 3, SegmentationLossesFromFraction = 0 };
        using (var t = Compute.Training.SceneTrainer.Create(scene, options, device: CPU))
            while (!t.IsComplete) t.Step();
        long after = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.True(after == before, $"{after - before} tensors outlived the trainer");
    }

    [Theory]
    [InlineData(1, 1, 3, 0)]   // one pixel
    [InlineData(7, 5, 3, 1)]   // smaller than a tile
    [InlineData(17, 33, 1, 0)] // one channel, a tile and a bit each way
    [InlineData(40, 16, 12, 1)]
    public void The_Fused_Ssim_Matches_The_Conv2d_Chain_On_Edge_Shapes(int w, int h, int c, int schedule)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator((ulong)(w * 100 + h));
        var target = torch.rand(new long[] { h, w, c }, generator: gen);
        var image = torch.rand(new long[] { h, w, c }, generator: gen);
        var x1 = image.clone().requires_grad_(true);
        var x2 = image.clone().requires_grad_(true);
        var reference = Compute.Losses.RenderLoss.Ssim(x1, target, fused: false);
        reference.backward();
        using (KernelEmulator.Activate(schedule))
        {
            var fused = Compute.Losses.FusedSsim.Ssim(x2, target);
            fused.backward();
            Assert.True(Compute.TensorError.Relative(fused, reference, floor: 1e-30) <= 1e-5, $"{fused.item<float>()} vs {reference.item<float>()}");
        }
        Assert.True(Compute.TensorError.Relative(x2.grad!, x1.grad!, floor: 1e-30) <= 1e-4);
    }

    [Theory]
    [InlineData(1, 1, 1, 0, false)]   // one pixel, one segment
    [InlineData(9, 7, 1, 1, false)]   // one segment, a partial warp
    [InlineData(33, 3, 4, 0, true)]   // a third of the pixels sampled
    [InlineData(64, 48, 40, 1, false)] // many small segments: few uniform warps
    public void The_Fused_Cluster_Statistics_Match_The_Chain_On_Edge_Shapes(int w, int h, int segments, int schedule, bool sample)
    {
        using var scope = NewDisposeScope();
        var rng = new Random(w * 100 + h);
        var labels = Enumerable.Range(0, w * h).Select(_ => rng.Next(segments)).ToArray();
        if (segments > 1) Array.Sort(labels, 0, labels.Length / 2); // half the view in runs, half speckled
        var mask = new Compute.Scenes.LabelMap(w, h, labels);
        var options = Compute.Losses.ClusterLossOptions.Default with { MaxPixels = sample ? Math.Max(1, w * h / 3) : 0 };
        using var targets = Compute.Losses.ClusterTargets.Build(mask, options, sample ? new Random(3) : null, CPU, ScalarType.Float32);
        var f = torch.randn(new long[] { h, w, 12 }, generator: new Generator(7));
        var x1 = f.clone().requires_grad_(true);
        var x2 = f.clone().requires_grad_(true);
        var reference = Compute.Losses.ClusterLoss.Compute(x1, targets, options, fused: false);
        reference.backward();
        using (KernelEmulator.Activate(schedule))
        {
            var fused = Compute.Losses.ClusterLoss.Compute(x2, targets, options, fused: true);
            fused.backward();
            Assert.True(Compute.TensorError.Relative(fused, reference, floor: 1e-30) <= 1e-5, $"{fused.item<float>()} vs {reference.item<float>()}");
        }
        Assert.True(Compute.TensorError.Relative(x2.grad!, x1.grad!, floor: 1e-30) <= 1e-4);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void The_Fused_Kernels_Agree_With_What_They_Replace_Under_The_Emulator(int schedule)
    {
        var output = new StringWriter();
        Assert.True(CheckCommand.Fused(CheckCommand.KernelTarget.Emulator(schedule), output), output.ToString());
        Assert.Equal(4, output.ToString().Split('\n').Count(l => l.TrimEnd().EndsWith(" ok")));
    }
}
