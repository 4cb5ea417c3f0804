namespace UniCLift.Tests.Cuda;

using System.CommandLine;
using TorchSharp;
using UniCLift.Client;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Cuda;

/// <summary>The device dispatch on a machine whose libtorch has no CUDA (what CI and the build machines load): every
/// route to the GPU backend stops with one line saying why, and the CPU path is untouched. On a GPU machine these
/// commands run instead (`uniclift check gpu`), so the tests first establish that this libtorch has no CUDA.</summary>
[Collection("Rasterizer")]
public sealed class CudaDispatchTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    private static void RequireCpuOnlyLibtorch()
    {
        UniCLift.Compute.TorchRuntime.EnsureInitialised();
        // The repository's build references the CPU libtorch (libtorch-cpu-linux-x64); a CUDA build is a packaging error here.
        Assert.False(torch.cuda.is_available(), "these tests expect the CPU libtorch the project builds with");
    }

    [Fact]
    public void Without_Cuda_Libtorch_The_Reason_Is_One_Line()
    {
        RequireCpuOnlyLibtorch();
        var why = CudaRuntime.Problem();
        Assert.NotNull(why);
        Assert.StartsWith("CUDA is not available to libtorch", why);
        Assert.Contains("TorchSharp-cuda-linux", why);
        Assert.DoesNotContain('\n', why!);
    }

    [Theory]
    [InlineData("check", "gpu")]
    [InlineData("bench", "raster", "--device", "cuda", "--gaussians", "100", "--repeats", "1", "--warmup", "0")]
    public void Gpu_Commands_Fail_With_One_Line_And_Exit_1(params string[] args)
    {
        RequireCpuOnlyLibtorch();
        var (code, output, error) = Run(args);
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Equal("", output);
        var lines = error.TrimEnd('\n', '\r').Split('\n');
        Assert.Single(lines);
        Assert.Contains("CUDA is not available to libtorch", lines[0]);
    }

    [Theory]
    [InlineData("--device", "tpu")]
    [InlineData("--device", "cuda", "--kernel", "Avx2")]
    public void Bad_Device_Values_Are_User_Errors(params string[] extra)
    {
        var (code, _, error) = Run(["bench", "raster", "--gaussians", "100", "--repeats", "1", "--warmup", "0", .. extra]);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Single(error.TrimEnd('\n', '\r').Split('\n'));
    }
}
