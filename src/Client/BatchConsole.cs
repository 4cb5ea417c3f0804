namespace UniCLift.Client;

using System.CommandLine;
using Orleans.Runtime;
using Spectre.Console;
using UniCLift.Client.Terminal;
using UniCLift.Compute.Training;
using UniCLift.Grains;

/// <summary>What the batch commands share: options, waiting with live progress, the summary table, exit codes.</summary>
internal static class BatchConsole
{
    /// <summary>How often a training scene's progress is logged when the output is not a terminal.</summary>
    public static readonly TimeSpan ProgressLogInterval = TimeSpan.FromSeconds(30);

    public static Option<string?> RedisOption() => new("--redis")
    {
        Description = $"Redis address host:port of the cluster's membership table (default: env {ClusterConnection.RedisEnvironmentVariable}; none: an embedded silo in this process)",
    };

    /// <summary>--masks: the input masks' folder, relative to each scene directory or absolute (JobOptions.Masks).</summary>
    public static Option<string?> MasksOption() => new("--masks")
    {
        Description = "the input masks' folder (label maps or Segment Anything's amg.py output), relative to each scene directory or absolute, " +
            "in place of the layout's own (3DGS output, nerfstudio and COLMAP scenes)",
    };

    /// <summary>--downscale N: train (and decode, score) at the images' size divided by N (JobOptions.Downscale).</summary>
    public static Option<int?> DownscaleOption() => new("--downscale")
    {
        Description = $"train at the images' size divided by N (1..{JobTraining.MaxDownscale}; each pixel the mean of an N x N block, masks by the block's centre); " +
            "label maps and PQ are at that size. Default 1; with --mode decode the factor the result records",
    };

    /// <summary>The --downscale value as JobOptions carries it: 1..16, or when not given 1 (a decode job: 0, the factor the
    /// result records).</summary>
    public static int Downscale(int? value, JobMode mode)
    {
        if (value is { } n && n is < 1 or > JobTraining.MaxDownscale)
            throw new ArgumentException($"--downscale must be between 1 and {JobTraining.MaxDownscale}, got {n}.");
        return value ?? (mode == JobMode.Decode ? 0 : 1);
    }

    /// <summary>Notes before a run that trains (none for <c>--mode decode</c>), which trains as asked: the scenes'
    /// (<see cref="NoteSceneAdvice"/>) and a lift's large model (<see cref="LiftModelNote"/>).</summary>
    public static void NoteBeforeRun(IEnumerable<string> sceneDirectories, JobOptions options, CommandConsole console)
    {
        if (options.Mode == JobMode.Decode) return;
        NoteSceneAdvice(sceneDirectories, options.Masks, options.TrainingDownscale(), console);
        if (LiftModelNote(options) is { } large) console.Note(large);
    }

    /// <summary>Notes before a run, which trains as asked: a training camera far off the others
    /// (<see cref="Compute.Scenes.SceneScale.FarCamera"/>), test views that the splits also train
    /// (<see cref="Compute.Scenes.Scene.SplitOverlapNote"/>), images with an EXIF orientation
    /// (<see cref="Compute.Scenes.SceneInspector.OrientationNote"/>), masks resampled to the images' size
    /// (<see cref="Compute.Scenes.SceneData.MaskResampleNote"/>), and for a scene trained at its images' size
    /// (<paramref name="downscale"/> 1) whose images are large, --downscale with a CPU run's peak memory
    /// (<see cref="Compute.Scenes.DownscaleAdvice"/>). A scene that cannot be read here says nothing: the run reports it.</summary>
    private static void NoteSceneAdvice(IEnumerable<string> sceneDirectories, string? masks, int downscale, CommandConsole console)
    {
        int more = 0;
        foreach (var dir in sceneDirectories)
        {
            string? line;
            try
            {
                var scene = Compute.Scenes.SceneInspector.Read(dir, masks);
                // A training camera far off the others (read here anyway): said for every scene that has one.
                if (Compute.Scenes.SceneScale.FarCameraNote(scene) is { } far) console.Note($"{dir}: {far}.");
                // Splits that name a frame in both (a layout without splits puts every frame in both, as documented: not said).
                if (scene.SplitOverlapNote is { } overlap) console.Note($"{dir}: {overlap}.");
                // Images a phone or camera marked for turning: their masks may have been made turned.
                if (Compute.Scenes.SceneInspector.OrientationNote(scene) is { } turned) console.Note($"{dir}: {turned}.");
                if (Compute.Scenes.SceneData.MaskResampleNote(scene) is { } resampled) console.Note($"{dir}: {resampled}.");
                line = downscale == 1 ? Compute.Scenes.DownscaleAdvice.Suggestion(scene) : null;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException) { continue; }
            if (line is null) continue;
            // One line for a batch: the first such scene's, and how many more there are.
            if (more++ == 0) console.Note($"{dir}: {line}");
        }
        if (more > 1) console.Note($"{more - 1} more of the scenes have images wider than {Compute.Scenes.DownscaleAdvice.SuggestAboveWidth} px.");
    }

