using Monitoring.Channels;
using Monitoring.Channels.Delivery;
using Monitoring.Escalation;

namespace Monitoring.Routing;

/// <summary>
/// What an incident writes into its own state as its group decides, and how it shows itself: pure functions of the
/// state, as <see cref="Alerts.AlertJournal"/> is for an alert, so the grain only carries them out.
/// <list type="bullet">
/// <item>a line of the timeline, keeping the last <see cref="MaxTimeline"/>;</item>
/// <item>a group message: one notification per channel, each under the incident's next sequence number, recorded in
/// the outbox (<see cref="SenderBook"/>) to be handed over once stored;</item>
/// <item>an escalation step's people: one message per contact;</item>
/// <item>the view the API, console and agents read, and the summary the index lists.</item>
/// </list>
/// </summary>
public static class IncidentJournal
{
    public const int MaxTimeline = 200;

    public static IncidentStatus StatusOf(IncidentState s) =>
        !s.IsOpen ? IncidentStatus.Resolved : s.AcknowledgedAt is not null ? IncidentStatus.Acknowledged : IncidentStatus.Open;

    /// <summary>Adds a line to the timeline.</summary>
    public static void Event(IncidentState s, DateTimeOffset now, string kind, string text)
    {
        s.Timeline.Add(new IncidentEvent(now, kind, text));
        if (s.Timeline.Count > MaxTimeline) s.Timeline.RemoveRange(0, s.Timeline.Count - MaxTimeline);
    }

    /// <summary>Records the message for each of its channels (each once) and answers the timeline's line for it.</summary>
    public static string Send(string incidentId, IncidentState s, Receiver receiver, SendGroupMessage send, string reportTo, DateTimeOffset now)
    {
        var message = IncidentMessage.Of(incidentId, s, receiver, send.Alerts, now);
        var channels = send.Channels.Distinct().ToArray();
        foreach (var channel in channels)
        {
            s.Sequence++;
            SenderBook.Record(s, channel, message.For(send.Kind, send.Status, send.Level, s.Sequence, reportTo, now), incidentId, now);
            s.NotifiedChannels.Add(channel);
        }
        return $"{send.Status}: {message.Group.Firing} firing, {message.Group.Resolved} resolved, to {string.Join(", ", channels)}";
    }

    /// <summary>Records one message per contact of an escalation step (<see cref="OnCall.PeoplePager"/>), the later ones held by their channel.</summary>
    public static void PagePeople(string incidentId, IncidentState s, Receiver receiver, PageGroupPeople page, OnCall.PersonContact[] contacts, string reportTo, DateTimeOffset now)
    {
        var message = IncidentMessage.Of(incidentId, s, receiver, page.Alerts, now);
        foreach (var contact in contacts)
        {
            s.Sequence++;
            var notification = OnCall.PeoplePager.For(message.For(NotificationKind.Escalation, page.Step.Status, page.Step.Level, s.Sequence, reportTo, now), contact, now);
            SenderBook.Record(s, contact.Method.Channel, notification, incidentId, now);
        }
    }

    /// <summary>The incident as the API shows it; <paramref name="inhibited"/> are its firing alerts an inhibition rule mutes now.</summary>
    public static IncidentView? View(string incidentId, IncidentState s, string[] inhibited)
    {
        if (s.Route is not { } route) return null;
        return new IncidentView(
            incidentId, route.Path, route.Receiver, route.GroupLabels, StatusOf(s), s.Episode, s.OpenedAt, s.ResolvedAt, s.AcknowledgedAt, s.AcknowledgedBy,
            s.IsOpen ? s.NextFlushAt : null,
            [.. s.Members.Values.OrderBy(m => m.Status).ThenBy(m => m.StartsAt).ThenBy(m => m.AlertId, StringComparer.Ordinal)],
            [.. s.Timeline], [.. s.Deliveries])
        {
            EscalationLevel = s.Policy?.CurrentLevel(s.PolicyStep) ?? 0,
            NextEscalationAt = s.IsOpen && s.AcknowledgedAt is null ? s.Policy?.NextStepAt(s.PolicyStep, s.NextPolicyStepAt) : null,
            InhibitedAlerts = inhibited,
        };
    }

    /// <summary>What the incident index lists of it.</summary>
    public static IncidentSummary? Summary(string incidentId, IncidentState s, DateTimeOffset now) =>
        s.Route is not { } route ? null : new IncidentSummary(incidentId, route.Path, route.Receiver, route.GroupLabels, StatusOf(s), s.Episode,
            s.Members.Values.Count(m => m.Status == MemberStatus.Firing), s.Members.Count, s.OpenedAt, now);
}
