using Monitoring.Alerts;
using Monitoring.Listings;

namespace Monitoring.Api.Contracts;

public sealed record AlertActionRequest(string? By);

public sealed record SuppressRequest(string? Duration, string? By);

public sealed record AlertSummaryResponse(
    string Id, string RuleId, string ServerId, string RuleName, string Severity, string Status, string Message, DateTimeOffset? FiredAt, DateTimeOffset UpdatedAt)
{
    public static AlertSummaryResponse From(AlertEntry a) => new(
        a.AlertId, a.RuleId, a.ServerId, a.RuleName, a.Severity.ToString().ToLowerInvariant(), a.Status.ToString().ToLowerInvariant(),
        a.Message, a.FiredAt, a.UpdatedAt);
}

public sealed record TransitionResponse(string From, string To, DateTimeOffset At, string Reason);

public sealed record AlertResponse(
    string Id, string RuleId, string ServerId, string RuleName, string Severity, string Status, string Message, int Episode,
    DateTimeOffset? PendingSince, DateTimeOffset? FiredAt, DateTimeOffset? ResolvedAt, DateTimeOffset? AcknowledgedAt, string? AcknowledgedBy,
    DateTimeOffset? EscalatedAt, DateTimeOffset? SuppressedUntil, int NotificationCount, DateTimeOffset? LastNotifiedAt,
    Dictionary<string, double> Values, Dictionary<string, string> Labels, DateTimeOffset UpdatedAt, TransitionResponse[] Transitions,
    string? SilencedBy, DateTimeOffset? SilencedUntil, string? EscalationPolicy, int EscalationLevel, DateTimeOffset? NextEscalationAt)
{
    /// <summary>The incidents the routing tree put this alert in.</summary>
    public string[] Incidents { get; init; } = [];

    /// <summary>The firing alert that inhibits this one: an inhibited alert sends nothing.</summary>
    public string? InhibitedBy { get; init; }

    public static AlertResponse From(AlertView a) => new(
        a.Id, a.RuleId, a.ServerId, a.RuleName, a.Severity.ToString().ToLowerInvariant(), a.Status.ToString().ToLowerInvariant(), a.Message,
        a.Episode, a.PendingSince, a.FiredAt, a.ResolvedAt, a.AcknowledgedAt, a.AcknowledgedBy, a.EscalatedAt, a.SuppressedUntil,
        a.NotificationCount, a.LastNotifiedAt, a.Values, a.Labels, a.UpdatedAt,
        [.. a.Transitions.Select(t => new TransitionResponse(t.From.ToString().ToLowerInvariant(), t.To.ToString().ToLowerInvariant(), t.At, t.Reason))],
        a.SilencedBy, a.SilencedUntil, a.EscalationPolicy, a.EscalationLevel, a.NextEscalationAt)
    {
        Incidents = a.Incidents,
        InhibitedBy = a.InhibitedBy,
    };
}

/// <summary>One page of a listing: every list the API answers comes in this envelope.</summary>
public sealed record Page<T>(T[] Items, int Total, int Limit, int Offset)
{
    /// <summary>A whole list as one page.</summary>
    public static Page<T> All(T[] items) => new(items, items.Length, items.Length, 0);

    /// <summary>One page of a list held in memory.</summary>
    public static Page<T> Of(IReadOnlyCollection<T> items, int take, int skip) => new([.. items.Skip(skip).Take(take)], items.Count, take, skip);
}

/// <summary>One transition from the history.</summary>
public sealed record HistoryResponse(
    string AlertId, string RuleId, string ServerId, string Severity, string From, string To, string Reason, int Episode, int Sequence, DateTimeOffset At)
{
    public static HistoryResponse Of(History.TransitionRow r) =>
        new(r.AlertId, r.RuleId, r.ServerId, r.Severity, r.From, r.To, r.Reason, r.Episode, r.Sequence, r.At);
}
