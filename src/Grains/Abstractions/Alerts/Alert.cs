using Monitoring.Common;
using Monitoring.Rules;

namespace Monitoring.Alerts;

/// <summary>Where an alert is in its lifecycle: inactive → pending → firing → resolved.</summary>
public enum AlertPhase
{
    Inactive,
    Pending,
    Firing,
    Resolved,
}

/// <summary>
/// What the API shows as an alert's status: the phase, refined while firing by suppression, a silence,
/// acknowledgement and escalation, in that order of precedence.
/// </summary>
public enum AlertStatus
{
    Inactive,
    Pending,
    Firing,
    Acknowledged,
    Escalated,
    Suppressed,
    Resolved,
    Silenced,
}

/// <summary>
/// What one evaluation of a rule's condition found: it holds, it does not, or there is no data to tell (a metric it
/// needs has no value). No data is never recovery: an alert waits for data to decide.
/// </summary>
public enum ConditionResult
{
    Clear,
    Holds,
    NoData,
}

/// <summary>The server facts an alert carries into its notifications.</summary>
[GenerateSerializer, Immutable, Alias("mcp.ServerSummary")]
public sealed record ServerSummary(
    [property: Id(0), JsonPropertyName("Id")] string Id,
    [property: Id(1), JsonPropertyName("Name")] string Name,
    [property: Id(2), JsonPropertyName("Endpoint")] string Endpoint,
    [property: Id(3), JsonPropertyName("Labels")] Dictionary<string, string> Labels)
{
    /// <summary>The server's health verdict at the evaluation: notifications carry what the server shows.</summary>
    [Id(4), JsonPropertyName("Health")] public string? Health { get; init; }

    [Id(5), JsonPropertyName("HealthReasons")] public string[] HealthReasons { get; init; } = [];
}

/// <summary>One evaluation of a rule on a server, handed to the alert grain.</summary>
[GenerateSerializer, Immutable, Alias("mcp.Observation")]
public sealed record Observation(
    [property: Id(0)] AlertRule Rule,
    [property: Id(1)] ServerSummary Server,
    [property: Id(2)] ConditionResult Condition,
    [property: Id(3)] Dictionary<string, double> Values)
{
    /// <summary>
    /// Set when the server evaluated a window restored from its stored snapshot, found the condition clear, and sent
    /// no data instead: the time of the newest data in that window. Data about moments after an alert began is
    /// recovery for it, even restored; data from before the breach is not.
    /// </summary>
    [Id(4)] public DateTimeOffset? RestoredClearThrough { get; init; }
}

/// <summary>
/// An alert's answer to an observation: its phase, and when it went to sleep, the moment its server must tell it again
/// (one reminder period before its next deadline, or at most an hour on). A sleeping alert holds nothing in memory.
/// </summary>
[GenerateSerializer, Immutable, Alias("mcp.Observed")]
public sealed record Observed([property: Id(0)] AlertPhase Phase, [property: Id(1)] DateTimeOffset? SleepsUntil = null);

[GenerateSerializer, Immutable, Alias("mcp.AlertTransition")]
public sealed record AlertTransition(
    [property: Id(0), JsonPropertyName("From")] AlertStatus From,
    [property: Id(1), JsonPropertyName("To")] AlertStatus To,
    [property: Id(2), JsonPropertyName("At")] DateTimeOffset At,
    [property: Id(3), JsonPropertyName("Reason")] string Reason);

[GenerateSerializer, Immutable, Alias("mcp.AlertView")]
public sealed record AlertView(
    [property: Id(0)] string Id,
    [property: Id(1)] string RuleId,
    [property: Id(2)] string ServerId,
    [property: Id(3)] string RuleName,
    [property: Id(4)] Severity Severity,
    [property: Id(5)] AlertStatus Status,
    [property: Id(6)] string Message,
    [property: Id(7)] int Episode,
    [property: Id(8)] DateTimeOffset? PendingSince,
    [property: Id(9)] DateTimeOffset? FiredAt,
    [property: Id(10)] DateTimeOffset? ResolvedAt,
    [property: Id(11)] DateTimeOffset? AcknowledgedAt,
    [property: Id(12)] string? AcknowledgedBy,
    [property: Id(13)] DateTimeOffset? EscalatedAt,
    [property: Id(14)] DateTimeOffset? SuppressedUntil,
    [property: Id(15)] int NotificationCount,
    [property: Id(16)] DateTimeOffset? LastNotifiedAt,
    [property: Id(17)] Dictionary<string, double> Values,
    [property: Id(18)] Dictionary<string, string> Labels,
    [property: Id(19)] DateTimeOffset UpdatedAt,
    [property: Id(20)] AlertTransition[] Transitions)
{
    /// <summary>The silence that mutes this alert's notifications, while one does.</summary>
    [Id(21)] public string? SilencedBy { get; init; }

    [Id(22)] public DateTimeOffset? SilencedUntil { get; init; }

    [Id(23)] public string? EscalationPolicy { get; init; }

    /// <summary>The highest policy level told so far in this episode (1-based), 0 before the first.</summary>
    [Id(24)] public int EscalationLevel { get; init; }

    [Id(25)] public DateTimeOffset? NextEscalationAt { get; init; }

    /// <summary>The last evaluation had no data for the condition: the alert keeps its state until data decides.</summary>
    [Id(26)] public bool NoData { get; init; }

    /// <summary>The incidents the routing tree put this alert in (only for rules that name no channels or policy).</summary>
    [Id(27)] public string[] Incidents { get; init; } = [];

    /// <summary>The firing alert that inhibits this one now, if any: an inhibited alert sends nothing.</summary>
    [Id(28)] public string? InhibitedBy { get; init; }

    /// <summary>When the alert was last told its values (a quiet alert sleeps and keeps the last told); null from an older silo.</summary>
    [Id(29)] public DateTimeOffset? ValuesAt { get; init; }
}

/// <summary>Alert ids join rule and server: "{ruleId}:{serverId}". Neither part may contain ':'.</summary>
public static class AlertIds
{
    public static string For(string ruleId, string serverId) => $"{ruleId}:{serverId}";

    public static bool TryParse(string alertId, out string ruleId, out string serverId)
    {
        var parts = alertId.Split(':');
        if (parts.Length == 2 && Ids.IsValid(parts[0]) && Ids.IsValid(parts[1]))
        {
            (ruleId, serverId) = (parts[0], parts[1]);
            return true;
        }
        (ruleId, serverId) = ("", "");
        return false;
    }
}
