namespace UniCLift.Tests.Cli;

using UniCLift.Client.Commands;
using UniCLift.Compute;
using static TorchSharp.torch;

/// <summary>`check gpu`'s checkpoint rows, run with the CPU in the GPU's place (what can run here): every route
/// restores and, the CPU being deterministic, lands exactly on the uninterrupted run. On a GPU the same code reports
/// the real gaps.</summary>
public sealed class CheckResumeTests
{
    public CheckResumeTests() => TorchRuntime.EnsureInitialised();

    [Fact]
    public void EveryCheckpointRouteRestoresAndOnTheCpuIsBitExact()
    {
        var output = new StringWriter();
        Assert.True(CheckCommand.Resume(CheckCommand.KernelTarget.Cpu, output), output.ToString());
        var rows = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, rows.Length);
        Assert.All(rows, r => Assert.Contains("(bit-exact)", r));
    }
}
