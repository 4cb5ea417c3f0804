namespace UniCLift.Grains.Hosting;

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

/// <summary>The one place a UniCLift silo is configured; the Silo host and the client's embedded silo both call it.</summary>
public static class SiloBuilderExtensions
{
    public static IHostApplicationBuilder AddUniCLiftSilo(this IHostApplicationBuilder builder, Action<UniCLiftSiloOptions>? configure = null)
    {
        var options = new UniCLiftSiloOptions();
        builder.Configuration.GetSection(UniCLiftSiloOptions.Section).Bind(options);
        configure?.Invoke(options);
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        builder.Services.AddUniCLiftMetrics(); // grains inject UniCLiftMetrics on every silo, exporter or not

        builder.UseOrleans(silo =>
        {
            silo.Configure<Orleans.Configuration.ClusterOptions>(c =>
            {
                c.ClusterId = options.ClusterId;
                c.ServiceId = options.ServiceId;
            });
            switch (options.Clustering.ToLowerInvariant())
            {
                case "localhost":
                    silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort);
                    break;
                case "redis":
                    if (string.IsNullOrWhiteSpace(options.Redis))
                        throw new InvalidOperationException("UniCLift:Clustering is 'redis' but UniCLift:Redis (host:port) is not set.");
                    var redis = ConfigurationOptions.Parse(options.Redis);
                    silo.UseRedisClustering(o => o.ConfigurationOptions = redis);
                    silo.ConfigureEndpoints(options.SiloPort, options.GatewayPort);
                    break;
                default:
                    throw new InvalidOperationException($"UniCLift:Clustering must be 'localhost' or 'redis', not '{options.Clustering}'.");
            }
        });
        return builder;
    }
}