    /// <summary>One line for a lift on a large model (<paramref name="options"/>' --ply holding at least
    /// <paramref name="noteFrom"/> Gaussians): the memory its Gaussians take in a CPU lift, about 3 GB a million (measured
    /// at 250k, 1M and 2M on 2026-12-08: 1.1, 3.1 and 6.0 GB peak with a small scene's images), or null. Reads the PLY's
    /// header only; a PLY that cannot be read says nothing here: the run reports it.</summary>
    public static string? LiftModelNote(JobOptions options, long noteFrom = 1_000_000)
    {
        if (options.Mode != JobMode.Lift || options.InitialPly is not { } ply || !File.Exists(ply)) return null;
        int count;
        try { count = Compute.IO.Ply.ElementCount(ply); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return null; }
        if (count < noteFrom) return null;
        return $"--ply '{ply}' holds {count:N0} Gaussians: a CPU lift takes about {3.0 * count / 1e6:0.#} GB of memory for them " +
               "(about 3 GB a million Gaussians, measured to 2 million), on top of the images' share.";
    }

    public static Option<string> ModeOption() => new("--mode")
    {
        Description = "train (whole 3DGS + embeddings), lift (geometry frozen from --ply) or decode (train nothing: decode the output directory's model.ply again, e.g. with other --decode settings)",
        DefaultValueFactory = _ => "train",
    };

    /// <summary>--iterations; <paramref name="defaultValue"/> null: the mode's default (TrainingOptions.DefaultIterations,
    /// train 2000, lift 500), so the value stays null unless given.</summary>
    public static Option<int?> IterationsOption(int? defaultValue = null)
    {
        var option = new Option<int?>("--iterations")
        {
            Description = defaultValue is null
                ? $"training iterations (default: {TrainingOptions.DefaultTrainIterations} in train mode, {TrainingOptions.DefaultLiftIterations} in lift mode)"
                : "training iterations",
        };
        if (defaultValue is { } d) option.DefaultValueFactory = _ => d;
        return option;
    }

    /// <summary>The --mode value as the grain messages carry it.</summary>
    public static JobMode Mode(string? text) => text switch
    {
        "train" => JobMode.Train,
        "lift" => JobMode.Lift,
        "decode" => JobMode.Decode,
        _ => throw new ArgumentException($"mode must be 'train', 'lift' or 'decode', got '{text}'."),
    };

    /// <summary>`--set Name=Value` (repeatable): a TrainingOptions knob for METHOD.md's open points; the JobOptions that carry
    /// them are validated before submitting (JobTraining.Validate).</summary>
    public static Option<string[]> SetOption() => new("--set")
    {
        Description = "training option Name=Value (repeatable), e.g. --set ClusterNormalisation=PerSegment; `uniclift bench segment --help` lists them",
    };

