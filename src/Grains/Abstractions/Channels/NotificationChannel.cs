using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>A notification channel. <see cref="Config"/> is the type's JSON config, secrets included; it never leaves the grain.</summary>
[GenerateSerializer, Immutable]
public sealed record NotificationChannel(
    [property: Id(0)] string Id,
    [property: Id(1)] string Type,
    [property: Id(2)] bool Enabled,
    [property: Id(3)] string Config,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset UpdatedAt);

/// <summary>A channel as shown to users: its config with every secret replaced.</summary>
[GenerateSerializer, Immutable]
public sealed record ChannelView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Type,
    [property: Id(2)] bool Enabled,
    [property: Id(3)] string RedactedConfig,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] DateTimeOffset UpdatedAt);

/// <summary>Why a notification is sent.</summary>
public enum NotificationKind
{
    Firing,
    Repeat,
    Escalation,
    Resolved,
    Test,
}

/// <summary>One message about one alert transition, for one channel.</summary>
[GenerateSerializer, Immutable]
public sealed record Notification(
    [property: Id(0)] string AlertId,
    [property: Id(1)] string RuleId,
    [property: Id(2)] string RuleName,
    [property: Id(3)] string ServerId,
    [property: Id(4)] string ServerName,
    [property: Id(5)] Severity Severity,
    [property: Id(6)] NotificationKind Kind,
    [property: Id(7)] string Status,
    [property: Id(8)] string Message,
    [property: Id(9)] int Episode,
    [property: Id(10)] DateTimeOffset CreatedAt,
    [property: Id(11)] DateTimeOffset At,
    [property: Id(12)] Dictionary<string, double> Values,
    [property: Id(13)] Dictionary<string, string> Labels,
    [property: Id(14)] string Condition,
    [property: Id(15)] int Sequence)
{
    /// <summary>The same for every attempt at this message, so receivers can drop duplicates.</summary>
    public string IdempotencyKey => $"{AlertId}/{Episode}/{Kind.ToString().ToLowerInvariant()}/{Sequence}";
}

public enum DeliveryOutcome
{
    Delivered,
    Failed,
    RateLimited,
    Disabled,
}

[GenerateSerializer, Immutable]
public sealed record DeliveryRecord(
    [property: Id(0)] string IdempotencyKey,
    [property: Id(1)] string AlertId,
    [property: Id(2)] NotificationKind Kind,
    [property: Id(3)] DeliveryOutcome Outcome,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] string? Error);
