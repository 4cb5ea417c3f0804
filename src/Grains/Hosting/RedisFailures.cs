namespace UniCLift.Grains.Hosting;

/// <summary>How a StackExchange.Redis connection failure is said in one line, by the console and by the silo program.</summary>
public static class RedisFailures
{
    /// <summary>The first sentence of <paramref name="message"/>, its period kept (the whole message when it has one
    /// sentence): StackExchange.Redis goes on to advise a connection-string setting (abortConnect=false) meant for its
    /// callers, no use to whoever reads the line.</summary>
    public static string FirstSentence(string message)
    {
        int end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }
}
