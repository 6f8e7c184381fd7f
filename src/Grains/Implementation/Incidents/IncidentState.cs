using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.Escalation;

namespace Monitoring.Routing;

/// <summary>An incident's stored state: its route, its alerts, what was told, the acknowledgement and the escalation.</summary>
[GenerateSerializer, Alias("mcp.IncidentState")]
public sealed class IncidentState : Channels.Delivery.ISenderState
{
    [Id(0), JsonPropertyName("Route")] public RouteMatch? Route { get; set; }
    [Id(1), JsonPropertyName("Members")] public Dictionary<string, IncidentMember> Members { get; set; } = new(StringComparer.Ordinal);
    [Id(2), JsonPropertyName("Episode")] public int Episode { get; set; }
    [Id(3), JsonPropertyName("OpenedAt")] public DateTimeOffset? OpenedAt { get; set; }
    [Id(4), JsonPropertyName("ResolvedAt")] public DateTimeOffset? ResolvedAt { get; set; }

    /// <summary>When this episode's first message went out (or was due, when nobody was to be told).</summary>
    [Id(5), JsonPropertyName("FirstFlushAt")] public DateTimeOffset? FirstFlushAt { get; set; }

    /// <summary>When a firing, update or repeat message last went out; repeats count from here.</summary>
    [Id(6), JsonPropertyName("LastNotifiedAt")] public DateTimeOffset? LastNotifiedAt { get; set; }

    /// <summary>The alerts the last message listed as firing, and the resolved ones already told.</summary>
    [Id(7), JsonPropertyName("NotifiedFiring")] public HashSet<string> NotifiedFiring { get; set; } = new(StringComparer.Ordinal);
    [Id(8), JsonPropertyName("NotifiedResolved")] public HashSet<string> NotifiedResolved { get; set; } = new(StringComparer.Ordinal);

    [Id(9), JsonPropertyName("NextFlushAt")] public DateTimeOffset? NextFlushAt { get; set; }
    [Id(10), JsonPropertyName("AcknowledgedAt")] public DateTimeOffset? AcknowledgedAt { get; set; }
    [Id(11), JsonPropertyName("AcknowledgedBy")] public string? AcknowledgedBy { get; set; }
    [Id(12), JsonPropertyName("Policy")] public EscalationPolicy? Policy { get; set; }
    [Id(13), JsonPropertyName("PolicyStep")] public int PolicyStep { get; set; }
    [Id(14), JsonPropertyName("NextPolicyStepAt")] public DateTimeOffset? NextPolicyStepAt { get; set; }

    /// <summary>Numbers messages: with the episode it makes each idempotency key.</summary>
    [Id(15), JsonPropertyName("Sequence")] public int Sequence { get; set; }

    [Id(16), JsonPropertyName("Outbox")] public List<HandOff> Outbox { get; set; } = [];
    [Id(17), JsonPropertyName("HandOffRetryAt")] public DateTimeOffset? HandOffRetryAt { get; set; }
    [Id(18), JsonPropertyName("Timeline")] public List<IncidentEvent> Timeline { get; set; } = [];
    [Id(19), JsonPropertyName("Deliveries")] public List<DeliveryRecord> Deliveries { get; set; } = [];

    /// <summary>Channels told during this episode, so the resolution reaches every one of them.</summary>
    [Id(20), JsonPropertyName("NotifiedChannels")] public HashSet<string> NotifiedChannels { get; set; } = new(StringComparer.Ordinal);

    [Id(21), JsonPropertyName("MutedSince")] public DateTimeOffset? MutedSince { get; set; }

    /// <summary>People's later pages this episode handed to channels, held there until due: cancelled by an acknowledgement.</summary>
    [Id(22), JsonPropertyName("FollowUps")] public List<PendingPage> FollowUps { get; set; } = [];

    /// <summary>Later pages to cancel that their channels have not yet confirmed: kept, and tried again, until they do.</summary>
    [Id(23), JsonPropertyName("Cancelling")] public List<PendingCancel> Cancelling { get; set; } = [];

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsOpen => Members.Count > 0;
}
