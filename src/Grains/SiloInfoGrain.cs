namespace UniCLift.Grains;

using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using UniCLift.Grains.Hosting;

[StatelessWorker]
public sealed class SiloInfoGrain(IOptions<UniCLiftSiloOptions> options, ILocalSiloDetails silo) : Grain, ISiloInfoGrain
{
    public Task<SiloInfo> Describe()
    {
        var o = options.Value;
        var version = typeof(SiloInfoGrain).Assembly.GetName().Version?.ToString() ?? "0";
        return Task.FromResult(new SiloInfo(silo.Name, o.Compute, o.Device, o.TrainingSlots, version));
    }
}
