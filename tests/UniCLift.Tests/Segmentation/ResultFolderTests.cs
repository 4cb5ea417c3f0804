namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.Segmentation;
using UniCLift.Tests.IO;

/// <summary>A run writes over a new or empty folder or an earlier result, never over a folder of someone else's files.</summary>
public sealed class ResultFolderTests
{
    [Fact]
    public void A_Folder_Of_Other_Files_Is_Refused_Naming_One_And_A_Result_Or_An_Empty_Folder_Is_Not()
    {
        using var dir = new TempDir();
        SceneSegmentation.CheckOutputFolder(dir.File("missing")); // made by the run
        SceneSegmentation.CheckOutputFolder(dir.Path);            // empty

        File.WriteAllText(dir.File("notes.txt"), "mine");
        var e = Assert.Throws<ArgumentException>(() => SceneSegmentation.CheckOutputFolder(dir.Path));
        Assert.Equal($"output directory {dir.Path} holds other files ('notes.txt' among them) and no result of a run; name a new or empty folder, or an earlier result's.", e.Message);

        // An earlier result (whatever else its owner put beside it), each of the names a run writes.
        foreach (var name in SceneSegmentation.ResultEntries)
        {
            using var result = new TempDir();
            File.WriteAllText(result.File("notes.txt"), "mine");
            if (name.Contains('.')) File.WriteAllText(result.File(name), "");
            else Directory.CreateDirectory(result.File(name));
            SceneSegmentation.CheckOutputFolder(result.Path);
        }

        // Hidden files of our own (the write check, a temporary file a killed write left) are not someone else's.
        using var ours = new TempDir();
        File.WriteAllText(ours.File(Compute.IO.OutputFolder.ProbeName), "");
        File.WriteAllText(ours.File(".model.ply.123.abc.tmp"), "");
        SceneSegmentation.CheckOutputFolder(ours.Path);
        File.WriteAllText(ours.File(".hidden-notes"), "");
        Assert.Throws<ArgumentException>(() => SceneSegmentation.CheckOutputFolder(ours.Path));
    }
}
