using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>One notification channel: its config, its durable outbox, its rate limit and its delivery log.</summary>
[Alias("mcp.INotificationChannelGrain")]
public interface INotificationChannelGrain : IGrainWithStringKey
{
    Task<WriteResult> CreateAsync(NotificationChannel channel);

    /// <summary>Replaces the channel. A secret left out of the new config, or sent back as "&lt;redacted&gt;", keeps its stored value.</summary>
    Task<WriteResult> UpdateAsync(NotificationChannel channel);

    Task<WriteResult> DeleteAsync();

    Task<ChannelView?> GetAsync();

    /// <summary>
    /// The config a replacement would store, redacted, and whether its secrets differ from the stored ones (a missing or
    /// "&lt;redacted&gt;" secret keeps its stored value): a plan shows that a secret changes, never what it is.
    /// </summary>
    [AlwaysInterleave]
    Task<ChannelComparison> CompareAsync(NotificationChannel desired);

    [AlwaysInterleave]
    Task<bool> ExistsAsync();

    /// <summary>
    /// What a sender needs to hand a message straight to the channel's delivery worker (the channel as stored, secrets
    /// sealed, and how many workers it has), or null when <paramref name="knownVersion"/> is still the channel's
    /// version. Each silo keeps a copy (<c>ChannelRoutes</c>), so messages never pass through this grain.
    /// </summary>
    [AlwaysInterleave]
    Task<ChannelRoute?> GetRouteIfChangedAsync(long knownVersion);

    /// <summary>Newest first: what is still pending or held, then what finished.</summary>
    Task<DeliveryRecord[]> GetDeliveriesAsync(int limit);

    /// <summary>Sends a test message now, once, without the outbox or rate limit, and answers the result.</summary>
    Task<TestDelivery> SendTestAsync();

    /// <summary>
    /// Checks a request from Slack's interactivity (a button click) against this channel's signing secret: HMAC-SHA256
    /// of "v0:timestamp:body", compared in constant time; a signature already seen in the last 10 minutes is a replay.
    /// The secret never leaves the grain.
    /// </summary>
    Task<SlackRequestCheck> CheckSlackRequestAsync(string timestamp, string signature, byte[] body);

    /// <summary>Replaces a message this channel's bot posted (chat.update); answers Slack's error, or null when done.</summary>
    Task<string?> UpdateSlackMessageAsync(string slackChannel, string ts, string text);
}

/// <summary>The action ids of the buttons a firing Slack message carries.</summary>
public static class SlackActionIds
{
    public const string Acknowledge = "acknowledge";
    public const string Resolve = "resolve";
    public const string Silence = "silence_1h";
}

/// <summary>What a Slack interactivity request's signature showed.</summary>
public enum SlackRequestCheck
{
    Valid,
    BadSignature,
    Replayed,

    /// <summary>The channel is not a Slack bot-token channel with a signing secret: it cannot receive clicks.</summary>
    NotInteractive,
}

/// <summary>A person's page held by a channel until <see cref="At"/>: enough to cancel it (its channel, thread and key).</summary>
[GenerateSerializer, Immutable, Alias("mcp.PendingPage")]
public sealed record PendingPage(
    [property: Id(0), JsonPropertyName("Channel")] string Channel,
    [property: Id(1), JsonPropertyName("Thread")] string Thread,
    [property: Id(2), JsonPropertyName("Key")] string Key,
    [property: Id(3), JsonPropertyName("At")] DateTimeOffset At);

/// <summary>A person's later page to cancel, and why: kept by its sender until the channel holding it confirms.</summary>
[GenerateSerializer, Immutable, Alias("mcp.PendingCancel")]
public sealed record PendingCancel([property: Id(0), JsonPropertyName("Page")] PendingPage Page, [property: Id(1), JsonPropertyName("Reason")] string Reason);
