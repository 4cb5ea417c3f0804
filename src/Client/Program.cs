namespace UniCLift.Client;

public static class Program
{
    public static Task<int> Main(string[] args) => Cli.RunAsync(args);
}
