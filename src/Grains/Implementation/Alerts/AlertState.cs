using Monitoring.Channels;
using Monitoring.Escalation;
using Monitoring.Rules;

namespace Monitoring.Alerts;

[GenerateSerializer, Alias("mcp.AlertState")]
public sealed class AlertState
{
    [Id(0), JsonPropertyName("Rule")] public AlertRule? Rule { get; set; }
    [Id(1), JsonPropertyName("Server")] public ServerSummary? Server { get; set; }
    [Id(2), JsonPropertyName("Phase")] public AlertPhase Phase { get; set; }
    [Id(3), JsonPropertyName("Episode")] public int Episode { get; set; }
    [Id(4), JsonPropertyName("PendingSince")] public DateTimeOffset? PendingSince { get; set; }
    [Id(5), JsonPropertyName("FiredAt")] public DateTimeOffset? FiredAt { get; set; }
    [Id(6), JsonPropertyName("ResolvedAt")] public DateTimeOffset? ResolvedAt { get; set; }
    [Id(7), JsonPropertyName("AcknowledgedAt")] public DateTimeOffset? AcknowledgedAt { get; set; }
    [Id(8), JsonPropertyName("AcknowledgedBy")] public string? AcknowledgedBy { get; set; }
    [Id(9), JsonPropertyName("EscalatedAt")] public DateTimeOffset? EscalatedAt { get; set; }
    [Id(10), JsonPropertyName("SuppressedUntil")] public DateTimeOffset? SuppressedUntil { get; set; }
    [Id(11), JsonPropertyName("LastNotifiedAt")] public DateTimeOffset? LastNotifiedAt { get; set; }

    /// <summary>When a firing (or repeat) message last went out: the cooldown counts from here, across episodes.</summary>
    [Id(12), JsonPropertyName("LastFiringNotifiedAt")] public DateTimeOffset? LastFiringNotifiedAt { get; set; }

    /// <summary>Whether this episode's firing message went out; only then is its resolution announced.</summary>
    [Id(13), JsonPropertyName("FiringNotified")] public bool FiringNotified { get; set; }

    [Id(14), JsonPropertyName("LastHeld")] public bool LastHeld { get; set; }
    [Id(15), JsonPropertyName("LastObservedAt")] public DateTimeOffset? LastObservedAt { get; set; }
    [Id(16), JsonPropertyName("NotificationCount")] public int NotificationCount { get; set; }
    [Id(17), JsonPropertyName("Sequence")] public int Sequence { get; set; }
    [Id(18), JsonPropertyName("Values")] public Dictionary<string, double> Values { get; set; } = [];
    [Id(19), JsonPropertyName("Transitions")] public List<AlertTransition> Transitions { get; set; } = [];
    [Id(20), JsonPropertyName("UpdatedAt")] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Channels told about this episode, so the resolution reaches every one of them.</summary>
    [Id(21), JsonPropertyName("NotifiedChannels")] public HashSet<string> NotifiedChannels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>This episode's copy of the rule's escalation policy, taken when it fired.</summary>
    [Id(22), JsonPropertyName("Policy")] public EscalationPolicy? Policy { get; set; }

    /// <summary>The next policy step to run (level index plus levels times round).</summary>
    [Id(23), JsonPropertyName("PolicyStep")] public int PolicyStep { get; set; }

    [Id(24), JsonPropertyName("NextPolicyStepAt")] public DateTimeOffset? NextPolicyStepAt { get; set; }

    /// <summary>Notifications recorded here and not yet taken by their channel; handed over again until they are.</summary>
    [Id(25), JsonPropertyName("Outbox")] public List<HandOff> Outbox { get; set; } = [];

    /// <summary>This alert's notifications and their delivery status, newest first.</summary>
    [Id(26), JsonPropertyName("Deliveries")] public List<DeliveryRecord> Deliveries { get; set; } = [];

    /// <summary>While a silence matches: when the last matching one ends, and which one that is.</summary>
    [Id(27), JsonPropertyName("SilencedUntil")] public DateTimeOffset? SilencedUntil { get; set; }
    [Id(28), JsonPropertyName("SilencedBy")] public string? SilencedBy { get; set; }

    /// <summary>This episode's firing message was withheld by a silence.</summary>
    [Id(29), JsonPropertyName("FiringSilenced")] public bool FiringSilenced { get; set; }

    [Id(30), JsonPropertyName("HandOffRetryAt")] public DateTimeOffset? HandOffRetryAt { get; set; }

    [System.Text.Json.Serialization.JsonIgnore]

    public bool IsOpen => Phase is AlertPhase.Pending or AlertPhase.Firing;

    public bool IsSilencedAt(DateTimeOffset now) => SilencedUntil > now;

    public AlertStatus StatusAt(DateTimeOffset now) => Phase switch
    {
        AlertPhase.Pending => AlertStatus.Pending,
        AlertPhase.Resolved => AlertStatus.Resolved,
        AlertPhase.Firing when SuppressedUntil > now => AlertStatus.Suppressed,
        AlertPhase.Firing when SilencedUntil > now => AlertStatus.Silenced,
        AlertPhase.Firing when AcknowledgedAt is not null => AlertStatus.Acknowledged,
        AlertPhase.Firing when EscalatedAt is not null => AlertStatus.Escalated,
        AlertPhase.Firing => AlertStatus.Firing,
        _ => AlertStatus.Inactive,
    };
}

/// <summary>A notification on its way from the alert to one channel.</summary>
[GenerateSerializer, Immutable, Alias("mcp.HandOff")]
public sealed record HandOff([property: Id(0), JsonPropertyName("ChannelId")] string ChannelId, [property: Id(1), JsonPropertyName("Notification")] Notification Notification);
