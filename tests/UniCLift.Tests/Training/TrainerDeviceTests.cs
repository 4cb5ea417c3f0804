namespace UniCLift.Tests.Training;

using System.CommandLine;
using TorchSharp;
using UniCLift.Client;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Cuda;
using UniCLift.Compute.Training;
using UniCLift.Tests.IO;

/// <summary>The trainer's device handling on a machine whose libtorch has no CUDA (the build machines and CI): CPU is the
/// default and holds every tensor of the state; asking for CUDA stops before anything is loaded, with one line saying
/// why; checkpoints carry no device; the CLI's --device is validated. The CUDA runs themselves are in docs/gpu.</summary>
[Collection(TorchCountsCollection.Name)]
public sealed class TrainerDeviceTests
{
    [Fact]
    public void The_Default_Device_Is_The_Cpu_And_Holds_The_Whole_State()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir);
        using var t = SceneTrainer.Create(scene, new TrainingOptions { Iterations = 3 });
        Assert.Equal(DeviceType.CPU, t.Device.type);
        Assert.All(t.Model.Optimizer.Names, n => Assert.Equal(DeviceType.CPU, t.Model[n].device_type));
        Assert.All(t.Data.Views, v => Assert.Equal(DeviceType.CPU, v.Image!.device_type));
        t.Step();
        var report = t.Step();
        Assert.True(report.RenderLoss > 0, "CPU steps read their losses every step");
    }

    [Fact]
    public void Asking_For_Cuda_Without_It_Is_One_Line_Before_Any_Work()
    {
        TorchRuntime();
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir);
        long before = torch.Tensor.TotalCount;
        var e = Assert.Throws<CudaException>(() => SceneTrainer.Create(scene, new TrainingOptions { Iterations = 3 }, device: new torch.Device(DeviceType.CUDA, 0)));
        Assert.StartsWith("CUDA is not available to libtorch", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, torch.Tensor.TotalCount); // nothing was loaded or left behind
    }

    [Fact]
    public void A_Checkpoint_Restores_On_An_Explicit_Device()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir);
        using var t = SceneTrainer.Create(scene, new TrainingOptions { Iterations = 4, Seed = 3 });
        t.Step(); t.Step();
        using var stream = new MemoryStream();
        t.Save(stream);
        stream.Position = 0;
        using var r = SceneTrainer.Restore(scene, stream, device: torch.CPU);
        Assert.Equal(2, r.CurrentStep);
        Assert.Equal(t.Model.Read(GaussianModel.Means), r.Model.Read(GaussianModel.Means));
        stream.Position = 0;
        Assert.Throws<CudaException>(() => SceneTrainer.Restore(scene, stream, device: new torch.Device(DeviceType.CUDA, 0)));
    }

    [Theory]
    [InlineData("segment", "--device", "tpu")]
    [InlineData("segment", "--device", "cuda", "--redis", "127.0.0.1:1")]
    public void Segment_Rejects_A_Bad_Or_Misplaced_Device(params string[] args)
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir);
        var output = new StringWriter();
        var error = new StringWriter();
        var err = Console.Error;
        Console.SetError(error);
        try
        {
            int code = Cli.Build().Parse([args[0], dir.Path, "--out", Path.Combine(dir.Path, "out"), .. args[1..]])
                .Invoke(new InvocationConfiguration { Output = output, Error = error });
            Assert.Equal(ExitCodes.UserError, code);
            Assert.Contains("device", error.ToString(), StringComparison.OrdinalIgnoreCase);
            Assert.False(Directory.Exists(Path.Combine(dir.Path, "out")));
        }
        finally { Console.SetError(err); }
    }

    private static void TorchRuntime()
    {
        UniCLift.Compute.TorchRuntime.EnsureInitialised();
        Assert.False(torch.cuda.is_available(), "these tests expect the CPU libtorch the project builds with");
    }
}

/// <summary>Tests that compare torch's process-wide live tensor count before and after something: they run alone, after
/// the parallel collections, so no other test's tensors come and go in between.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCountsCollection
{
    public const string Name = "Torch live tensor counts";
}
