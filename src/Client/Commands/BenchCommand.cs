namespace UniCLift.Client.Commands;

using System.CommandLine;

/// <summary>`uniclift bench ...`: micro-benchmarks of the compute kernels. Subcommands register in <see cref="Create"/>.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmark compute kernels on generated data.");
        bench.Subcommands.Add(BenchRasterCommand.Create());
        bench.Subcommands.Add(BenchSegmentCommand.Create());
        return bench;
    }
}
