namespace UniCLift.Tests.Cli;

using System.CommandLine;
using UniCLift.Client;
using UniCLift.Client.Terminal;
using UniCLift.Compute;
using UniCLift.Compute.Cuda;
using UniCLift.Grains;

/// <summary>
/// The one convention every `uniclift` command follows: output and errors on the invocation's writers, an exception
/// mapped once (<see cref="FailurePolicy"/>, <see cref="ExitCodes.For(Exception)"/>) to one `error:` line and 2 (bad
/// input) or 1 (anything else), a cancelled token to 130, a cancelled batch to 3.
/// </summary>
public sealed class CommandConventionTests
{
    public static TheoryData<Exception, int, string> Failures => new()
    {
        { new InvalidDataException("scene/a.png: not a PNG"), ExitCodes.UserError, "scene/a.png: not a PNG" },
        { new FileNotFoundException("no such file: x.ply"), ExitCodes.UserError, "no such file: x.ply" },
        { new DirectoryNotFoundException("scene directory 'd' does not exist."), ExitCodes.UserError, "scene directory 'd' does not exist." },
        { new ArgumentException("--objects must be at least 1, got 0."), ExitCodes.UserError, "--objects must be at least 1, got 0." },
        // .NET's " (Parameter 'n')" names a property, not an option the user typed: left out.
        { new ArgumentOutOfRangeException("n", "out of range"), ExitCodes.UserError, "out of range" },
        { new ArgumentException("test-every = -1: expected 0 or at least 2.", "TestEvery"), ExitCodes.UserError, "test-every = -1: expected 0 or at least 2." },
        { new KeyNotFoundException("no batch with id 'b1' was submitted."), ExitCodes.UserError, "no batch with id 'b1' was submitted." },
        { new CudaException("CUDA is not available to libtorch"), ExitCodes.Failure, "CUDA is not available to libtorch" },
        { new InvalidOperationException("cannot reach the cluster"), ExitCodes.Failure, "InvalidOperationException: cannot reach the cluster" },
        { new TimeoutException("line one\nline two"), ExitCodes.Failure, "TimeoutException: line one line two" },
        // A view's image that fails to load inside Parallel.For arrives wrapped: the inner failure decides.
        { new AggregateException(new InvalidDataException("color/0002.png: truncated PNG")), ExitCodes.UserError, "color/0002.png: truncated PNG" },
        { new AggregateException(new InvalidDataException("a.png: bad"), new InvalidDataException("b.png: bad")), ExitCodes.UserError, "a.png: bad (and 1 more alike)" },
        { new AggregateException(new AggregateException(new InvalidOperationException("deep"))), ExitCodes.Failure, "InvalidOperationException: deep" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void One_Policy_Gives_The_Exit_Code_And_The_Line(Exception e, int code, string line)
    {
        Assert.Equal(code, ExitCodes.For(e));
        Assert.Equal(code == ExitCodes.UserError, FailurePolicy.IsBadInput(e));
        Assert.Equal(line, FailurePolicy.Describe(e));
    }

    [Fact]
    public void An_Argument_Out_Of_Range_That_A_Library_Threw_Is_A_Failure_With_Its_Type_Not_Bad_Input()
    {
        // TorchSharp reading an empty tensor threw this, and a degree-0 model failed as if its scene were bad input.
        static Exception Caught(Action a) { try { a(); } catch (Exception e) { return e; } throw new InvalidOperationException("nothing thrown"); }
        var library = Caught(() => _ = "abc".Substring(5));
        Assert.False(FailurePolicy.IsBadInput(library));
        Assert.Equal(ExitCodes.Failure, ExitCodes.For(library));
        Assert.StartsWith("ArgumentOutOfRangeException: ", FailurePolicy.Describe(library));
        // One of this program's own checks is the input's.
        var own = Caught(() => new UniCLift.Compute.Scenes.Scene("/s", UniCLift.Compute.Scenes.SceneLayout.Nerfstudio, [], [], []).Downscaled(0));
        Assert.IsType<ArgumentOutOfRangeException>(own);
        Assert.True(FailurePolicy.IsBadInput(own));
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public void A_Synchronous_Command_Says_Its_Failure_In_One_Line_On_The_Invocations_Error_Writer(Exception e, int code, string line)
    {
        var command = new Command("fails");
        CommandAction.Set(command, (_, console) =>
        {
            console.OutWriter.WriteLine("started");
            throw e;
        });
        var (exit, output, error) = Invoke(command);
        Assert.Equal(code, exit);
        Assert.Equal("started", output.Trim());
        Assert.Equal("error: " + line, error.TrimEnd('\n', '\r'));
    }

    [Theory]
    [MemberData(nameof(Failures))]
    public void An_Asynchronous_Command_Follows_The_Same_Policy(Exception e, int code, string line)
    {
        var command = new Command("fails");
        CommandAction.Set(command, async (_, _, _) =>
        {
            await Task.Yield();
            throw e;
        });
        var (exit, output, error) = Invoke(command);
        Assert.Equal(code, exit);
        Assert.Equal("", output);
        Assert.Equal("error: " + line, error.TrimEnd('\n', '\r'));
    }

    [Fact]
    public async Task A_Cancelled_Token_Is_An_Interruption_But_A_Stray_Cancellation_Is_A_Failure()
    {
        var command = new Command("waits");
        CommandAction.Set(command, async (_, _, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return ExitCodes.Ok;
        });
        var root = new RootCommand { command };
        var error = new StringWriter();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        int exit = await root.Parse(["waits"]).InvokeAsync(new InvocationConfiguration { Output = new StringWriter(), Error = error }, cancel.Token);
        Assert.Equal(ExitCodes.Interrupted, exit);
        Assert.Equal("error: interrupted.", error.ToString().Trim());

        // An OperationCanceledException the command's token did not cause (a timeout inside) is not an interruption.
        var timesOut = new Command("times-out");
        CommandAction.Set(timesOut, (_, _, _) => throw new TaskCanceledException("a call timed out"));
        var (code, _, message) = Invoke(timesOut);
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Equal("error: TaskCanceledException: a call timed out", message.Trim());
    }

    [Fact]
    public void A_Cancelled_Batch_Exits_3_And_Its_Summary_Goes_To_The_Invocations_Writers()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = new CommandConsole(output, error);
        var submitted = new DateTime(2026, 12, 6, 1, 0, 0, DateTimeKind.Utc);
        var cancelled = new BatchStatus("b-test", [], submitted, submitted.AddSeconds(2), Cancelled: true, "/tmp/out");

        BatchConsole.PrintSummary(cancelled, console);
        Assert.Contains("batch b-test: 0 done, 0 failed of 0, finished in 2.0 s, cancelled", output.ToString());
        Assert.Equal(ExitCodes.BatchCancelled, BatchConsole.ExitCode(cancelled, console));
        Assert.Equal("error: batch b-test was cancelled.", error.ToString().Trim());

        Assert.Equal(ExitCodes.Ok, BatchConsole.ExitCode(cancelled with { Cancelled = false }, new CommandConsole(new StringWriter(), new StringWriter())));
    }

    [Theory]
    [InlineData("make-scene", "--seed", "1")] // --out missing
    [InlineData("make-scene", "--out", "/tmp/never-written", "--seed", "1", "--objects", "0")] // a validator refuses it
    [InlineData("no-such-command")]
    public async Task A_Command_Line_That_Does_Not_Parse_Is_Bad_Input(params string[] args)
    {
        Assert.Equal(ExitCodes.UserError, await Cli.RunAsync(args));
        Assert.False(Directory.Exists("/tmp/never-written"));
    }

    [Fact]
    public void A_Value_Outside_A_List_Is_One_Line_Naming_The_Allowed_Ones()
    {
        // System.CommandLine says "Must be one of:" and then a value a line.
        var error = new StringWriter();
        Assert.Equal(ExitCodes.UserError, Cli.ReportParseErrors(Cli.Build().Parse(["make-scene", "--out", "x", "--seed", "1", "--style", "foo"]), error));
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: Argument 'foo' not recognized. Must be one of: 'classic' 'clutter' 'glossy'", line);
    }

    /// <summary>Every number or enum option of every command, given a word: the error names the option and says what
    /// was expected in words. System.CommandLine's own was "Cannot parse argument 'abc' for option '--iterations' as
    /// expected type 'System.Nullable`1[System.Int32]'".</summary>
    [Fact]
    public void A_Value_Of_The_Wrong_Kind_Is_Named_In_Words_By_Every_Typed_Option()
    {
        var checkedOptions = new List<string>();
        void Visit(Command command, string[] path)
        {
            foreach (var option in command.Options)
            {
                var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
                if (type == typeof(bool) || !(type.IsPrimitive || type.IsEnum)) continue;
                var errors = Cli.Build().Parse([.. path, option.Name, "abc"]).Errors.Select(e => e.Message).ToList();
                string expected = type.IsEnum ? "is not one of " : type == typeof(ulong) ? "is not a whole number >= 0." : "is not a whole number.";
                Assert.Contains(errors, m => m.StartsWith($"Option {option.Name}: 'abc' {expected}", StringComparison.Ordinal));
                Assert.DoesNotContain(errors, m => m.Contains("System.", StringComparison.Ordinal) || m.Contains("expected type", StringComparison.Ordinal));
                checkedOptions.Add($"{string.Join(' ', path)} {option.Name}");
            }
            foreach (var sub in command.Subcommands) Visit(sub, [.. path, sub.Name]);
        }
        Visit(Cli.Build(), []);
        Assert.Contains("segment --iterations", checkedOptions); // int?
        Assert.Contains("demo --seed", checkedOptions); // ulong
        Assert.Contains("bench raster --kernel", checkedOptions); // an enum
        Assert.True(checkedOptions.Count > 30, string.Join(", ", checkedOptions));

        var overflow = Cli.Build().Parse(["demo", "--views", "99999999999"]).Errors.Select(e => e.Message);
        Assert.Contains("Option --views: '99999999999' is out of range (-2147483648 to 2147483647).", overflow);
        Assert.Empty(Cli.Build().Parse(["demo", "--views", "7", "--seed", "18446744073709551615"]).Errors);
    }

    [Fact]
    public void A_Command_Line_That_Does_Not_Parse_Is_One_Error_Line_Naming_The_Help_Of_Its_Command()
    {
        // System.CommandLine printed its messages and then the whole usage (dozens of lines that hid the one that mattered).
        string Line(params string[] args)
        {
            var error = new StringWriter();
            Assert.Equal(ExitCodes.UserError, Cli.ReportParseErrors(Cli.Build().Parse(args), error));
            var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return Assert.Single(lines).TrimEnd();
        }
        Assert.Equal("error: Option '--out' is required. (`uniclift segment --help` shows the usage.)", Line("segment", "scene"));
        Assert.Equal("error: Unrecognized command or argument 'bogus'. (`uniclift --help` shows the usage.)", Line("bogus"));
        Assert.Equal("error: Option --views: 'abc' is not a whole number. (`uniclift demo --help` shows the usage.)", Line("demo", "--views", "abc"));
        Assert.StartsWith("error: Option --kernel: 'x' is not one of ", Line("bench", "raster", "--kernel", "x"));
        Assert.EndsWith("(`uniclift bench raster --help` shows the usage.)", Line("bench", "raster", "--kernel", "x"));
    }

    [Fact]
    public void A_Notice_Quotes_An_Exceptions_Message_Without_The_Stack_Trace_Inside_It()
    {
        // What `watch` printed when the coordinator's silo was killed: Orleans' rejection quotes its inner exception whole.
        const string rejection = "Forwarding failed: tried to forward message Request [S127.0.0.1:21111:0 sys.client]->[S127.0.0.1:21112:0 coordinator/b1] " +
            "for 2 times after \"Unable to connect to S127.0.0.1:21112:0\" to invalid activation. Rejecting now. " +
            "Orleans.Runtime.Messaging.ConnectionFailedException: Unable to connect to S127.0.0.1:21112:0, will retry after 998.9ms\n" +
            "   at Orleans.Runtime.Messaging.ConnectionManager.GetConnectionAsync(SiloAddress endpoint) in /_/src/Orleans.Core/Networking/ConnectionManager.cs:line 142\n" +
            "   at Orleans.Runtime.Messaging.MessageCenter.<SendMessage>g__SendAsync|30_0(MessageCenter messageCenter, ValueTask`1 connectionTask, Message msg)";
        var line = FailurePolicy.WithoutStackTrace(rejection);
        Assert.EndsWith("ConnectionFailedException: Unable to connect to S127.0.0.1:21112:0, will retry after 998.9ms", line);
        Assert.DoesNotContain(" at Orleans", line);
        Assert.DoesNotContain("\n", line);
        Assert.Equal("The silo at 10.0.0.3 is not available.", FailurePolicy.WithoutStackTrace("The silo at 10.0.0.3 is not available.")); // "at" in a sentence stays
    }

    [Fact]
    public void Make_Scene_Reports_A_Bad_Value_Like_Every_Other_Command()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"uniclift-never-{Guid.NewGuid():N}");
        var (code, output, error) = Invoke(Cli.Build(), "make-scene", "--out", dir, "--seed", "1", "--test-every", "-1");
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.TrimEnd('\n', '\r').Split('\n'));
        Assert.StartsWith("error: ", line);
        Assert.Contains("-1", line);
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public void SegmentOfAFolderThatIsNoScene_IsBadInput_Exit2_NamingTheFolder()
    {
        // The scene fails inside the (embedded) cluster; its status says the failure was the input's.
        var scene = Directory.CreateTempSubdirectory("uniclift-noscene-").FullName;
        var output = Path.Combine(Path.GetTempPath(), $"uniclift-never-{Guid.NewGuid():N}");
        try
        {
            var (code, _, error) = Invoke(Cli.Build(), "segment", scene, "--out", output, "--iterations", "5");
            Assert.Equal(ExitCodes.UserError, code);
            Assert.Contains(scene, error);
            Assert.Contains("not a recognised scene layout", error);
        }
        finally
        {
            Directory.Delete(scene, true);
            if (Directory.Exists(output)) Directory.Delete(output, true);
        }
    }

