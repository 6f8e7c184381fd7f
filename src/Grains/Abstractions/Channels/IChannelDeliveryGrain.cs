namespace Monitoring.Channels;

/// <summary>
/// One delivery worker of a channel: the messages of its share of the channel's threads, recorded, sent in order
/// within a thread and reported to their sinks. A channel has <see cref="ChannelDeliveries.WorkersFor"/> of them, so
/// one channel is not one queue. Senders hand it their messages directly (with the channel as their silo's copy has
/// it); its channel grain gives it new config and stops it. It never calls either back: everything it needs (the
/// channel as stored, secrets sealed) comes with each call.
/// </summary>
[Alias("mcp.IChannelDeliveryGrain")]
public interface IChannelDeliveryGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records the notification durably and answers; delivery goes on in the background. A key the channel already
    /// holds is not recorded twice; a message sent with the config of a channel since deleted is refused (unknown channel).
    /// </summary>
    Task<EnqueueOutcome> EnqueueAsync(NotificationChannel stored, Notification notification);

    /// <summary>Takes the channel's new config, and carries on with what this worker's share left pending.</summary>
    Task ConfigureAsync(NotificationChannel stored);

    /// <summary>
    /// The channel was deleted: every pending message is reported failed, the worker forgets them, and it refuses any
    /// message sent later with that channel's config or an older one (a sender's copy a moment behind).
    /// </summary>
    Task StopAsync(NotificationChannel deleted);

    /// <summary>What is pending or held here, newest first, and the counts.</summary>
    [AlwaysInterleave]
    Task<WorkerBacklog> GetBacklogAsync(int limit);

    /// <summary>Finishes these messages as cancelled, if they are still waiting (one on its way goes on).</summary>
    Task CancelAsync(string[] keys, string reason);

    /// <summary>Takes the reply references (Slack's ts) of its threads that the channel kept before it had workers.</summary>
    Task AdoptThreadsAsync(Dictionary<string, ThreadRef> threads);
}

/// <summary>A worker's unfinished messages: the newest, how many in all, how many held by a rate limit, and held ever.</summary>
[GenerateSerializer, Immutable, Alias("mcp.WorkerBacklog")]
public sealed record WorkerBacklog(
    [property: Id(0)] DeliveryRecord[] Newest,
    [property: Id(1)] int Pending,
    [property: Id(2)] int Held,
    [property: Id(3)] long HeldTotal);

/// <summary>The receiver's reference of a thread's first message (Slack's ts), for replies in its thread.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ThreadRef")]
public sealed record ThreadRef([property: Id(0), JsonPropertyName("Ref")] string Ref, [property: Id(1), JsonPropertyName("At")] DateTimeOffset At);

/// <summary>
/// A channel as its senders need it: the stored channel (secrets sealed; null when there is none) and how many
/// delivery workers share its messages, under a version that changes with every save and delete.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.ChannelRoute")]
public sealed record ChannelRoute([property: Id(0)] long Version, [property: Id(1)] NotificationChannel? Stored, [property: Id(2)] int Workers)
{
    /// <summary>Not asked yet: a version no channel has, so the first ask always answers.</summary>
    public static readonly ChannelRoute Unknown = new(long.MinValue, null, 0);

    /// <summary>A version of the stored channel (0 when there is none): the first 8 bytes of the SHA-256 of its JSON.</summary>
    public static long VersionOf(NotificationChannel? stored)
    {
        if (stored is null) return 0;
        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(stored), hash);
        var version = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(hash);
        return version is 0 or long.MinValue ? 1 : version;
    }
}

/// <summary>How a channel's messages spread over its delivery workers.</summary>
public static class ChannelDeliveries
{
    /// <summary>
    /// Workers of a channel: one when it has a rate limit of its own (its bucket and its order stay exact), otherwise
    /// <paramref name="workers"/>.
    /// </summary>
    public static int WorkersFor(bool rateLimited, int workers) => rateLimited ? 1 : Math.Max(1, workers);

    /// <summary>The worker of a thread: a stable hash (FNV-1a) of its key, the same on every silo and after restarts.</summary>
    public static int ShardOf(string threadKey, int workers)
    {
        if (workers <= 1) return 0;
        var hash = 2166136261u;
        foreach (var c in threadKey)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash % (uint)workers);
    }

    public static string KeyOf(string channelId, int shard) => $"{channelId}/{shard}";

    public static IChannelDeliveryGrain Worker(IGrainFactory grains, string channelId, int shard) =>
        grains.GetGrain<IChannelDeliveryGrain>(KeyOf(channelId, shard));
}
