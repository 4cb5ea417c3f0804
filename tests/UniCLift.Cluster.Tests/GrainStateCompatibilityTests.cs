namespace UniCLift.Cluster.Tests;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Storage;
using UniCLift.Grains;
using UniCLift.Grains.Hosting;

/// <summary>
/// Grain state in Redis is JSON written by the silo's grain storage serializer (Orleans' Newtonsoft-based
/// JsonGrainStorageSerializer): state written by an older build must still load after a message changes shape, and
/// the JSON names no .NET type (no "$type"): what is in Redis cannot ask the silo to construct one.
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
    public void A_Batch_Index_Saved_Without_Times_Loads_And_Its_Batches_Get_A_Retention_Clock_Later()
    {
        // BatchIndexState before retention: the ids alone.
        var state = Load<BatchIndexState>("""{"Batches":["b1","b2"]}""");
        Assert.Equal(["b1", "b2"], state.Batches);
        Assert.Empty(state.IndexedUtc);
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
        Assert.Equal(1, back.Downscale);
        Assert.Equal(3, serializer.Deserialize<JobOptions>(serializer.Serialize(job with { Downscale = 3 }))!.Downscale);
        // Saved before --downscale: trains at the files' size.
        Assert.Equal(1, Load<JobOptions>("""{"Mode":"train","Iterations":6000,"Seed":1,"MaxRetries":2}""").TrainingDownscale());
    }

    [Fact]
    public void A_Scene_Saved_With_Flat_Status_Fields_Loads_Into_Its_Status()
    {
        // SceneGrainState as version 1 wrote it (status fields flat on the state; SceneState.Training = 3).
        const string old = """
            {"Job":{"SceneId":"b1.000.room","SceneDirectory":"/data/room","OutputDirectory":"/out/room",
             "Options":{"Mode":"train","Iterations":600,"Seed":1,"InitialPly":null,"MaxRetries":2,"Settings":null},"BatchId":"b1","Attempt":1},
             "State":3,"Step":250,"Iterations":600,"Losses":{"Total":0.5,"Render":0.2,"Cluster":-1.5,"Triplet":0.1,"Smooth":0.01},
             "Gaussians":12345,"Resumes":2,"LastCheckpointStep":200,"CheckpointPath":"/ckpt/b1.000.room/000200.ckpt","Error":null,
             "PqScene":null,"Instances":0,"Seconds":81.5,"MillisecondsPerStep":120.5,"Silo":"silo-a","PqThings":null,"DecodePass":0}
            """;
        var state = Load<SceneGrainState>(old);
        Assert.Equal("b1.000.room", state.Job!.SceneId);
        Assert.Equal(600, state.Job.Options.Iterations);
        var s = state.Status;
        Assert.Equal(SceneState.Training, s.State);
        Assert.Equal((250, 600, 12345, 2, 200), (s.Step, s.Iterations, s.Gaussians, s.Resumes, s.LastCheckpointStep));
        Assert.Equal("/ckpt/b1.000.room/000200.ckpt", s.CheckpointPath);
        Assert.Equal(new SceneLosses(0.5, 0.2, -1.5, 0.1, 0.01), s.Losses);
        Assert.Equal((81.5, 120.5, "silo-a"), (s.Seconds, s.MillisecondsPerStep, s.Silo));
    }

    [Fact]
    public void A_Scene_State_Round_Trips_With_Its_Status_And_Writes_No_Flat_Fields()
    {
        var serializer = SiloSerializer();
        var state = new SceneGrainState
        {
            Job = new SceneJob("s", "/d", "/o", new JobOptions(JobMode.Lift, 500, InitialPly: "/m.ply")),
            Status = new SceneStatus
            {
                SceneId = "s", State = SceneState.Done, Step = 500, Iterations = 500, Instances = 9, PqScene = 97.5, PqThings = 96.0,
                DecodePass = 2, CheckpointPath = "/c", Losses = new SceneLosses(1, 2, 3, 4, 5), SceneDirectory = "/d", Attempt = 1,
            },
        };
        var json = serializer.Serialize(state).ToString();
        // Only the job and the status are written; version 1's flat fields are read, never written.
        using (var doc = System.Text.Json.JsonDocument.Parse(json))
            Assert.Equal(["Job", "Status"], doc.RootElement.EnumerateObject().Select(p => p.Name).Order());
        Assert.DoesNotContain("$type", json);
        var back = serializer.Deserialize<SceneGrainState>(BinaryData.FromString(json))!;
        Assert.Equal(state.Status, back.Status);
        Assert.Equal(JobMode.Lift, back.Job!.Options.Mode);
    }

    [Fact]
    public void A_Batch_Keeps_The_Last_Scene_Status_An_Older_Build_Saved()
    {
        // BatchSceneEntry.Last was the positional SceneStatus record: same property names as the init-only one.
        const string old = """
            {"Request":null,"Scenes":[{"SceneDirectory":"/data/room","SceneId":"b1.000.room","OutputDirectory":"/out/room","Retries":1,
             "Last":{"SceneId":"b1.000.room","State":6,"Step":600,"Iterations":600,"Losses":null,"Gaussians":5000,"Resumes":0,
             "LastCheckpointStep":600,"Error":null,"OutputDirectory":"/out/room","PqScene":91.5,"Silo":"silo-a","Seconds":30.0,
             "MillisecondsPerStep":50.0,"Attempt":1,"Instances":5,"SceneDirectory":"/data/room","PqThings":84.4,"DecodePass":1}}],
             "SubmittedUtc":"2026-12-01T10:00:00Z","FinishedUtc":"2026-12-01T10:05:00Z","Cancelled":false,"DecodePasses":1}
            """;
        var last = Load<BatchState>(old).Scenes.Single().Last!;
        Assert.Equal(SceneState.Done, last.State);
        Assert.Equal(("/out/room", "/data/room", 91.5, 84.4, 5, 1), (last.OutputDirectory, last.SceneDirectory, last.PqScene, last.PqThings, last.Instances, last.Attempt));
    }
    [Fact]
    public void State_Written_With_Type_Tags_Loads_And_A_Tag_Naming_Another_Type_Is_Not_Honoured()
    {
        var serializer = SiloSerializer();
        var index = new BatchIndexState { Batches = ["b1"], IndexedUtc = new() { ["b1"] = new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc) } };
        var json = serializer.Serialize(index).ToString();
        Assert.DoesNotContain("$type", json);

        // As older builds wrote it (Orleans' default settings tag objects and collections).
        const string tagged = """
            {"$type":"UniCLift.Grains.BatchIndexState, UniCLift.Grains",
             "Batches":{"$type":"System.Collections.Generic.List`1[[System.String, System.Private.CoreLib]], System.Private.CoreLib","$values":["b1","b2"]},
             "IndexedUtc":{"$type":"System.Collections.Generic.Dictionary`2[[System.String, System.Private.CoreLib],[System.DateTime, System.Private.CoreLib]], System.Private.CoreLib","b1":"2026-12-01T00:00:00Z"}}
            """;
        var state = Load<BatchIndexState>(tagged);
        Assert.Equal(["b1", "b2"], state.Batches);
        Assert.Equal(["b1"], state.IndexedUtc.Keys);
        // A tag naming a type the state does not declare is ignored: the declared type is what gets built.
        var swapped = Load<BatchIndexState>("""{"$type":"System.Collections.Generic.List`1[[System.String, System.Private.CoreLib]], System.Private.CoreLib","Batches":["x"]}""");
        Assert.Equal(["x"], swapped.Batches);
    }
}
