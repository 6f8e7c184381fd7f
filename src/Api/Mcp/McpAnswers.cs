using System.Globalization;
using Monitoring.Alerts;
using Monitoring.Channels;
using Monitoring.History;
using Monitoring.Listings;
using Monitoring.Routing;
using Monitoring.Rules;
using Monitoring.Servers;
using Monitoring.Api.Web;

namespace Monitoring.Api.Mcp;

// What the agents' tools answer: summaries first, ids to drill into, times as "5m ago", no payloads.

public sealed record Found<T>(int Total, T[] Items);

public sealed record FleetStatus(int Servers, Dictionary<string, int> ByHealth, Dictionary<string, int> OpenAlertsByStatus, int OpenIncidents, ServerLine[] Worst);

public sealed record ServerLine(string Id, string Name, string Health, string[] Reasons, int OpenAlerts)
{
    public static ServerLine Of(ServerEntry e) => new(e.Id, e.Server.Name, e.Health, [.. e.HealthReasons.Take(3)], e.OpenAlerts);
}

public sealed record ProbeLine(string Outcome, string At, double? LatencyMs, string? Error);

public sealed record TransitionLine(string AlertId, string From, string To, string Reason, string At);

public sealed record ServerDetails(
    string Id, string Name, string Endpoint, string Health, string[] Reasons, Dictionary<string, string> Labels, Dictionary<string, string> Metrics,
    string? LastTelemetry, ProbeLine? LastProbe, int ToolCount, string[] Tools, string[] OpenAlerts, TransitionLine[] RecentTransitions)
{
    public const int MaxTools = 20;

    public static ServerDetails Of(ServerStatus s, TransitionRow[] rows)
    {
        return new(s.Server.Id, s.Server.Name, s.Server.Endpoint, s.Health.State.ToString().ToLowerInvariant(), s.Health.Reasons, s.Server.Labels,
            s.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).ToDictionary(m => m.Key, m => Show.Metric(m.Key, m.Value)),
            s.LastTelemetryAt is { } t ? Show.Time(t) : null,
            s.LastProbe is { } p ? new ProbeLine(p.Outcome.ToString().ToLowerInvariant(), Show.Time(p.At), p.Up ? Math.Round(p.LatencySeconds * 1000, 1) : null, p.Error) : null,
            s.Tools.Length, [.. s.Tools.Take(MaxTools)], s.OpenAlerts,
            [.. rows.Select(r => new TransitionLine(r.AlertId, r.From, r.To, r.Reason, Show.Time(r.At)))]);
    }
}

public sealed record AlertLine(string Id, string Status, string Severity, string Rule, string Server, string Message, string? Fired);

public sealed record IncidentLine(string Id, string Status, string Group, string? Receiver, int Firing, int Alerts, string? Opened);

/// <summary>One schedule's people on call, where they come from (a layer or an override), until when ("in 3h"), and who is next.</summary>
public sealed record OnCallLine(string Schedule, string[] OnCall, string Source, string? Until, string[]? Next);

public sealed record MemberLine(string AlertId, string Status, string Severity, string Server, string Message);

public sealed record EventLine(string At, string Kind, string Text);

public sealed record SentLine(string Channel, string Kind, string State, int Attempts, string At, string? Error)
{
    public static SentLine Of(DeliveryRecord d) => new(d.ChannelId, d.Kind.ToString().ToLowerInvariant(), d.State.ToString().ToLowerInvariant(), d.Attempts, Show.Time(d.UpdatedAt), d.LastError);
}

public sealed record IncidentDetails(
    string Id, string Status, string Group, string? Receiver, string? Opened, string? AcknowledgedBy, int EscalationLevel, string? NextEscalation,
    int AlertCount, MemberLine[] Alerts, string[] Inhibited, EventLine[] Timeline, SentLine[] Sent)
{
    public const int MaxItems = 20;

    public static IncidentDetails Of(IncidentView i, DateTimeOffset now) => new(
        i.Id, i.Status.ToString().ToLowerInvariant(), Show.Labels(i.GroupLabels), i.Receiver, ReadTools.Since(i.OpenedAt, now), i.AcknowledgedBy,
        i.EscalationLevel, i.NextEscalationAt is { } next ? Show.Ago(next, now) : null, i.Alerts.Length,
        [.. i.Alerts.OrderBy(a => a.Status).ThenByDescending(a => a.Severity).Take(MaxItems)
            .Select(a => new MemberLine(a.AlertId, a.Status.ToString().ToLowerInvariant(), a.Severity.ToString().ToLowerInvariant(), a.ServerName, a.Message))],
        [.. i.InhibitedAlerts.Take(MaxItems)],
        [.. i.Timeline.TakeLast(MaxItems).Select(e => new EventLine(Show.Time(e.At), e.Kind, e.Text))],
        [.. i.Notifications.OrderByDescending(n => n.UpdatedAt).Take(MaxItems).Select(SentLine.Of)]);
}

