namespace UniCLift.Cluster.Tests;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Storage;
using UniCLift.Grains;
using UniCLift.Grains.Hosting;

/// <summary>
/// Grain state in Redis is JSON written by the silo's grain storage serializer (Orleans' Newtonsoft-based
/// JsonGrainStorageSerializer): state written by an older build must still load after a message changes shape.
/// </summary>
public sealed class GrainStateCompatibilityTests
{
    /// <summary>The serializer the silo's "uniclift" grain storage uses (the silo is built, not started).</summary>
    private static IGrainStorageSerializer SiloSerializer()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.AddUniCLiftSilo(o => { o.SiloPort = TestPorts.Free(); o.GatewayPort = TestPorts.Free(); o.Compute = true; });
        var host = builder.Build();
        return host.Services.GetRequiredService<IGrainStorageSerializer>();
    }

    private static T Load<T>(string json) => SiloSerializer().Deserialize<T>(BinaryData.FromString(json))!;

    [Fact]
    public void A_Batch_Saved_With_The_Mode_As_A_String_Loads_With_The_Mode_Enum()
    {
        // BatchState as an older build wrote it: JobOptions.Mode was "train" / "lift", Iterations and Seed not nullable.
        const string old = """
            {"Request":{"Scenes":["/data/a"],"OutputRoot":"/out","Options":{"Mode":"lift","Iterations":500,"Seed":3,
             "InitialPly":"/m.ply","MaxRetries":1,"Settings":["UseTriplet=false"]},"OutputDirectories":null},
             "Scenes":[],"SubmittedUtc":"2026-12-01T10:00:00Z","FinishedUtc":null,"Cancelled":false,"DecodePasses":0}
            """;
        var state = Load<BatchState>(old);
        var options = state.Request!.Options;
        Assert.Equal(JobMode.Lift, options.Mode);
        Assert.Equal(500, options.Iterations);
        Assert.Equal(3UL, options.Seed);
        Assert.Equal(["UseTriplet=false"], options.Settings!);
        Assert.Equal(JobMode.Train, Load<JobOptions>("""{"Mode":"train","Iterations":6000,"Seed":1,"MaxRetries":2}""").Mode);
    }

    [Fact]
    public void Job_Options_Round_Trip_Through_Grain_Storage()
    {
        var serializer = SiloSerializer();
        var job = new JobOptions(JobMode.Lift, null, 9, "/m.ply", 0, ["Tau=0.02"]);
        var back = serializer.Deserialize<JobOptions>(serializer.Serialize(job))!;
        Assert.Equal(job.Mode, back.Mode);
        Assert.Null(back.Iterations);
        Assert.Equal(9UL, back.Seed);
        Assert.Equal(job.Settings, back.Settings);
    }
}