    /// <summary>The --set (or --decode) values, null when none.</summary>
    public static string[]? Settings(ParseResult parse, Option<string[]> set) =>
        parse.GetValue(set) is { Length: > 0 } values ? values : null;

    /// <summary>`--decode Name=Value` (repeatable): a DecodeOptions knob (JobOptions.Decode), validated before submitting.</summary>
    public static Option<string[]> DecodeOption() => new("--decode")
    {
        Description = "decode option Name=Value (repeatable), e.g. --decode SurfaceBorderShare=0.7 (Segment Anything masks outdoors) or --decode SpatialSplit=false; " +
            "`uniclift bench segment --help` lists them. With --mode decode a finished result is decoded again in seconds",
    };

    public static Option<ulong> SeedOption() => new("--seed")
    {
        Description = "random seed",
        DefaultValueFactory = _ => new TrainingOptions().Seed,
    };

    /// <summary>
    /// The full path of an output folder option's value (--out): an empty value or the filesystem root is bad input
    /// naming the option. The root was taken as asked, and a run (run as root) spread model.ply, labels.ply,
    /// instance/ and report.html, or a whole scene, over "/"; "" was the runtime's "The value cannot be an empty string.
    /// (Parameter 'path')", naming no option.
    /// </summary>
    public static string OutputFolder(string? value, string option = "--out")
    {
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"{option} is empty; name the folder to write into.");
        var full = Path.GetFullPath(value);
        if (Path.GetPathRoot(full) == full) throw new ArgumentException($"{option} '{value}' is the filesystem root; name a folder to write into.");
        return full;
    }

    /// <summary>
    /// A batch id argument: an empty or blank one is bad input saying so (it reached Orleans, whose refusal was "The value
    /// cannot be an empty string or composed entirely of whitespace. (Parameter 'primaryKey')"); surrounding blanks of a
    /// pasted id are dropped.
    /// </summary>
    public static string BatchId(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException("the batch id is empty; `uniclift status` lists the batches.");
        return value.Trim();
    }

    public static string NewBatchId() =>
        $"b{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Convert.ToHexString(Guid.NewGuid().ToByteArray(), 0, 2).ToLowerInvariant()}";

    /// <summary>
    /// Cancels a batch the interrupted command started and was waiting for, so that its scenes stop at their next
    /// training step wherever they train (on a remote cluster too, where they would otherwise go on without the
    /// command); bounded, so the command still exits within seconds.
    /// </summary>
    public static async Task CancelInterruptedAsync(ClusterConnection cluster, string batchId, CommandConsole console)
    {
        var client = cluster.Client;
        try
        {
            await client.GetGrain<ICoordinatorGrain>(batchId).Cancel().WaitAsync(TimeSpan.FromSeconds(3));
            console.Note($"batch {batchId} cancelled.");
        }
        catch (Exception e)
        {
            // The embedded silo stops with the command anyway (its scenes checkpoint and stop at their next step).
            if (!cluster.IsEmbedded)
                console.Warn($"batch {batchId} not cancelled ({e.GetType().Name}: {e.Message}); `uniclift cancel {batchId}` stops it.");
        }
    }

    /// <summary><see cref="ExitCodes.Ok"/> when every scene is done; <see cref="ExitCodes.BatchCancelled"/> or
    /// <see cref="ExitCodes.Failure"/> with one line saying why otherwise.</summary>
    public static int ExitCode(BatchStatus status, CommandConsole console)
    {
        if (status.Cancelled)
        {
            console.Error($"batch {status.BatchId} was cancelled.");
            return ExitCodes.BatchCancelled;
        }
        var failed = status.Scenes.Where(s => s.Status.State != SceneState.Done).ToList();
        if (failed.Count == 0) return ExitCodes.Ok;
        console.Error($"{failed.Count} of {status.Scenes.Count} scenes failed; first: {failed[0].SceneDirectory}: {failed[0].Status.Error ?? failed[0].Status.State.ToString()}");
        // Every failure the input's (a scene folder that does not exist, a malformed file): 2, as `segment` exits for the
        // same scene; it was 1, which says "something broke", for what only the user can fix.
        return failed.All(s => s.Status is { State: SceneState.Failed, BadInput: true }) ? ExitCodes.UserError : ExitCodes.Failure;
    }

    /// <summary>
    /// When scenes of the unfinished batch wait to start because no silo in the cluster can train (no compute silo has
    /// reported its training slots: every silo is a control silo, UniCLift:Compute=false), one line saying so; null
    /// otherwise (also when the table cannot be read now). The batch does not fail for it: a compute silo that joins
    /// later (a node pool scaling up, a rollout of the compute silos) starts its scenes.
    /// </summary>
    public static async Task<string?> NoComputeSiloAsync(IClusterClient client, BatchStatus status)
    {
        int waiting = status.Scenes.Count(s => s.Status.State == SceneState.NotSubmitted);
        if (status.IsFinished || status.Cancelled || waiting == 0) return null;
        try
        {
            if ((await client.GetGrain<IComputeLoadGrain>(0).List().WaitAsync(TimeSpan.FromSeconds(10))).Count > 0) return null;
        }
        catch (Exception e) when (ClusterCalls.IsTransient(e)) { return null; }
        return $"no silo in the cluster can train: none runs with UniCLift:Compute=true (every silo is a control silo); " +
            $"{waiting} of {status.Scenes.Count} scenes of batch {status.BatchId} wait and start when a compute silo joins " +
            $"(`uniclift cancel {status.BatchId}` stops the batch).";
    }

    /// <summary>Polls the batch until it finishes, with live progress bars on a terminal and state-change lines otherwise.</summary>
    public static async Task<BatchStatus> WaitAsync(IClusterClient client, string batchId, CommandConsole console, CancellationToken ct)
    {
        var coordinator = client.GetGrain<ICoordinatorGrain>(batchId);
        var poll = new StatusPoll(client, coordinator, console);
        var status = await poll.NextAsync(ct);
        if (!console.Out.Profile.Capabilities.Interactive)
        {
            // A log (output redirected): a line when a scene changes state, and at least every ProgressLogInterval
            // while it trains (step, loss, Gaussians, ETA), so a long run shows it is moving.
            var seen = new Dictionary<string, (SceneState State, DateTime At)>();
            while (true)
            {
                var now = DateTime.UtcNow;
                foreach (var s in status.Scenes)
                {
                    if (seen.TryGetValue(s.SceneId, out var last) && last.State == s.Status.State
                        && (s.Status.State != SceneState.Training || now - last.At < ProgressLogInterval)) continue;
                    seen[s.SceneId] = (s.Status.State, now);
                    console.OutWriter.WriteLine($"{s.SceneId}: {Describe(s)}");
                }
                if (status.IsFinished) return status;
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                status = await poll.NextAsync(ct);
            }
        }

        await console.Out.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left },
                     new ProgressBarColumn { Width = BarWidth }, new PercentageColumn(),
                     new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var bars = status.Scenes.ToDictionary(s => s.SceneId, s => ctx.AddTask(s.SceneId, maxValue: Math.Max(1, s.Status.Iterations)));
                while (true)
                {
                    foreach (var s in status.Scenes)
                    {
                        var bar = bars[s.SceneId];
                        bar.MaxValue = Math.Max(1, s.Status.Iterations);
                        bar.Value = Math.Min(s.Status.Step, bar.MaxValue);
                        bar.Description = Markup.Escape(BarText(s, batchId, console.Out.Profile.Width - BarColumnsWidth));
                        if (s.Status.State.IsTerminal()) bar.StopTask();
                    }
                    if (status.IsFinished) return;
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                    status = await poll.NextAsync(ct);
                }
            });
        return status;
    }

    /// <summary>How long the wait goes on polling a cluster that does not answer (a silo died and its grains are being
    /// placed again: membership needs up to about 30 s at production settings) before it gives up.</summary>
    public static readonly TimeSpan ClusterPatience = TimeSpan.FromMinutes(3);

    /// <summary>
    /// The batch's status, polled through silo failures: while the coordinator's silo dies and the coordinator is
    /// activated again elsewhere (its state is in Redis), calls fail for a while; the wait says so once, keeps polling
    /// and says when the cluster answers again, instead of ending the command while the batch goes on.
    /// </summary>
    private sealed class StatusPoll(IClusterClient client, ICoordinatorGrain coordinator, CommandConsole console)
    {
        private DateTime _lastAnswer = DateTime.UtcNow;
        private bool _failing;
        private DateTime _computeChecked = DateTime.MinValue;
        private bool _noCompute;

        public async Task<BatchStatus> NextAsync(CancellationToken ct)
        {
            while (true)
            {
                try
                {
                    var status = await coordinator.GetBatchStatus().WaitAsync(ct);
                    if (_failing) console.ErrorWriter.WriteLine("uniclift: the cluster answers again.");
                    _failing = false;
                    _lastAnswer = DateTime.UtcNow;
                    await CheckComputeAsync(status);
                    return status;
                }
                catch (Exception e) when (ClusterCalls.IsTransient(e) && !ct.IsCancellationRequested && DateTime.UtcNow - _lastAnswer < ClusterPatience)
                {
                    if (!_failing)
                        console.ErrorWriter.WriteLine($"uniclift: the cluster did not answer ({e.GetType().Name}: {Compute.FailurePolicy.WithoutStackTrace(e.Message)}); " +
                            $"the batch goes on; retrying for up to {ClusterPatience.TotalMinutes:0} min.");
                    _failing = true;
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                }
            }
        }

        /// <summary>
        /// Says once when the batch's scenes wait because no silo can train them (the wait went on in silence, each scene
        /// "notsubmitted", for as long as the cluster had control silos only), and once when a compute silo has joined;
        /// looked at every 5 s while scenes wait.
        /// </summary>
        private async Task CheckComputeAsync(BatchStatus status)
        {
            const string joined = "a compute silo has joined the cluster; the batch's scenes start.";
            bool waiting = !status.IsFinished && status.Scenes.Any(s => s.Status.State == SceneState.NotSubmitted);
            if (!waiting)
            {
                if (_noCompute) console.Note(joined); // its scenes started: a compute silo is there
                _noCompute = false;
                return;
            }
            if (DateTime.UtcNow - _computeChecked < TimeSpan.FromSeconds(5)) return;
            _computeChecked = DateTime.UtcNow;
            var line = await NoComputeSiloAsync(client, status);
            if (line is not null && !_noCompute) console.Note(line);
            else if (line is null && _noCompute) console.Note(joined);
            _noCompute = line is not null;
        }
    }

    /// <summary>The progress bar's width, and what the columns beside the description take with it (bar, percentage,
    /// time left, spinner, the gaps between them).</summary>
    private const int BarWidth = 20, BarColumnsWidth = BarWidth + 5 + 9 + 2 + 5;

    /// <summary>A scene's text beside its bar on a terminal, at most <paramref name="room"/> characters (at least 16): the
    /// scene without its batch id, its state and step, then what fits of the loss, Gaussians, resumes, retries and PQ.
    /// The whole <see cref="Describe"/> line (about 150 characters) left Spectre no room for the rest of the line at 80,
    /// 100 or 120 columns: every refresh drew "…" alone.</summary>
    internal static string BarText(BatchSceneStatus s, string batchId, int room)
    {
        room = Math.Max(16, room);
        var st = s.Status;
        var name = s.SceneId.StartsWith(batchId + ".", StringComparison.Ordinal) ? s.SceneId[(batchId.Length + 1)..] : s.SceneId;
        var parts = new List<string> { name, StateText(st.State).ToLowerInvariant() };
        if (st.Iterations > 0 && st.State is not (SceneState.NotSubmitted or SceneState.Queued or SceneState.Loading)) parts.Add($"{st.Step}/{st.Iterations}");
        var more = new List<string>();
        if (st.Losses is { } l) more.Add($"loss {l.Total:F4}");
        if (st.Gaussians > 0) more.Add($"{st.Gaussians:N0} G");
        if (st.Resumes > 0) more.Add($"resumes {st.Resumes}");
        if (s.Retries > 0) more.Add($"retries {s.Retries}");
        if (st.PqScene is { } pq) more.Add($"PQ {pq:F3}");
        var text = string.Join(" ", parts);
        foreach (var m in more)
        {
            if (text.Length + 2 + m.Length > room) break;
            text += ", " + m;
        }
        return text.Length <= room ? text : text[..(room - 1)] + "…";
    }

    public static string Describe(BatchSceneStatus s)
    {
        var st = s.Status;
        var parts = new List<string> { StateText(st.State).ToLowerInvariant() };
        if (st.State is SceneState.Training or SceneState.Trained or SceneState.Decoding or SceneState.Done
            || (st.State is SceneState.Cancelled or SceneState.Failed) && st.Step > 0)
            parts.Add($"step {st.Step}/{st.Iterations}");
        if (st.Losses is { } l) parts.Add($"loss {l.Total:F4} (rgb {l.Render:F4} clu {l.Cluster:F3} tri {l.Triplet:F3} 3d {l.Smooth:F3})");
        if (st.Gaussians > 0) parts.Add($"{st.Gaussians:N0} G");
        if (st.State == SceneState.Training && st.MillisecondsPerStep > 0)
            parts.Add($"eta {TimeSpan.FromMilliseconds(st.MillisecondsPerStep * (st.Iterations - st.Step)):hh\\:mm\\:ss}");
        if (st.Resumes > 0) parts.Add($"resumes {st.Resumes}");
        if (s.Retries > 0) parts.Add($"retries {s.Retries}");
        if (st.PqScene is { } pq) parts.Add($"PQ {pq:F3}");
        if (st.Error is { } e) parts.Add($"error: {e.TrimEnd('.')}"); // a sentence's stop before ", on SILO" read "., on"
        else if (s.Failures is [.., var last]) parts.Add($"earlier failure: {last}");
        if (st.Silo is { } silo && st.State is not SceneState.NotSubmitted) parts.Add($"on {silo}");
        return string.Join(", ", parts);
    }

    public static void PrintSummary(BatchStatus status, CommandConsole console)
    {
        var table = new Table().AddColumns("scene", "state", "steps", "time", "PQ^scene", "retries", "resumes", "output / error");
        foreach (var s in status.Scenes)
        {
            var st = s.Status;
            table.AddRow(
                Markup.Escape(s.SceneDirectory), StateText(st.State), st.Iterations > 0 ? $"{st.Step}/{st.Iterations}" : "-",
                $"{st.Seconds:F1} s", st.PqScene is { } pq ? pq.ToString("F4", System.Globalization.CultureInfo.InvariantCulture) : "-",
                s.Retries.ToString(System.Globalization.CultureInfo.InvariantCulture), st.Resumes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(st.Error ?? st.OutputDirectory ?? ""));
        }
        console.Out.Write(table);
        foreach (var s in status.Scenes.Where(s => s.Failures is { Count: > 0 }))
            foreach (var failure in s.Failures!) console.OutWriter.WriteLine($"{s.SceneDirectory}: {failure}");
        var finished = status.FinishedUtc is { } f ? $"finished in {(f - status.SubmittedUtc).TotalSeconds:F1} s" : "running";
        console.OutWriter.WriteLine($"batch {status.BatchId}: {status.Done} done, {status.Failed} failed of {status.Scenes.Count}, {finished}{(status.Cancelled ? ", cancelled" : "")}");
    }

    /// <summary>A state as the console names it: a scene the coordinator has not started yet (no free training slot, or
    /// no compute silo) "Waiting", not the enum's "NotSubmitted" (the batch was submitted).</summary>
    public static string StateText(SceneState state) => state == SceneState.NotSubmitted ? "Waiting" : state.ToString();
}