public sealed record SilenceLine(string Id, string Matchers, string CreatedBy, string Comment, DateTimeOffset EndsAt);

public sealed record RuleLine(string Id, string Name, string Condition, string For, string Severity, string[] Channels, string? EscalationPolicy, bool Routed);

public sealed record AlertExplanation(
    string Id, string Status, string Severity, string Server, string Message, RuleLine? Rule, Dictionary<string, string> Values, bool NoData,
    string? PendingSince, string? FiredAt, string? AcknowledgedBy, string? ResolvedAt, SilenceLine? SilencedBy, string? SilencedUntil,
    string? InhibitedBy, string? SuppressedUntil, int EscalationLevel, string? NextEscalation, string[] Incidents, SentLine[] Sent, string Why)
{
    public const int MaxSent = 20;

    public static AlertExplanation Of(AlertView a, AlertRule? rule, SilenceLine? silence, DeliveryRecord[] sent, DateTimeOffset now) => new(
        a.Id, a.Status.ToString().ToLowerInvariant(), a.Severity.ToString().ToLowerInvariant(), a.ServerId, a.Message,
        rule is null ? null : new RuleLine(rule.Id, rule.Name, rule.Condition, Show.Span(rule.For), rule.Severity.ToString().ToLowerInvariant(),
            rule.Channels, rule.EscalationPolicy, rule.Routed),
        a.Values.OrderBy(v => v.Key, StringComparer.Ordinal).ToDictionary(v => v.Key, v => Show.Metric(v.Key, v.Value)), a.NoData,
        ReadTools.Since(a.PendingSince, now), ReadTools.Since(a.FiredAt, now), a.AcknowledgedBy, ReadTools.Since(a.ResolvedAt, now),
        silence ?? (a.SilencedBy is { } id ? new SilenceLine(id, "", "", "", a.SilencedUntil ?? now) : null),
        a.SilencedUntil is { } until ? Show.Time(until) : null, a.InhibitedBy, a.SuppressedUntil is { } s ? Show.Time(s) : null,
        a.EscalationLevel, a.NextEscalationAt is { } next ? Show.Ago(next, now) : null, a.Incidents,
        [.. sent.OrderByDescending(d => d.UpdatedAt).Take(MaxSent).Select(SentLine.Of)], Explain(a, rule, now));

    /// <summary>One sentence an agent can quote: the state, and what holds it there.</summary>
    private static string Explain(AlertView a, AlertRule? rule, DateTimeOffset now)
    {
        var condition = rule is null ? "its rule (deleted since)" : $"'{rule.Condition}'";
        var values = a.Values.Count == 0 ? "" : " with " + string.Join(", ", a.Values.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value.ToString("0.####", CultureInfo.InvariantCulture)}"));
        return a.Status switch
        {
            AlertStatus.Firing or AlertStatus.Escalated => $"Firing since {Show.Ago(a.FiredAt, now)}: {condition} holds on {a.ServerId}{values}{(a.NoData ? " (no data: the server sent nothing to evaluate)" : "")}.",
            AlertStatus.Pending => $"Pending since {Show.Ago(a.PendingSince, now)}: {condition} holds{values}, and fires once it has held for {(rule is null ? "its duration" : Show.Span(rule.For))}.",
            AlertStatus.Acknowledged => $"Acknowledged by {a.AcknowledgedBy ?? "someone"}: still {condition}{values}; no more escalation.",
            AlertStatus.Silenced => $"Silenced by silence {a.SilencedBy} until {Show.Time(a.SilencedUntil)}: it holds but sends nothing.",
            AlertStatus.Suppressed => $"Suppressed until {Show.Time(a.SuppressedUntil)}: it holds but sends nothing.",
            AlertStatus.Resolved => $"Resolved {Show.Ago(a.ResolvedAt, now)}: {condition} no longer holds.",
            _ => $"Not firing: {condition} does not hold.",
        } + (a.InhibitedBy is { } by ? $" Inhibited by {by}: its messages are held back." : "");
    }
}

public sealed record ActionDone(string Target, string Outcome);

public sealed record SilenceDone(string Id, string Matchers, string State, string Until, string Comment);
