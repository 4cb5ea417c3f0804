namespace UniCLift.Tests.Synthetic;

using UniCLift.Client;

public sealed class MakeSceneCommandTests
{
    [Theory]
    [InlineData("--views", "1", "--views must be in 2..")]
    [InlineData("--objects", "0", "--objects must be in 1..120")]
    [InlineData("--objects", "121", "--objects must be in 1..120")]
    [InlineData("--style", "baroque", "baroque")]
    [InlineData("--corruption", "heavy", "heavy")]
    public void Bad_options_are_rejected_with_a_message(string option, string value, string expected)
    {
        var result = Cli.Build().Parse(["make-scene", "--out", "/tmp/never-written", "--seed", "1", option, value]);
        Assert.NotEmpty(result.Errors);
        Assert.Contains(result.Errors, e => e.Message.Contains(expected));
    }

    [Fact]
    public void Out_is_required()
    {
        var result = Cli.Build().Parse(["make-scene", "--seed", "1"]);
        Assert.Contains(result.Errors, e => e.Message.Contains("--out"));
    }

    [Fact]
    public void Good_options_parse()
    {
        var result = Cli.Build().Parse(["make-scene", "--out", "x", "--seed", "3", "--objects", "12", "--views", "20", "--corruption", "light"]);
        Assert.Empty(result.Errors);
    }

    [Theory]
    [InlineData(100000, 320, 240)] // make-scene's own bounds let it through; demo --views 100000 (96x72) took 17 GB in half a minute
    [InlineData(5, 8192, 8192)]
    public void A_Scene_Too_Large_To_Generate_In_Memory_Is_Refused_Before_Generating(int views, int width, int height)
    {
        var options = new UniCLift.Compute.Synthetic.SyntheticSceneOptions { Views = views, Width = width, Height = height };
        var e = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.Contains($"views x width x height = {views} x {width} x {height}", e.Message);
        Assert.Contains("expected at most 268435456", e.Message);
        // The defaults and the largest single images stay allowed.
        new UniCLift.Compute.Synthetic.SyntheticSceneOptions().Validate();
        new UniCLift.Compute.Synthetic.SyntheticSceneOptions { Views = 2, Width = 8192, Height = 8192 }.Validate();
    }

    [Fact]
    public void An_Image_Too_Tall_For_The_Horizontal_Field_Of_View_Is_Refused_Not_Written_For_The_Reader_To_Reject()
    {
        // 8x640 at 60 degrees: fx 6.9 px, a vertical field of view of 177.5 degrees; the scene was written and `info` then
        // refused its intrinsics as "not in pixels".
        var e = Assert.Throws<ArgumentException>(() => new UniCLift.Compute.Synthetic.SyntheticSceneOptions { Width = 8, Height = 640 }.Validate());
        Assert.Contains("8 x 640 with a 60 degree horizontal field of view needs a vertical one of 177.5 degrees", e.Message);
        new UniCLift.Compute.Synthetic.SyntheticSceneOptions { Width = 8, Height = 100 }.Validate(); // tall, but a real pinhole
        new UniCLift.Compute.Synthetic.SyntheticSceneOptions { Width = 640, Height = 8 }.Validate();
    }

    [Fact]
    public void Without_A_Height_The_Image_Is_Four_By_Three()
    {
        // --width alone kept the default height: --width 80 made 80x240 images.
        using var dir = new UniCLift.Tests.IO.TempDir();
        var scene = Path.Combine(dir.Path, "room");
        Assert.Equal(0, MakeScene("--out", scene, "--seed", "1", "--objects", "2", "--views", "3", "--width", "80").Code);
        Assert.Equal((80, 60), UniCLift.Compute.IO.Png.ReadSize(Path.Combine(scene, "color", "0000.png")));
        var square = MakeScene("--out", scene, "--seed", "1", "--objects", "2", "--views", "3", "--width", "80", "--height", "80");
        Assert.True(square.Code == 0, square.Error);
        Assert.Equal((80, 80), UniCLift.Compute.IO.Png.ReadSize(Path.Combine(scene, "color", "0000.png")));
        var errors = Cli.Build().Parse(["make-scene", "--out", scene, "--seed", "1", "--width", "80", "--height", "7"]).Errors;
        Assert.Equal("--height must be in 8..8192 (got 7).", Assert.Single(errors).Message);
    }

    private static (int Code, string Error) MakeScene(params string[] args)
    {
        var error = new StringWriter();
        int code = Cli.Build().Parse(["make-scene", .. args])
            .Invoke(new System.CommandLine.InvocationConfiguration { Output = new StringWriter(), Error = error });
        return (code, error.ToString());
    }

    [Fact]
    public void A_Scene_Made_Over_Another_Replaces_It_And_A_Folder_Of_Other_Files_Is_Refused()
    {
        using var dir = new UniCLift.Tests.IO.TempDir();
        var scene = Path.Combine(dir.Path, "room");
        Assert.Equal(0, MakeScene("--out", scene, "--seed", "1", "--objects", "2", "--views", "6", "--width", "32").Code);
        File.WriteAllText(Path.Combine(scene, "notes.txt"), "mine");
        // Fewer views over it: the old scene's extra frames used to stay and be read as views of the new one.
        Assert.Equal(0, MakeScene("--out", scene, "--seed", "2", "--objects", "2", "--views", "3", "--width", "32").Code);
        var read = UniCLift.Compute.Scenes.SceneInspector.Read(scene);
        Assert.Equal(3, read.Views.Count);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(scene, "color")).Length);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(scene, "notes.txt"))); // what the writer did not write stays

        var other = Path.Combine(dir.Path, "mine");
        Directory.CreateDirectory(Path.Combine(other, "color"));
        File.WriteAllText(Path.Combine(other, "color", "0000.png"), "not ours");
        var (code, error) = MakeScene("--out", other, "--seed", "1", "--views", "3", "--width", "32");
        Assert.Equal(2, code);
        Assert.Contains(other, error);
        Assert.Contains("not empty", error);
        Assert.Equal("not ours", File.ReadAllText(Path.Combine(other, "color", "0000.png")));
    }
}
