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
