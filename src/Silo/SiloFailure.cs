namespace UniCLift.Silo;

using Microsoft.AspNetCore.Connections;
using StackExchange.Redis;
using UniCLift.Compute;
using UniCLift.Grains.Hosting;

/// <summary>
/// What the silo program says and exits with when it cannot build or start, as the `uniclift` console does
/// (src/Client/Terminal/ExitCodes.cs): one line on stderr, "error: ...", no stack trace; exit 2 when a setting is wrong
/// (<see cref="FailurePolicy.IsBadInput"/>: <see cref="SiloOptionsException"/> and the like), 1 for the environment
/// (Redis unreachable, a port in use) and anything else. Orleans' and ASP.NET Core's own log lines stay above it.
/// </summary>
public static partial class SiloFailure
{
    public const int Failure = 1;
    public const int BadInput = 2;

    /// <summary>The exit code and the one line for <paramref name="e"/>.</summary>
    public static (int ExitCode, string Line) Describe(Exception e)
    {
        var inner = FailurePolicy.Unwrap(e);
        if (FailurePolicy.IsBadInput(inner)) return (BadInput, OneLine(inner.Message));
        string text = inner switch
        {
            // StackExchange.Redis' advice (abortConnect=false) is for its callers, not for the operator; Orleans' Redis
            // providers wrap its exception as text ("StackExchange.Redis.RedisConnectionException: It was not ...").
            _ when Chain(inner).FirstOrDefault(IsRedis) is { } redis =>
                $"Redis (UniCLift:Redis): {RedisFailures.FirstSentence(TypePrefix().Replace(redis.Message, ""))}",
            // Kestrel's bind failure names the URL; Orleans' names nothing, so say which settings it comes from.
            IOException { InnerException: AddressInUseException } => inner.Message,
            AddressInUseException or System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse } =>
                $"{inner.Message} (the silo's UniCLift:SiloPort or UniCLift:GatewayPort)",
            _ => FailurePolicy.Describe(inner),
        };
        return (Failure, OneLine(text));
    }

    /// <summary>Writes "error: LINE" to <paramref name="error"/> and returns the exit code.</summary>
    public static int Report(Exception e, TextWriter error)
    {
        var (code, line) = Describe(e);
        error.WriteLine($"error: {line}");
        return code;
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }

    private static bool IsRedis(Exception e) => e is RedisException || e.GetType().Name.Contains("Redis", StringComparison.Ordinal);

    [System.Text.RegularExpressions.GeneratedRegex(@"^(?:[\w.`]+Exception: )+")]
    private static partial System.Text.RegularExpressions.Regex TypePrefix();

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
