namespace UniCLift.Tests.Rendering;

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using UniCLift.Client;
using UniCLift.Client.Terminal;

/// <summary>`uniclift bench raster` through the real CLI on a tiny scene: the output contract scripts rely on (last line,
/// JSON fields) and the one-line error for a bad value. Figures are not checked against targets here (that is the
/// benchmark's job), only for consistency.</summary>
[Collection("Rasterizer")]
public sealed class BenchRasterCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Table_Ends_With_The_Machine_Readable_Line()
    {
        var (code, output, error) = Run("bench", "raster", "--gaussians", "300", "--width", "64", "--height", "48", "--repeats", "3", "--warmup", "2");
        Assert.True(code == ExitCodes.Ok, error);
        var lines = output.TrimEnd('\n', '\r').Split('\n');
        var m = Regex.Match(lines[^1].TrimEnd('\r'), @"^fwd_ms=(\d+\.\d\d) fwd_bwd_ms=(\d+\.\d\d) fwd_bwd_cpu_ms=(\d+\.\d\d)$");
        Assert.True(m.Success, $"last line was '{lines[^1]}'");
        double fwd = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        double fwdBwd = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.True(fwd > 0 && fwdBwd > 0, output);
        Assert.Contains("300 Gaussians, 64x48, D=12", output);
        Assert.Contains("blend backward", output);
        Assert.Contains("spread over 3 runs after 2 warm-up runs", output);
    }

    [Fact]
    public void Json_Is_One_Object_With_Consistent_Figures()
    {
        var (code, output, error) = Run("bench", "raster", "--gaussians", "400", "--width", "48", "--height", "32", "--channels", "4",
            "--sh-degree", "1", "--repeats", "5", "--warmup", "0", "--json");
        Assert.True(code == ExitCodes.Ok, error);
        using var doc = JsonDocument.Parse(output);
        var j = doc.RootElement;
        Assert.Equal(400, j.GetProperty("gaussians").GetInt32());
        Assert.Equal(4, j.GetProperty("channels").GetInt32());
        Assert.Equal(5, j.GetProperty("repeats").GetInt32());
        Assert.Equal(0, j.GetProperty("warmup").GetInt32());
        double F(string name) => j.GetProperty(name).GetDouble();
        Assert.True(F("fwd_bwd_min_ms") <= F("fwd_bwd_ms") && F("fwd_bwd_ms") <= F("fwd_bwd_p90_ms"), output);
        Assert.True(F("fwd_min_ms") <= F("fwd_ms") && F("fwd_ms") <= F("fwd_p90_ms"), output);
        long blends = j.GetProperty("blends").GetInt64();
        Assert.True(blends > 0, output);
        // Blends per second is the forward blend count over the forward blend time.
        Assert.Equal(blends / (F("blend_fwd_ms") / 1000.0), F("blends_per_second"), 0.001 * F("blends_per_second"));
    }

    [Theory]
    [InlineData("--gaussians", "0", "--gaussians 0")]
    [InlineData("--sh-degree", "4", "--sh-degree 4")]
    [InlineData("--repeats", "0", "--repeats 0")]
    [InlineData("--warmup", "-1", "--warmup -1")]
    [InlineData("--gaussians", "2000000000", "--gaussians 2000000000 must be in 1..10000000")] // was OverflowException, exit 1
    [InlineData("--width", "70000", "--width/--height 70000x150 must each be in 1..8192")]
    [InlineData("--height", "70000", "--width/--height 200x70000 must each be in 1..8192")] // 70000x70000 was a segmentation fault
    public void A_Bad_Value_Is_One_Error_Line_And_Exit_2(string option, string value, string named)
    {
        var (code, output, error) = Run("bench", "raster", option, value);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Equal("", output);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(named, lines[0]);
    }
}
