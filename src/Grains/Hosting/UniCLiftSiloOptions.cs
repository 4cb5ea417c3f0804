namespace UniCLift.Grains.Hosting;

/// <summary>Silo configuration section "UniCLift" (appsettings or env UniCLift__...).</summary>
public sealed class UniCLiftSiloOptions
{
    public const string Section = "UniCLift";

    /// <summary>localhost (embedded/dev) or redis.</summary>
    public string Clustering { get; set; } = "localhost";

    /// <summary>Redis connection string (host:port[,options]) when Clustering is redis.</summary>
    public string? Redis { get; set; }

    public string ClusterId { get; set; } = "uniclift";
    public string ServiceId { get; set; } = "uniclift";

    /// <summary>Whether this silo trains scenes (has a GPU, or is the CPU compute silo in dev).</summary>
    public bool Compute { get; set; } = true;

    /// <summary>How many trainings run at once on this silo (one per GPU by default).</summary>
    public int TrainingSlots { get; set; } = 1;

    /// <summary>Torch device: cpu, or cuda / cuda:N with a CUDA TorchSharp build.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>The scene roots of a silo that configures none: the scenes' folder of the volume in k8s/.</summary>
    public static readonly IReadOnlyList<string> DefaultSceneRoots = ["/data/scenes"];

    /// <summary>The output roots of a silo that configures none: the results' folder of the volume in k8s/.</summary>
    public static readonly IReadOnlyList<string> DefaultOutputRoots = ["/data/results"];

    /// <summary>
    /// Directories a client's scenes (and the files their layouts name) may be read from; any other path a request
    /// names is refused (Security.DataRoots). Null: <see cref="DefaultSceneRoots"/>. Configuration: a list
    /// (UniCLift:SceneRoots:0, :1, ...) or one value with ':' between directories (env UniCLift__SceneRoots=/a:/b).
    /// "/" lets clients read anything the process can: only for a silo nobody else can reach.
    /// </summary>
    public string[]? SceneRoots { get; set; }

    /// <summary>
    /// Directories results may be written to (and read back from: a trained model, a lift's --ply). Null:
    /// <see cref="DefaultOutputRoots"/>. Configured like <see cref="SceneRoots"/>. The checkpoint directory is never an
    /// output, even inside an output root.
    /// </summary>
    public string[]? OutputRoots { get; set; }

    /// <summary>
    /// Shared checkpoint directory (a mounted volume in a cluster). A scene's checkpoints go into a folder named from its
    /// id (SceneCheckpoints.DirectoryName: a sanitised name and a hash), never joined from the raw key.
    /// </summary>
    public string CheckpointDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "uniclift-checkpoints");

    /// <summary>Checkpoint every this many iterations (and always at the end of training), but no sooner than
    /// <see cref="CheckpointMinInterval"/> after the previous checkpoint (<see cref="Scenes.CheckpointCadence"/>).</summary>
    public int CheckpointInterval { get; set; } = 200;

    /// <summary>The least time between a training's periodic checkpoints: on a GPU 200 iterations take about a second,
    /// and a paper-scale checkpoint is a few hundred MB. Zero: every <see cref="CheckpointInterval"/> iterations.</summary>
    public TimeSpan CheckpointMinInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How many checkpoints per scene to keep (the newest).</summary>
    public int CheckpointsToKeep { get; set; } = 2;

    /// <summary>
    /// How many checkpoints of a scene stay once it is Done or Cancelled (the newest; 0 deletes them and the scene's
    /// checkpoint directory). The console's embedded silo uses 0, so repeated runs do not fill the temp directory.
    /// </summary>
    public int CheckpointsKeptWhenDone { get; set; } = 1;

    /// <summary>
    /// A compute silo whose Device is not cpu checks it as it starts (CudaRuntime: CUDA libtorch, driver, NVRTC,
    /// architecture); if the check fails the silo reports the reason and gets no scenes. Off: the first scene that
    /// fails on the device marks it (and is retried elsewhere).
    /// </summary>
    public bool CheckDeviceAtStart { get; set; } = true;

    /// <summary>How often each compute silo reports its training slots for placement (ComputeLoad).</summary>
    public TimeSpan LoadReportInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The batch index (uniclift status) keeps at most this many batches, the newest.</summary>
    public int BatchesToKeep { get; set; } = 1000;

    /// <summary>The batch index forgets batches submitted longer ago than this.</summary>
    public TimeSpan BatchRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Period of the scene and batch supervision reminders (Orleans' minimum is lowered to match).</summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// At most this many trained scenes go into one batch-wide decoding pass. A pass starts when no scene of the batch
    /// is still waiting or training (so a batch normally decodes in one pass), or earlier once this many are trained.
    /// </summary>
    public int DecodeGroupSize { get; set; } = 16;

    /// <summary>How often a coordinator polls its scenes.</summary>
    public TimeSpan SupervisionInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Orleans Kubernetes hosting (silo name = pod name, advertised address = pod IP, dead pods' silos declared dead).
    /// Null: on when env POD_NAMESPACE and POD_NAME are both set (the downward API in k8s/base). Needs redis clustering.
    /// Only the silo program reads it (src/Silo, KubernetesHosting); an embedded or test silo ignores it.
    /// </summary>
    public bool? Kubernetes { get; set; }

    /// <summary>Silo name (default: Orleans picks one; under Kubernetes hosting, the pod name).</summary>
    public string? SiloName { get; set; }

    /// <summary>
    /// The address this silo gives other silos and clients (in Redis clustering): an IP address, or a host name resolved
    /// once at start (its first IPv4 address). It also listens there, unless <see cref="ListenOnAnyAddress"/>. Null: the
    /// host's first non-loopback IPv4 address that is up, or 127.0.0.1 when it has none (a one-machine cluster).
    /// Kubernetes hosting replaces it with the pod's IP.
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>Listen on every address (0.0.0.0) while advertising <see cref="AdvertisedAddress"/>: behind NAT or a
    /// container's port mapping. Kubernetes hosting always does.</summary>
    public bool ListenOnAnyAddress { get; set; }

    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;
}
