using Monitoring.Channels;
using Monitoring.Common;

namespace Monitoring.Routing;

/// <summary>Where an alert stands as its incident sees it: it fires, it is muted (silenced or suppressed), or it resolved.</summary>
public enum MemberStatus
{
    Firing,
    Muted,
    Resolved,
}

/// <summary>Where one route put an alert: the route, its timing (inherited fields filled in), and the alert's group.</summary>
[GenerateSerializer, Immutable, Alias("mcp.RouteMatch")]
public sealed record RouteMatch(
    [property: Id(0), JsonPropertyName("Path")] string Path,
    [property: Id(1), JsonPropertyName("Receiver")] string? Receiver,
    [property: Id(2), JsonPropertyName("GroupBy")] string[] GroupBy,
    [property: Id(3), JsonPropertyName("GroupWait")] TimeSpan GroupWait,
    [property: Id(4), JsonPropertyName("GroupInterval")] TimeSpan GroupInterval,
    [property: Id(5), JsonPropertyName("RepeatInterval")] TimeSpan RepeatInterval,
    [property: Id(6), JsonPropertyName("MuteTimeIntervals")] string[] MuteTimeIntervals,
    [property: Id(7), JsonPropertyName("ActiveTimeIntervals")] string[] ActiveTimeIntervals,
    [property: Id(8), JsonPropertyName("GroupLabels")] Dictionary<string, string> GroupLabels,
    [property: Id(9), JsonPropertyName("IncidentId")] string IncidentId)
{
    /// <summary>The route's identity by its matchers from the root (Alertmanager's route key).</summary>
    [Id(10), JsonPropertyName("Key")] public string Key { get; init; } = "";
}

/// <summary>An alert's latest word to its incident; a lower <see cref="Sequence"/> than one already taken is stale.</summary>
[GenerateSerializer, Immutable, Alias("mcp.IncidentMember")]
public sealed record IncidentMember(
    [property: Id(0), JsonPropertyName("AlertId")] string AlertId,
    [property: Id(1), JsonPropertyName("Sequence")] long Sequence,
    [property: Id(2), JsonPropertyName("Status")] MemberStatus Status,
    [property: Id(3), JsonPropertyName("Labels")] Dictionary<string, string> Labels,
    [property: Id(4), JsonPropertyName("RuleId")] string RuleId,
    [property: Id(5), JsonPropertyName("RuleName")] string RuleName,
    [property: Id(6), JsonPropertyName("ServerId")] string ServerId,
    [property: Id(7), JsonPropertyName("ServerName")] string ServerName,
    [property: Id(8), JsonPropertyName("Severity")] Severity Severity,
    [property: Id(9), JsonPropertyName("Message")] string Message,
    [property: Id(10), JsonPropertyName("Condition")] string Condition,
    [property: Id(11), JsonPropertyName("StartsAt")] DateTimeOffset StartsAt,
    [property: Id(12), JsonPropertyName("EndsAt")] DateTimeOffset? EndsAt,
    [property: Id(13), JsonPropertyName("Values")] Dictionary<string, double> Values)
{
    /// <summary>An external alert's annotations; empty for the product's own.</summary>
    [Id(14), JsonPropertyName("Annotations")] public Dictionary<string, string> Annotations { get; init; } = [];

    [Id(15), JsonPropertyName("GeneratorUrl")] public string? GeneratorUrl { get; init; }
}

/// <summary>An incident's status: open (some alert fires), acknowledged, or resolved (every alert in it resolved).</summary>
public enum IncidentStatus
{
    Open,
    Acknowledged,
    Resolved,
}

/// <summary>One entry of an incident's timeline.</summary>
[GenerateSerializer, Immutable, Alias("mcp.IncidentEvent")]
public sealed record IncidentEvent(
    [property: Id(0), JsonPropertyName("At")] DateTimeOffset At,
    [property: Id(1), JsonPropertyName("Kind")] string Kind,
    [property: Id(2), JsonPropertyName("Text")] string Text);

