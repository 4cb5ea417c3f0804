namespace UniCLift.Silo;

using UniCLift.Grains.Hosting;
using UniCLift.Silo.Telemetry;
using UniCLift.Grains.Security;

/// <summary>Builds the silo web host; Program.cs runs it and the ops tests start the very same host.</summary>
public static class SiloHost
{
    /// <summary>
    /// How long the host waits for the silo to stop (shutdown checkpoints, leaving the cluster). Kept below the
    /// pods' terminationGracePeriodSeconds (k8s/base) so Kubernetes does not kill the process mid-checkpoint.
    /// </summary>
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(100);

    /// <exception cref="SiloOptionsException">A setting's value cannot work (the program exits 2).</exception>
    /// <param name="args">Command line; also a configuration source (e.g. --urls=..., --UniCLift:SiloPort=...).</param>
    /// <param name="configure">Last changes to the builder before the silo is added (tests: extra configuration).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The program's own folder is the content root, wherever it is started from: its appsettings.json (the log levels
        // that keep Orleans', ASP.NET's and Polly's information lines out) was read only when started from that folder.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        configure?.Invoke(builder);
        SiloOptionsCheck.Check(builder.Configuration);
        SiloPorts.EnsureFree(builder.Configuration);
        UniCLiftSiloOptions options = null!; // the bound options, seen by the Kubernetes step that runs after them
        builder.AddUniCLiftSilo(o => options = o, silo =>
        {
            KubernetesHosting.Configure(silo, options, builder.Configuration);
            silo.UseUniCLiftTls(builder.Configuration); // TLS only when UniCLift:Tls is set
        });
        builder.AddUniCLiftTelemetry();

        var app = builder.Build();
        app.MapGet("/", () => "UniCLift silo");
        app.MapUniCLiftEndpoints();
        return app;
    }
}
