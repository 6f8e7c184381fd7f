namespace Monitoring.Channels;

/// <summary>
/// One delivery worker of a channel: the messages of its share of the channel's threads, recorded, sent in order
/// within a thread and reported to their sinks. A channel has <see cref="ChannelDeliveries.WorkersFor"/> of them, so
/// one channel is not one queue. Only its channel grain calls it, and it never calls its channel back: everything it
/// needs (the channel as stored, secrets sealed) comes with each call.
/// </summary>
[Alias("mcp.IChannelDeliveryGrain")]
public interface IChannelDeliveryGrain : IGrainWithStringKey
{
    /// <summary>Records the notification durably and answers; delivery goes on in the background.</summary>
    Task<EnqueueOutcome> EnqueueAsync(NotificationChannel stored, Notification notification);

    /// <summary>Takes the channel's new config, and carries on with what this worker's share left pending.</summary>
    Task ConfigureAsync(NotificationChannel stored);

    /// <summary>The channel was deleted: every pending message is reported failed, and the worker forgets them.</summary>
    Task StopAsync();

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
