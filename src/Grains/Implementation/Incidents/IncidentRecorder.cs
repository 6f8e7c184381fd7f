using Monitoring.Channels.Delivery;
using Monitoring.Escalation;
using Monitoring.Observability;

namespace Monitoring.Routing;

/// <summary>
/// Carries an aggregation group's decisions (<see cref="AggregationGroup"/>) into its incident's state: messages and
/// people's pages recorded in the outbox (<see cref="IncidentJournal"/>, <see cref="SenderBook"/>), lines on the
/// timeline, the episode closed, the escalation policy started. Nothing leaves from here: the grain stores the state,
/// then hands the recorded messages over.
/// </summary>
internal sealed class IncidentRecorder(string incidentId, Func<IncidentState> state, string reportTo, Listings.IListingStore listings, IGrainFactory grains, ILogger logger)
{
    private IncidentState S => state();

    public async Task ActAsync(Receiver? receiver, GroupAction action, DateTimeOffset now)
    {
        switch (action)
        {
            // A message or a page is decided only while the receiver exists.
            case SendGroupMessage message when receiver is not null:
                Event(now, message.Kind.ToString().ToLowerInvariant(), IncidentJournal.Send(incidentId, S, receiver, message, reportTo, now));
                MonitoringMetrics.Incidents.WithLabels(message.Kind.ToString().ToLowerInvariant()).Inc();
                break;
            case PageGroupPeople people when receiver is not null:
                await PagePeopleAsync(receiver, people, now);
                break;
            case NoteGroupEvent note:
                Event(now, note.Kind, note.Text);
                break;
            case CancelGroupPages cancel:
                CancelFollowUps(now, cancel.Reason);
                break;
            case CloseGroup close:
                CancelFollowUps(now, "resolved");
                AggregationGroup.Close(S, now);
                Event(now, "resolved", close.Reason);
                MonitoringMetrics.Incidents.WithLabels("resolved").Inc();
                break;
            case StartGroupPolicy start:
                await StartPolicyAsync(start.PolicyId, now);
                break;
        }
    }

    public void Event(DateTimeOffset now, string kind, string text)
    {
        IncidentJournal.Event(S, now, kind, text);
        logger.LogInformation("Incident {IncidentId} {Kind}: {Text}", incidentId, kind, text);
    }

    private async Task StartPolicyAsync(string policyId, DateTimeOffset now)
    {
        var policy = await grains.GetGrain<IEscalationPolicyGrain>(policyId).GetAsync();
        if (policy is not { Levels.Length: > 0 })
        {
            logger.LogWarning("Incident {IncidentId}: escalation policy {PolicyId} does not exist; only the receiver's channels are told", incidentId, policyId);
            return;
        }
        S.Policy = policy;
        S.PolicyStep = 0;
        S.NextPolicyStepAt = policy.FirstStepAt(now);
    }

    /// <summary>Pages the step's people (<see cref="OnCall.PeoplePager"/>): each contact is one message, the later ones held by their channel.</summary>
    private async Task PagePeopleAsync(Receiver receiver, PageGroupPeople page, DateTimeOffset now)
    {
        var (contacts, notes) = await OnCall.PeoplePager.ResolveAsync(listings, page.Step.Users, page.Step.Schedules, now);
        foreach (var note in notes) Event(now, "paging", $"level {page.Step.Level}: {note}");
        if (contacts.Length == 0) return;
        IncidentJournal.PagePeople(incidentId, S, receiver, page, contacts, reportTo, now);
        Event(now, "paged", $"level {page.Step.Level} paged {OnCall.PeoplePager.Describe(contacts)}");
        MonitoringMetrics.Incidents.WithLabels("paged").Inc();
    }

    /// <summary>People's later pages not yet due are dropped: the page was answered (or is over).</summary>
    private void CancelFollowUps(DateTimeOffset now, string reason)
    {
        var cancelled = SenderBook.CancelFollowUps(S, now, reason);
        if (cancelled > 0) Event(now, "paging", $"{cancelled} later page{(cancelled == 1 ? "" : "s")} cancelled: {reason}");
    }
}
