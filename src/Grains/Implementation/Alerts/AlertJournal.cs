using Monitoring.Channels;
using Monitoring.History;
using Monitoring.Rules;

namespace Monitoring.Alerts;

/// <summary>
/// What an alert writes into its own state as its lifecycle moves, and how it shows itself: pure functions of the
/// state, so the grain only carries them out.
/// <list type="bullet">
/// <item>a transition: kept in the state (the last <see cref="MaxTransitions"/>) and given back as a history row;</item>
/// <item>a page: a message recorded in the outbox for its channel, or, held by a silence, a record that says so; each
/// delivery record is kept to the last <see cref="MaxDeliveries"/>;</item>
/// <item>the view the API, console and agents read.</item>
/// </list>
/// </summary>
public static class AlertJournal
{
    public const int MaxTransitions = 100;
    public const int MaxDeliveries = Channels.Delivery.SenderBook.MaxDeliveries;

    /// <summary>Keeps the transition in the state and answers its history row.</summary>
    public static TransitionRow Transition(string alertId, AlertState s, TransitionEffect effect, DateTimeOffset now)
    {
        var (transition, sequence) = effect;
        s.Transitions.Add(transition);
        if (s.Transitions.Count > MaxTransitions) s.Transitions.RemoveRange(0, s.Transitions.Count - MaxTransitions);
        var rule = s.Rule!;
        return new TransitionRow(alertId, rule.Id, s.Server!.Id, rule.Severity.ToString().ToLowerInvariant(),
            transition.From.ToString().ToLowerInvariant(), transition.To.ToString().ToLowerInvariant(), transition.Reason, s.Life.Episode, sequence, now);
    }

    /// <summary>
    /// Records a page: the message in the outbox, to be handed to its channel once stored, and a pending delivery
    /// record. True when recorded; false when a silence withheld it (only a "silenced" record is kept).
    /// </summary>
    public static bool Page(string alertId, AlertState s, PageEffect page, string reportTo, DateTimeOffset now, Func<Notification, Notification>? address = null)
    {
        var rule = s.Rule!;
        var server = s.Server!;
        var notification = new Notification(
            alertId, rule.Id, rule.Name, server.Id, server.Name, rule.Severity, page.Kind, page.Status, rule.Message, s.Life.Episode,
            s.Life.FiredAt ?? now, now, s.Life.Values, server.Labels, rule.Condition, page.Sequence)
        {
            Templates = rule.Templates,
            EscalationLevel = page.Level,
            ServerHealth = server.Health,
            ServerHealthReasons = server.HealthReasons,
            ReportTo = reportTo,
        };
        if (address is not null) notification = address(notification);
        if (page.WithheldBy is { } silence)
        {
            Channels.Delivery.SenderBook.Track(s, new DeliveryRecord(notification.IdempotencyKey, alertId, page.ChannelId, page.Kind, DeliveryState.Silenced, 0, now, now, $"silenced by {silence}"));
            return false;
        }
        Channels.Delivery.SenderBook.Record(s, page.ChannelId, notification, alertId, now);
        return true;
    }

    /// <summary>The alert as the API shows it: a silence only while it holds, the escalation only of a named policy.</summary>
    public static AlertView View(string alertId, AlertState s, DateTimeOffset now, Dictionary<string, double> values, string? inhibitedBy)
    {
        var (rule, server, life) = (s.Rule!, s.Server!, s.Life);
        var paging = life.Paging;
        var silenced = life.Phase == AlertPhase.Firing && life.SilencedUntil > now;
        var named = rule.EscalationPolicy is not null && paging.Policy is { Id: not AlertLifecycle.SimplePolicyId } ? paging.Policy : null;
        return new AlertView(
            alertId, rule.Id, server.Id, rule.Name, rule.Severity, AlertLifecycle.StatusAt(life, now), rule.Message, life.Episode,
            life.PendingSince, life.FiredAt, life.ResolvedAt, paging.AcknowledgedAt, paging.AcknowledgedBy, paging.EscalatedAt, life.SuppressedUntil,
            life.NotificationCount, life.LastNotifiedAt, values, server.Labels, s.UpdatedAt, [.. s.Transitions])
        {
            SilencedBy = silenced ? life.SilencedBy : null,
            SilencedUntil = silenced ? life.SilencedUntil : null,
            EscalationPolicy = named?.Id ?? rule.EscalationPolicy,
            EscalationLevel = named?.CurrentLevel(paging.PolicyStep) ?? 0,
            NextEscalationAt = life.Phase == AlertPhase.Firing && paging.AcknowledgedAt is null && named is { } p && paging.PolicyStep < p.TotalSteps
                ? paging.NextPolicyStepAt
                : null,
            NoData = life.IsOpen && life.LastCondition == ConditionResult.NoData,
            Incidents = [.. s.Routes.Select(r => r.IncidentId)],
            InhibitedBy = inhibitedBy,
            ValuesAt = life.LastObservedAt,
        };
    }
}
