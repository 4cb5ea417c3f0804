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
}
