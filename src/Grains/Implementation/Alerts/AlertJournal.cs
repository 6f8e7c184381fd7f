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
/// delivery record is kept to the last <see cref="Channels.Delivery.SenderBook.MaxDeliveries"/>;</item>
/// <item>the view the API, console and agents read.</item>
/// </list>
/// </summary>
public static class AlertJournal
{
    public const int MaxTransitions = 100;

    /// <summary>Restored data counts as after the alert's start only this much after it (silos' clocks differ a little).</summary>
    public static readonly TimeSpan RestoredDataMargin = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The condition an observation tells the alert. "No data" from a server that came back with a stored window whose
    /// data reaches past this open alert's start, and is clear there, is "clear": that is what the server saw after the
    /// breach (an activation lost before it could say so), not older data.
    /// </summary>
    public static ConditionResult ConditionOf(Observation observation, AlertLife life) =>
        observation.Condition == ConditionResult.NoData && observation.RestoredClearThrough is { } through && life.IsOpen
            && (life.PendingSince ?? life.FiredAt) is { } began && through > began + RestoredDataMargin
            ? ConditionResult.Clear
            : observation.Condition;

    /// <summary>What handing over and reporting change of an alert: compared before and after, it says whether to store it behind.</summary>
    public static (int Pending, Routing.MemberStatus? Status, int Episode, bool ReportDue, bool Inhibiting, int Routes) Said(AlertState s) =>
        (s.Outbox.Count + s.Cancelling.Count, s.ReportedStatus, s.ReportedEpisode, s.ReportDue, s.Inhibiting, s.Routes.Length);

    /// <summary>The silence the alert last knew, kept in its life: what the lifecycle reads when the catalog is not asked (or cannot answer).</summary>
    public static ActiveSilence? KnownSilence(AlertLife life) =>
        life.SilencedBy is { } id && life.SilencedUntil is { } until ? new ActiveSilence(id, until, life.SilenceSendsResolved) : null;

    /// <summary>Whether an inhibition could hold this effect back: a page or a people's page not already withheld (a resolution always goes out).</summary>
    public static bool Inhibitable(AlertEffect effect) =>
        effect is PageEffect { WithheldBy: null, Kind: not NotificationKind.Resolved } or PagePeopleEffect { WithheldBy: null };

    /// <summary>The effect as an inhibition by the firing alert <paramref name="inhibitedBy"/> leaves it: withheld, and recorded as such.</summary>
    public static AlertEffect Inhibit(AlertEffect effect, string? inhibitedBy) => inhibitedBy is null || !Inhibitable(effect) ? effect : effect switch
    {
        PageEffect page => page with { WithheldBy = $"inhibition (alert {inhibitedBy} fires)" },
        PagePeopleEffect people => people with { WithheldBy = $"inhibition (alert {inhibitedBy} fires)" },
        _ => effect,
    };

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

    /// <summary>
    /// Pages an escalation step's people, one message per contact (<see cref="OnCall.PeoplePager"/>), numbered as the
    /// lifecycle numbers its own; a later notification rule's message is held by its channel until due. Answers
    /// whether any was recorded (none is while the page is withheld).
    /// </summary>
    public static bool PagePeople(string alertId, AlertState s, PagePeopleEffect people, OnCall.PersonContact[] contacts, string reportTo, DateTimeOffset now)
    {
        var recorded = false;
        foreach (var contact in contacts)
        {
            s.Life = s.Life with { Sequence = s.Life.Sequence + 1 };
            var page = new PageEffect(NotificationKind.Escalation, people.Status, contact.Method.Channel, people.Level, s.Life.Sequence, people.WithheldBy);
            if (Page(alertId, s, page, reportTo, now, message => OnCall.PeoplePager.For(message, contact, now)))
            {
                recorded = true;
                s.Life = s.Life with { NotificationCount = s.Life.NotificationCount + 1, LastNotifiedAt = now };
            }
        }
        return recorded;
    }

    /// <summary>
    /// The next moment something may become due for the alert: its lifecycle's next deadline, a hand-off to try again,
    /// and, while a report's fate is in doubt, that retry; null when nothing waits on time.
    /// </summary>
    public static DateTimeOffset? NextDue(AlertState s, bool reportInDoubt, TimeSpan retry, DateTimeOffset now)
    {
        if (s.Rule is not { } rule) return null;
        var due = AlertLifecycle.NextDue(s.Life, new AlertInputs(rule, null, KnownSilence(s.Life)), now);
        if (reportInDoubt) due = Earliest(due, now + retry);
        return Earliest(due, s.HandOffRetryAt);
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    /// <summary>
    /// When an open alert may sleep, or null while it must stay awake. It stays awake while it has work of its own (a
    /// notification not yet handed over or not yet reported delivered, a report or a write to retry), while incidents
    /// or the inhibitors rely on it saying its status again each reminder period, and while a deadline (the next
    /// notification, escalation step, the end of a silence) is less than a reminder period away. Otherwise everything
    /// it knows is stored, and its server wakes it one reminder period before that deadline (the alert's timer then
    /// takes over), at the latest <paramref name="maxSleep"/> on, or at once when a change reaches it.
    /// </summary>
    public static DateTimeOffset? SleepsUntil(AlertState s, DateTimeOffset? nextDue, TimeSpan period, TimeSpan maxSleep, DateTimeOffset now)
    {
        if (!s.Life.IsOpen || s.Rule is null || Channels.Delivery.SenderBook.HasWork(s) || s.ReportDue || s.HandOffRetryAt is not null
            || s.Inhibiting || s.Routes.Length > 0 || s.Deliveries.Any(d => !d.IsFinal && d.UpdatedAt > now - period))
        {
            return null;
        }
        var wake = now + maxSleep;
        if (nextDue is { } due)
        {
            if (due - now <= period) return null;
            if (due - period < wake) wake = due - period;
        }
        return wake;
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
            NextEscalationAt = life.Phase == AlertPhase.Firing && paging.AcknowledgedAt is null ? named?.NextStepAt(paging.PolicyStep, paging.NextPolicyStepAt) : null,
            NoData = life.IsOpen && life.LastCondition == ConditionResult.NoData,
            Incidents = [.. s.Routes.Select(r => r.IncidentId)],
            InhibitedBy = inhibitedBy,
            ValuesAt = life.LastObservedAt,
        };
    }
}