    [Fact]
    public void Segment_With_A_Missing_Ply_Says_So_Before_Starting_A_Silo()
    {
        var scene = Directory.CreateTempSubdirectory("uniclift-noply-").FullName;
        var output = Path.Combine(Path.GetTempPath(), $"uniclift-never-{Guid.NewGuid():N}");
        var ply = Path.Combine(scene, "no-such-model.ply");
        try
        {
            var (code, _, error) = Invoke(Cli.Build(), "segment", scene, "--out", output, "--mode", "lift", "--ply", ply);
            Assert.Equal(ExitCodes.UserError, code);
            Assert.Equal($"error: --ply '{ply}' does not exist (lift mode's geometry: a trained 3DGS PLY).", error.Trim());
            Assert.False(Directory.Exists(output));
        }
        finally { Directory.Delete(scene, true); }
    }

    [Theory]
    [InlineData("--out '/' is the filesystem root", "segment", "{scene}", "--out", "/", "--iterations", "5")]
    [InlineData("--out is empty", "segment", "{scene}", "--out", "", "--iterations", "5")]
    [InlineData("--out is empty", "make-scene", "--out", "", "--seed", "1")]
    [InlineData("--out is empty", "demo", "--out", " ", "--iterations", "5")]
    [InlineData("--out is empty", "bench", "segment", "--out", "", "--seeds", "1")]
    public void An_Output_Folder_That_Is_Empty_Or_The_Filesystem_Root_Is_Bad_Input(string message, params string[] args)
    {
        // The root was taken as asked (segment spread model.ply, labels.ply, instance/ and report.html over "/", make-scene
        // a whole scene); "" was the runtime's "The value cannot be an empty string. (Parameter 'path')".
        var scene = Directory.CreateTempSubdirectory("uniclift-outroot-").FullName;
        try
        {
            var (code, output, error) = Invoke(Cli.Build(), [.. args.Select(a => a == "{scene}" ? scene : a)]);
            Assert.Equal(ExitCodes.UserError, code);
            Assert.Equal("", output);
            var line = Assert.Single(error.TrimEnd('\n', '\r').Split('\n'));
            Assert.Equal("error: ", line[..7]);
            Assert.Contains(message, line);
        }
        finally { Directory.Delete(scene, true); }
    }

