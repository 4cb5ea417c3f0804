namespace UniCLift.Tests.Cli;

using UniCLift.Client;
using UniCLift.Compute.IO;
using UniCLift.Grains;
using UniCLift.Tests.IO;
using UniCLift.Tests.Readers;

/// <summary>A lift on a large model says, before it starts, the memory its Gaussians take (about 3 GB a million on CPU,
/// measured): nothing else warned of it, and `info` counts only pixels.</summary>
public class LiftModelNoteTests
{
    [Fact]
    public void A_Lift_On_A_Model_Of_Many_Gaussians_Says_Their_Memory_From_The_Header()
    {
        using var dir = new TempDir();
        var ply = dir.File("model.ply");
        GaussianPly.Write(ply, LayoutFixtures.TinyCloud(50));
        var lift = new JobOptions(JobMode.Lift, InitialPly: ply);

        Assert.Equal($"--ply '{ply}' holds 50 Gaussians: a CPU lift takes about 0 GB of memory for them "
            + "(about 3 GB a million Gaussians, measured to 2 million), on top of the images' share.", BatchConsole.LiftModelNote(lift, noteFrom: 50));
        Assert.Null(BatchConsole.LiftModelNote(lift, noteFrom: 51));
        Assert.Null(BatchConsole.LiftModelNote(lift)); // a million by default
        Assert.Null(BatchConsole.LiftModelNote(lift with { Mode = JobMode.Train }, noteFrom: 1));
        Assert.Null(BatchConsole.LiftModelNote(lift with { InitialPly = dir.File("none.ply") }, noteFrom: 1));
        File.WriteAllText(dir.File("bad.ply"), "not a ply");
        Assert.Null(BatchConsole.LiftModelNote(lift with { InitialPly = dir.File("bad.ply") }, noteFrom: 1)); // the run says what is wrong
    }
}
