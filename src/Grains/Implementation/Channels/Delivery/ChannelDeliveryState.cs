namespace Monitoring.Channels.Delivery;

/// <summary>What a delivery worker remembers besides the outbox rows: its threads' reply references and a counter.</summary>
[GenerateSerializer, Alias("mcp.ChannelDeliveryState")]
public sealed class ChannelDeliveryState
{
    [Id(0), JsonPropertyName("Threads")] public Dictionary<string, ThreadRef> Threads { get; set; } = new(StringComparer.Ordinal);

    [Id(1), JsonPropertyName("HeldTotal")] public long HeldTotal { get; set; }

    /// <summary>The most threads a worker remembers; the oldest are forgotten first.</summary>
    public const int MaxThreads = 1000;

    /// <summary>Keeps a thread's first reply reference; answers whether it is new.</summary>
    public bool Remember(string thread, string reference, DateTimeOffset now)
    {
        if (!Threads.TryAdd(thread, new ThreadRef(reference, now))) return false;
        if (Threads.Count > MaxThreads)
        {
            foreach (var old in Threads.OrderBy(t => t.Value.At).Take(Threads.Count - MaxThreads).ToList()) Threads.Remove(old.Key);
        }
        return true;
    }
}
