namespace Monitoring.Channels.Delivery;

/// <summary>What a delivery worker remembers besides the outbox rows: its threads' reply references, a counter, and whether its channel was deleted.</summary>
[GenerateSerializer, Alias("mcp.ChannelDeliveryState")]
public sealed class ChannelDeliveryState
{
    [Id(0), JsonPropertyName("Threads")] public Dictionary<string, ThreadRef> Threads { get; set; } = new(StringComparer.Ordinal);

    [Id(1), JsonPropertyName("HeldTotal")] public long HeldTotal { get; set; }

    /// <summary>
    /// Set when its channel was deleted: when the deleted channel was last saved, and its version
    /// (<see cref="ChannelRoute.VersionOf"/>). A message that comes with that config, or one saved before it, is from a
    /// sender's copy a moment behind, and is refused.
    /// </summary>
    [Id(2), JsonPropertyName("RetiredAt")] public DateTimeOffset? RetiredAt { get; set; }

    [Id(3), JsonPropertyName("RetiredVersion")] public long RetiredVersion { get; set; }

    /// <summary>Whether this config is the deleted channel's, or older.</summary>
    public bool Retires(NotificationChannel stored) =>
        RetiredAt is { } at && (stored.UpdatedAt < at || stored.UpdatedAt == at && ChannelRoute.VersionOf(stored) == RetiredVersion);

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
