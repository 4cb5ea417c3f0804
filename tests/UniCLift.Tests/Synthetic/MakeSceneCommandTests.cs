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
}
