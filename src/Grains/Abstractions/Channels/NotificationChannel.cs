using Monitoring.Common;

namespace Monitoring.Channels;

/// <summary>A notification channel. <see cref="Config"/> is the type's JSON config, secrets included; it never leaves the grain.</summary>
[GenerateSerializer, Immutable, Alias("mcp.NotificationChannel")]
public sealed record NotificationChannel(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Type")] string Type,
    [property: Id(2), JsonPropertyName("Enabled")] bool Enabled,
    [property: Id(3), JsonPropertyName("Config")] string Config,
    [property: Id(4), JsonPropertyName("CreatedAt")] DateTimeOffset CreatedAt,
    [property: Id(5), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt);

/// <summary>A channel as shown to users: its config with every secret replaced, and its queue.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ChannelView")]
public sealed record ChannelView(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Type")] string Type,
    [property: Id(2), JsonPropertyName("Enabled")] bool Enabled,
    [property: Id(3), JsonPropertyName("RedactedConfig")] string RedactedConfig,
    [property: Id(4), JsonPropertyName("CreatedAt")] DateTimeOffset CreatedAt,
    [property: Id(5), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt)
{
    /// <summary>Notifications recorded and not yet delivered or given up on (being tried or waiting to retry).</summary>
    [Id(6), JsonPropertyName("Pending")] public int Pending { get; init; }

    /// <summary>Of those, how many wait for the rate limit.</summary>
    [Id(7), JsonPropertyName("Held")] public int Held { get; init; }

    /// <summary>How many notifications were ever held back by a rate limit (each was sent later, none dropped).</summary>
    [Id(8), JsonPropertyName("HeldTotal")] public long HeldTotal { get; init; }
}

/// <summary>Why a notification is sent.</summary>
public enum NotificationKind
{
    Firing,
    Repeat,
    Escalation,
    Resolved,
    Test,
}

/// <summary>Subject and body templates (Liquid); null means "use the next one down": rule, then channel, then the default.</summary>
[GenerateSerializer, Immutable, Alias("mcp.MessageTemplates")]
public sealed record MessageTemplates([property: Id(0), JsonPropertyName("Subject")] string? Subject, [property: Id(1), JsonPropertyName("Body")] string? Body)
{
    public static readonly MessageTemplates None = new(null, null);
}

/// <summary>One message about one alert transition, for one channel.</summary>
[GenerateSerializer, Immutable, Alias("mcp.Notification")]
public sealed record Notification(
    [property: Id(0), JsonPropertyName("AlertId")] string AlertId,
    [property: Id(1), JsonPropertyName("RuleId")] string RuleId,
    [property: Id(2), JsonPropertyName("RuleName")] string RuleName,
    [property: Id(3), JsonPropertyName("ServerId")] string ServerId,
    [property: Id(4), JsonPropertyName("ServerName")] string ServerName,
    [property: Id(5), JsonPropertyName("Severity")] Severity Severity,
    [property: Id(6), JsonPropertyName("Kind")] NotificationKind Kind,
    [property: Id(7), JsonPropertyName("Status")] string Status,
    [property: Id(8), JsonPropertyName("Message")] string Message,
    [property: Id(9), JsonPropertyName("Episode")] int Episode,
    [property: Id(10), JsonPropertyName("CreatedAt")] DateTimeOffset CreatedAt,
    [property: Id(11), JsonPropertyName("At")] DateTimeOffset At,
    [property: Id(12), JsonPropertyName("Values")] Dictionary<string, double> Values,
    [property: Id(13), JsonPropertyName("Labels")] Dictionary<string, string> Labels,
    [property: Id(14), JsonPropertyName("Condition")] string Condition,
    [property: Id(15), JsonPropertyName("Sequence")] int Sequence)
{
    /// <summary>The rule's own templates, which win over the channel's.</summary>
    [Id(16), JsonPropertyName("Templates")] public MessageTemplates Templates { get; init; } = MessageTemplates.None;

    /// <summary>The escalation-policy level (1-based) this message is for, or 0 when it is not from a policy.</summary>
    [Id(17), JsonPropertyName("EscalationLevel")] public int EscalationLevel { get; init; }

    /// <summary>The server's health verdict when the message was made (healthy, degraded, unhealthy, unknown), as its status shows it.</summary>
    [Id(18), JsonPropertyName("ServerHealth")] public string? ServerHealth { get; init; }

    [Id(19), JsonPropertyName("ServerHealthReasons")] public string[] ServerHealthReasons { get; init; } = [];

    /// <summary>Set when the message is about an incident: <see cref="AlertId"/> is then the incident's id.</summary>
    [Id(20), JsonPropertyName("Group")] public NotificationGroup? Group { get; init; }

    /// <summary>
    /// The grain that hears how delivery went (<see cref="IDeliverySink"/>), as its grain id ("alert/…",
    /// "incident/…"), so the channel never needs to know who sent the message. Null in messages stored before it was
    /// named; those report to the grain their <see cref="AlertId"/> names (<see cref="DeliverySinks.LegacyOf"/>).
    /// </summary>
    [Id(21), JsonPropertyName("ReportTo")] public string? ReportTo { get; init; }

    /// <summary>The person this message pages, through one of their contact methods; null for a channel's own message.</summary>
    [Id(22), JsonPropertyName("Recipient")] public NotificationRecipient? Recipient { get; init; }

    /// <summary>
    /// Not sent before this moment: a person's later notification rule ("by email after 5 minutes"). Held by the
    /// channel, durably, and cancelled by its sender when the page is acknowledged first.
    /// </summary>
    [Id(23), JsonPropertyName("NotBefore")] public DateTimeOffset? NotBefore { get; init; }

    /// <summary>The same for every attempt at this message, so receivers can drop duplicates.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string IdempotencyKey => $"{AlertId}/{Episode}/{KindNames.GetValueOrDefault(Kind) ?? Kind.ToString().ToLowerInvariant()}/{Sequence}";

    private static readonly System.Collections.Frozen.FrozenDictionary<NotificationKind, string> KindNames =
        System.Collections.Frozen.FrozenDictionary.ToFrozenDictionary(Enum.GetValues<NotificationKind>().ToDictionary(k => k, k => k.ToString().ToLowerInvariant()));

    /// <summary>
    /// Messages of one alert episode share this, so chat threads and mail threads can group them; a person's pages of
    /// the episode are a thread of their own (a direct message), so a page held for later holds up nobody else's.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string ThreadKey => Recipient is { } person ? $"{AlertId}/{Episode}/{person.User}" : $"{AlertId}/{Episode}";
}

/// <summary>Whom a message pages: the user, the contact method used, and its address (an email address, a Slack user id).</summary>
[GenerateSerializer, Immutable, Alias("mcp.NotificationRecipient")]
public sealed record NotificationRecipient(
    [property: Id(0), JsonPropertyName("User")] string User,
    [property: Id(1), JsonPropertyName("ContactMethod")] string ContactMethod,
    [property: Id(2), JsonPropertyName("Address")] string? Address,
    [property: Id(3), JsonPropertyName("Via")] string? Via);

/// <summary>The incident a message is about: its group, and the alerts it lists (at most the receiver's maximum).</summary>
[GenerateSerializer, Immutable, Alias("mcp.NotificationGroup")]
public sealed record NotificationGroup(
    [property: Id(0), JsonPropertyName("IncidentId")] string IncidentId,
    [property: Id(1), JsonPropertyName("Route")] string Route,
    [property: Id(2), JsonPropertyName("Receiver")] string Receiver,
    [property: Id(3), JsonPropertyName("GroupKey")] string GroupKey,
    [property: Id(4), JsonPropertyName("GroupLabels")] Dictionary<string, string> GroupLabels,
    [property: Id(5), JsonPropertyName("CommonLabels")] Dictionary<string, string> CommonLabels,
    [property: Id(6), JsonPropertyName("Alerts")] GroupAlert[] Alerts,
    [property: Id(7), JsonPropertyName("Firing")] int Firing,
    [property: Id(8), JsonPropertyName("Resolved")] int Resolved,
    [property: Id(9), JsonPropertyName("TruncatedAlerts")] int TruncatedAlerts);

/// <summary>One alert as an incident's message lists it.</summary>
[GenerateSerializer, Immutable, Alias("mcp.GroupAlert")]
public sealed record GroupAlert(
    [property: Id(0), JsonPropertyName("AlertId")] string AlertId,
    [property: Id(1), JsonPropertyName("Status")] string Status,
    [property: Id(2), JsonPropertyName("RuleId")] string RuleId,
    [property: Id(3), JsonPropertyName("RuleName")] string RuleName,
    [property: Id(4), JsonPropertyName("ServerId")] string ServerId,
    [property: Id(5), JsonPropertyName("ServerName")] string ServerName,
    [property: Id(6), JsonPropertyName("Severity")] Severity Severity,
    [property: Id(7), JsonPropertyName("Message")] string Message,
    [property: Id(8), JsonPropertyName("StartsAt")] DateTimeOffset StartsAt,
    [property: Id(9), JsonPropertyName("EndsAt")] DateTimeOffset? EndsAt,
    [property: Id(10), JsonPropertyName("Labels")] Dictionary<string, string> Labels,
    [property: Id(11), JsonPropertyName("Values")] Dictionary<string, double> Values)
{
    /// <summary>An external alert's annotations (summary, description, runbook_url …); empty for the product's own.</summary>
    [Id(12), JsonPropertyName("Annotations")] public Dictionary<string, string> Annotations { get; init; } = [];

    [Id(13), JsonPropertyName("GeneratorUrl")] public string? GeneratorUrl { get; init; }
}

/// <summary>Where one notification is on its way to one channel.</summary>
public enum DeliveryState
{
    /// <summary>Recorded durably; being attempted, or waiting for its next retry.</summary>
    Pending,

    /// <summary>Recorded; waiting for the channel's or the cluster's rate limit. Sent when allowed.</summary>
    Held,

    Delivered,

    /// <summary>Given up: a permanent error, or retries ran past the maximum age.</summary>
    Failed,

    /// <summary>Not sent: the channel is disabled.</summary>
    Disabled,

    /// <summary>Not sent: a silence matched the alert.</summary>
    Silenced,

    /// <summary>Not sent: a person's later page, cancelled because the page was acknowledged or resolved first.</summary>
    Cancelled,
}

/// <summary>One notification's delivery to one channel: status, attempts and the last error.</summary>
[GenerateSerializer, Immutable, Alias("mcp.DeliveryRecord")]
public sealed record DeliveryRecord(
    [property: Id(0), JsonPropertyName("IdempotencyKey")] string IdempotencyKey,
    [property: Id(1), JsonPropertyName("AlertId")] string AlertId,
    [property: Id(2), JsonPropertyName("ChannelId")] string ChannelId,
    [property: Id(3), JsonPropertyName("Kind")] NotificationKind Kind,
    [property: Id(4), JsonPropertyName("State")] DeliveryState State,
    [property: Id(5), JsonPropertyName("Attempts")] int Attempts,
    [property: Id(6), JsonPropertyName("RecordedAt")] DateTimeOffset RecordedAt,
    [property: Id(7), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt,
    [property: Id(8), JsonPropertyName("LastError")] string? LastError)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsFinal => State is DeliveryState.Delivered or DeliveryState.Failed or DeliveryState.Disabled or DeliveryState.Silenced or DeliveryState.Cancelled;
}

public enum EnqueueOutcome
{
    Recorded,

    /// <summary>The channel already holds this idempotency key; nothing new was recorded.</summary>
    Duplicate,

    UnknownChannel,
}

/// <summary>The answer to a test message: whether the receiver took it, and how long it took.</summary>
[GenerateSerializer, Immutable, Alias("mcp.TestDelivery")]
public sealed record TestDelivery(
    [property: Id(0)] bool Delivered,
    [property: Id(1)] string? Error,
    [property: Id(2)] TimeSpan Duration,
    [property: Id(3)] string IdempotencyKey);

/// <summary>Where a channel reports the progress of a message it took: named by the message, whoever sent it.</summary>
[Alias("mcp.IDeliverySink")]
public interface IDeliverySink : IAddressable
{
    /// <summary>A channel's news about one of this sender's messages: taken, retrying, delivered or failed.</summary>
    [OneWay]
    Task ReportDeliveryAsync(DeliveryRecord record);
}

public static class DeliverySinks
{
    /// <summary>Where a message reports: the sink it names.</summary>
    public static IDeliverySink Of(IGrainFactory grains, Notification notification) =>
        notification.ReportTo is { } id ? grains.GetGrain<IDeliverySink>(GrainId.Parse(id)) : LegacyOf(grains, notification.AlertId);

    /// <summary>Messages stored before they named their sink: an incident's carry its id, an alert's the alert's.</summary>
    public static IDeliverySink LegacyOf(IGrainFactory grains, string alertId) =>
        Routing.RouteTree.IsIncidentId(alertId) ? grains.GetGrain<Routing.IIncidentGrain>(alertId) : grains.GetGrain<Alerts.IAlertGrain>(alertId);
}

/// <summary>A replacement config against the stored one: the replacement redacted, and whether any secret value differs.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ChannelComparison")]
public sealed record ChannelComparison([property: Id(0)] string RedactedConfig, [property: Id(1)] bool SecretsDiffer);