    [Theory]
    [InlineData("Iterations must be at least 1, got 0", "--iterations", "0")]
    [InlineData("Device 'cuda:abc' is not one of cpu, cuda, cuda:N", "--device", "cuda:abc")]
    [InlineData("objects = 121: expected 1..120", "--objects", "121")]
    public void Demo_Refuses_A_Bad_Value_Before_It_Prints_Or_Writes_Anything(string message, string option, string value)
    {
        // --iterations 0 and --device cuda:abc were refused only after the scene was written; every bad value printed
        // the "making a synthetic scene" line first.
        var root = Path.Combine(Path.GetTempPath(), $"uniclift-never-{Guid.NewGuid():N}");
        var (code, output, error) = Invoke(Cli.Build(), "demo", "--out", root, "--views", "4", "--width", "32", option, value);
        Assert.Equal(ExitCodes.UserError, code);
        Assert.Equal("", output);
        Assert.Contains(message, Assert.Single(error.TrimEnd('\n', '\r').Split('\n')));
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void Demo_Refuses_A_Folder_Of_Other_Files()
    {
        // A scene folder given as --out got the demo's scene/ and result/ written into it.
        var root = Directory.CreateTempSubdirectory("uniclift-demo-out-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "transforms.json"), "{}");
            var (code, output, error) = Invoke(Cli.Build(), "demo", "--out", root, "--views", "4", "--width", "32");
            Assert.Equal(ExitCodes.UserError, code);
            Assert.Equal("", output);
            Assert.Contains($"--out {root} holds other files (transforms.json, ...)", error);
            Assert.Equal(["transforms.json"], Directory.EnumerateFileSystemEntries(root).Select(Path.GetFileName));
        }
        finally { Directory.Delete(root, true); }
    }

    private static (int Code, string Output, string Error) Invoke(Command command) =>
        Invoke(new RootCommand { command }, command.Name);

    private static (int Code, string Output, string Error) Invoke(RootCommand root, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (code, output.ToString(), error.ToString());
    }
}
