using Monitoring.Channels.Delivery;

namespace Monitoring.Channels;

/// <summary>The channel itself. Small: the outbox lives in the <see cref="IOutboxStore"/>, one row per notification.</summary>
[GenerateSerializer, Alias("mcp.ChannelState")]
public sealed class ChannelState
{
    [Id(0), JsonPropertyName("Channel")] public NotificationChannel? Channel { get; set; }

    /// <summary>Where the outbox lived before the outbox store; an activation moves what it finds here into the store.</summary>
    [Id(1), JsonPropertyName("Outbox")] public List<OutboxEntry> LegacyOutbox { get; set; } = [];

    /// <summary>Messages held by a rate limit before delivery workers counted their own.</summary>
    [Id(4), JsonPropertyName("HeldTotal")] public long HeldTotal { get; set; }
}

/// <summary>What a channel kept beside its outbox before the outbox store and delivery workers: moved out on activation.</summary>
[GenerateSerializer, Alias("mcp.ChannelLogState")]
public sealed class ChannelLogState
{
    /// <summary>Where the delivery log lived before the outbox store; an activation moves it into the store.</summary>
    [Id(0), JsonPropertyName("Log")] public List<DeliveryRecord> LegacyLog { get; set; } = [];

    /// <summary>Where the threads' reply references lived before delivery workers; an activation gives them to the workers.</summary>
    [Id(1), JsonPropertyName("Threads")] public Dictionary<string, ThreadRef> Threads { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>What a channel kept in its grain state before the outbox store and its delivery workers, moved out once.</summary>
internal static class ChannelLegacyState
{
    /// <summary>
    /// Moves the log and the outbox into the store and the thread references to the worker of each thread, and empties
    /// them in the states. Answers whether there was anything to move: then the caller writes both states.
    /// </summary>
    public static async Task<bool> MoveAsync(ChannelState s, ChannelLogState log, IOutboxStore outbox, string channelId,
        Func<string, IChannelDeliveryGrain> workerOf, ILogger logger)
    {
        if (s.LegacyOutbox.Count == 0 && log.LegacyLog.Count == 0 && log.Threads.Count == 0) return false;
        foreach (var record in Enumerable.Reverse(log.LegacyLog)) await outbox.FinishAsync(channelId, record);
        foreach (var entry in s.LegacyOutbox) await outbox.TryRecordAsync(channelId, entry);
        foreach (var shard in log.Threads.GroupBy(t => workerOf(t.Key).GetGrainId()))
        {
            await workerOf(shard.First().Key).AdoptThreadsAsync(shard.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal));
        }
        logger.LogInformation("Channel {ChannelId}: moved {Pending} pending notifications and {Finished} log entries into the outbox store, and {Threads} threads to its workers",
            channelId, s.LegacyOutbox.Count, log.LegacyLog.Count, log.Threads.Count);
        s.LegacyOutbox = [];
        log.LegacyLog = [];
        log.Threads = new(StringComparer.Ordinal);
        return true;
    }
}