/// <summary>An incident as shown: its group, status, alerts, timeline and notifications.</summary>
[GenerateSerializer, Immutable, Alias("mcp.IncidentView")]
public sealed record IncidentView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Route,
    [property: Id(2)] string? Receiver,
    [property: Id(3)] Dictionary<string, string> GroupLabels,
    [property: Id(4)] IncidentStatus Status,
    [property: Id(5)] int Episode,
    [property: Id(6)] DateTimeOffset? OpenedAt,
    [property: Id(7)] DateTimeOffset? ResolvedAt,
    [property: Id(8)] DateTimeOffset? AcknowledgedAt,
    [property: Id(9)] string? AcknowledgedBy,
    [property: Id(10)] DateTimeOffset? NextNotificationAt,
    [property: Id(11)] IncidentMember[] Alerts,
    [property: Id(12)] IncidentEvent[] Timeline,
    [property: Id(13)] DeliveryRecord[] Notifications)
{
    [Id(14)] public int EscalationLevel { get; init; }
    [Id(15)] public DateTimeOffset? NextEscalationAt { get; init; }
    [Id(16)] public string[] InhibitedAlerts { get; init; } = [];
}

/// <summary>One incident in the listing.</summary>
[GenerateSerializer, Immutable, Alias("mcp.IncidentSummary")]
public sealed record IncidentSummary(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Route")] string Route,
    [property: Id(2), JsonPropertyName("Receiver")] string? Receiver,
    [property: Id(3), JsonPropertyName("GroupLabels")] Dictionary<string, string> GroupLabels,
    [property: Id(4), JsonPropertyName("Status")] IncidentStatus Status,
    [property: Id(5), JsonPropertyName("Episode")] int Episode,
    [property: Id(6), JsonPropertyName("Firing")] int Firing,
    [property: Id(7), JsonPropertyName("Total")] int Total,
    [property: Id(8), JsonPropertyName("OpenedAt")] DateTimeOffset? OpenedAt,
    [property: Id(9), JsonPropertyName("UpdatedAt")] DateTimeOffset UpdatedAt);

/// <summary>
/// The alerts of one route and one set of group-label values, keyed "inc-" and a hash of both. It waits
/// <c>group_wait</c>, then tells its receiver once about all of them; then at most once per <c>group_interval</c>
/// when the set changed, again every <c>repeat_interval</c>, and once when all resolved. Acknowledgement and
/// escalation belong to the incident.
/// </summary>
[Alias("mcp.IIncidentGrain")]
public interface IIncidentGrain : IGrainWithStringKey, Channels.IDeliverySink
{
    Task UpdateAsync(RouteMatch route, IncidentMember member);

    Task<IncidentView?> GetAsync();

    /// <summary>Stops the escalation. The alerts keep their own status: <see cref="Alerts.AlertCommands.AcknowledgeIncidentAsync"/> acknowledges them too.</summary>
    Task<WriteResult> AcknowledgeAsync(string? by);

    /// <summary>Tells the receiver at once. <see cref="Alerts.AlertCommands.ResolveIncidentAsync"/> resolves the alerts too.</summary>
    Task<WriteResult> ResolveAsync(string? by);

    /// <summary>Does what is due (the silo's wake-ups call it at the time the incident asked for).</summary>
    Task WakeAsync();

    /// <summary>
    /// Makes sure an open incident's reminder exists (the reminder table may have lost it) and its next deadline is set;
    /// carries out what is already due.
    /// </summary>
    Task RearmAsync();
}

/// <summary>Every incident's summary, for the listing. Bounded: the oldest resolved incidents leave first.</summary>
[Alias("mcp.IIncidentIndexGrain")]
public interface IIncidentIndexGrain : IGrainWithStringKey
{
    public const string Key = "all";

    [OneWay]
    Task UpsertAsync(IncidentSummary summary);

    [AlwaysInterleave]
    Task<IncidentSummary[]> ListAsync();
}

/// <summary>The firing alerts that could inhibit others (they match some rule's source matchers), for each silo's cache.</summary>
[Alias("mcp.IInhibitorsGrain")]
public interface IInhibitorsGrain : IGrainWithStringKey
{
    public const string Key = "all";

    [OneWay]
    Task SetAsync(string alertId, Dictionary<string, string>? labels);

    [AlwaysInterleave]
    Task<InhibitorSet?> GetIfChangedAsync(long knownVersion);
}

[GenerateSerializer, Immutable, Alias("mcp.InhibitorSet")]
public sealed record InhibitorSet(
    [property: Id(0)] long Version,
    [property: Id(1)] Dictionary<string, Dictionary<string, string>> Alerts);
