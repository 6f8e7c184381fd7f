using Monitoring.Routing;
using Monitoring.Channels;
using Monitoring.Rules;

namespace Monitoring.Alerts;

/// <summary>
/// An alert grain's stored state: the rule and server it is about, its lifecycle (<see cref="AlertLife"/>, decided by
/// <see cref="AlertLifecycle"/>), and what the grain does with the lifecycle's effects: the notifications not yet taken
/// by their channel, and its view of their delivery. Shape version 2 (version 1 kept the lifecycle fields at the top).
/// </summary>
[GenerateSerializer, Alias("mcp.AlertState")]
public sealed class AlertState : Channels.Delivery.ISenderState
{
    [Id(0), JsonPropertyName("Rule")] public AlertRule? Rule { get; set; }
    [Id(1), JsonPropertyName("Server")] public ServerSummary? Server { get; set; }
    [Id(2), JsonPropertyName("Life")] public AlertLife Life { get; set; } = new();

    /// <summary>The last 100 status changes; the history keeps all of them.</summary>
    [Id(3), JsonPropertyName("Transitions")] public List<AlertTransition> Transitions { get; set; } = [];

    [Id(4), JsonPropertyName("UpdatedAt")] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Notifications recorded here and not yet taken by their channel; handed over again until they are.</summary>
    [Id(5), JsonPropertyName("Outbox")] public List<HandOff> Outbox { get; set; } = [];

    /// <summary>This alert's notifications and their delivery status, newest first.</summary>
    [Id(6), JsonPropertyName("Deliveries")] public List<DeliveryRecord> Deliveries { get; set; } = [];

    [Id(7), JsonPropertyName("HandOffRetryAt")] public DateTimeOffset? HandOffRetryAt { get; set; }

    /// <summary>The routes (and so incidents) this alert was last reported to, and what it reported.</summary>
    [Id(8), JsonPropertyName("Routes")] public RouteMatch[] Routes { get; set; } = [];
    [Id(9), JsonPropertyName("ReportedStatus")] public MemberStatus? ReportedStatus { get; set; }
    [Id(10), JsonPropertyName("ReportedEpisode")] public int ReportedEpisode { get; set; }

    /// <summary>A report to an incident or to the inhibitors failed and is tried again.</summary>
    [Id(11), JsonPropertyName("ReportDue")] public bool ReportDue { get; set; }

    /// <summary>This alert fires and matches an inhibition rule's source side; the inhibitors grain knows it.</summary>
    [Id(12), JsonPropertyName("Inhibiting")] public bool Inhibiting { get; set; }

    /// <summary>People's later pages this episode handed to channels, held there until due: cancelled by an acknowledgement.</summary>
    [Id(13), JsonPropertyName("FollowUps")] public List<PendingPage> FollowUps { get; set; } = [];

    /// <summary>Later pages to cancel that their channels have not yet confirmed: kept, and tried again, until they do.</summary>
    [Id(14), JsonPropertyName("Cancelling")] public List<PendingCancel> Cancelling { get; set; } = [];
}

/// <summary>A notification on its way from the alert to one channel.</summary>
[GenerateSerializer, Immutable, Alias("mcp.HandOff")]
public sealed record HandOff([property: Id(0), JsonPropertyName("ChannelId")] string ChannelId, [property: Id(1), JsonPropertyName("Notification")] Notification Notification);
